"""Execs: `withExec` run in a podman container on the layer of the exec before, once per
digest, with its secrets as podman secrets and its bound services on a network of its own;
its output kept as the engine keeps it, scrubbed of those secrets."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from acme_ci.rehearsal.evaluator.errors import exec_error, query_error
from acme_ci.rehearsal.evaluator.file_systems import FileSystems
from acme_ci.rehearsal.evaluator.interfaces import Report
from acme_ci.rehearsal.evaluator.launch import created
from acme_ci.rehearsal.evaluator.layers import KeptLayers
from acme_ci.rehearsal.evaluator.once import OncePerDigest
from acme_ci.rehearsal.evaluator.output import scrubbed
from acme_ci.rehearsal.evaluator.resources import Resources
from acme_ci.rehearsal.evaluator.services import Services
from acme_ci.rehearsal.evaluator.values import Container, ExecResult, Expect, Layer, digest_of

UNMODELLED_OPTIONS = ("stdin", "redirectStdout", "redirectStderr", "insecureRootCapabilities")
# A container podman could not start stays in one of these states.
NEVER_STARTED = ("created", "configured")


def describe(container: Container, argv: Sequence[str]) -> str:
    """`[workdir] argv`, cut to one line of progress."""
    text = " ".join(argv)
    return f"[{container.workdir}] {text[:110]}{'...' if len(text) > 110 else ''}"


def failed(expect: Expect, code: int) -> bool:
    return (expect == "SUCCESS" and code != 0) or (expect == "FAILURE" and code == 0)


class Execs:
    """Runs each exec once per digest; reuses a kept layer for one that must succeed."""

    def __init__(
        self,
        resources: Resources,
        file_systems: FileSystems,
        services: Services,
        layers: KeptLayers,
        report: Report,
    ) -> None:
        self._resources = resources
        self._file_systems = file_systems
        self._services = services
        self._layers = layers
        self._report = report
        self._runs = OncePerDigest[Container]()
        self.started = 0

    async def run(self, container: Container, arguments: dict[str, Any]) -> Container:
        """`withExec`: the container after the exec, or the engine's ExecError."""
        for option in UNMODELLED_OPTIONS:
            if arguments.get(option):
                raise query_error(f"the rehearsal does not model withExec({option}=...)")
        argv = tuple(arguments["args"])
        if arguments.get("useEntrypoint"):
            argv = (*container.entrypoint, *argv)
        expect = cast(Expect, str(arguments.get("expect", "SUCCESS")))
        # `expect` is one of the call's arguments, so part of its digest (the default's
        # digest is the one kept layers have always been found under).
        if expect == "SUCCESS":
            digest = digest_of(container.digest, "exec", argv)
        else:
            digest = digest_of(container.digest, "exec", argv, expect)
        # Only execs that must succeed are layers worth keeping between rehearsals; a step
        # run with expect=ANY (a test, a lint) runs again every time.
        keep = expect == "SUCCESS"

        async def evaluate() -> Container:
            done = await self._execute(container, argv, digest, keep)
            assert done.last is not None
            # An error inside the evaluation: the engine keeps no failed call, so the same
            # exec asked for again later (a flaky test's next call) runs again.
            if failed(expect, done.last.code):
                raise exec_error(done.last)
            return done

        return await self._runs.get(digest, evaluate)

    async def _execute(
        self, container: Container, argv: tuple[str, ...], digest: str, keep: bool
    ) -> Container:
        kept = await self._layers.find(digest) if keep else None
        if kept is not None:
            self._report(f"rehearsal: cached  {describe(container, argv)}")
            image, result = kept
            layer = Layer(image=image)
        else:
            layer, result = await self._start(container, argv)
            if result.code == 0 and keep:
                await self._layers.keep(digest, layer, result)
        return replace(container, layer=layer, file_operations=(), last=result, digest=digest)

    async def _start(self, container: Container, argv: tuple[str, ...]) -> tuple[Layer, ExecResult]:
        """Run the exec to its end: its stopped container is the next layer; its output is
        scrubbed of its secrets before anything keeps it (a kept layer's record too)."""
        image = await self._file_systems.image(container)
        started = time.monotonic()
        podman = self._resources.podman
        async with (
            self._services.network_for(container) as network,
            created(self._resources, "exec", container, argv, image, network) as name,
        ):
            run = await podman("start", "--attach", name, check=False)
        state = await podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)
        status, _, exit_code = state.stdout.strip().partition(" ")
        if status in NEVER_STARTED:
            # podman itself failed: the exec never ran, so it has no exit code (inspect says
            # 0) and its layer is the image it started from. The engine's answer is an error.
            raise query_error(
                f"{describe(container, argv)}: the container never started: "
                f"{run.stderr.strip()[-300:]}"
            )
        code = int(exit_code or run.code)
        self.started += 1
        seconds = time.monotonic() - started
        self._report(f"rehearsal: exit {code:<3} {seconds:6.1f}s  {describe(container, argv)}")
        secrets = [secret.plaintext for _, secret in container.secrets]
        stdout, stderr = scrubbed(run.stdout, secrets), scrubbed(run.stderr, secrets)
        return Layer(container=name), ExecResult(argv, code, stdout, stderr)
