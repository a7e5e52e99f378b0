"""Each Dagger function rehearsed: called as `dagger call` would call it, its result checked
the way a user would check it (a service answers, a published image pulls back and starts)."""

# dagger-io 0.21.11 types `@function` with an `infer_variance` TypeVar that mypy cannot solve
# (dagger/mod/_resolver.py): mypy sees every module function as returning `R?`. Pyright
# checks these calls (test_dagger_typing runs it over the package).
# mypy: disable-error-code="attr-defined"

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagger

from acme_ci.core.workspace import Workspace
from acme_ci.dagger.executor import PipelineFailedError
from acme_ci.dagger.maintenance import MaintenanceFailedError
from acme_ci.rehearsal.evaluator.values import Container, Layer, Service
from acme_ci.rehearsal.podman import LIMITS, PodmanError, entrypoint_flag, env_pairs, podman
from acme_ci.rehearsal.registry import RegistryError, local_registry
from acme_ci.rehearsal.session import Rehearsal

# What every service must answer with 200 (acme-health's probes and the root route).
ROUTES = ("/readiness", "/liveness", "/")
HTTP_PROBE = """
import json, sys, time, urllib.request
host, port, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
end, answers = time.time() + 90, {}
for path in paths:
    while True:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=3) as r:
                answers[path] = [r.status, r.read(300).decode("utf-8", "replace")]
            break
        except urllib.error.HTTPError as e:
            answers[path] = [e.code, e.read(300).decode("utf-8", "replace")]
            break
        except OSError as e:
            if time.time() > end:
                answers[path] = [0, str(e)]
                break
            time.sleep(0.5)
print(json.dumps(answers))
"""


@dataclass
class Outcome:
    """One rehearsed call: passed or not, and what it printed."""

    name: str
    ok: bool
    seconds: float
    lines: list[str] = field(default_factory=list)


async def timed(name: str, body: Callable[[], Awaitable[tuple[bool, list[str]]]]) -> Outcome:
    started = time.monotonic()
    try:
        ok, lines = await body()
    except (dagger.QueryError, PodmanError, RegistryError) as error:
        ok, lines = False, [f"rehearsal error: {type(error).__name__}: {error}"]
    return Outcome(name, ok, time.monotonic() - started, lines)


async def ci(r: Rehearsal, base: str, all_: bool, jobs: int) -> Outcome:
    async def body() -> tuple[bool, list[str]]:
        try:
            summary = await r.module().ci(base=base, all_=all_, jobs=jobs)
        except PipelineFailedError as error:
            return False, str(error).splitlines()
        return True, summary.splitlines()

    label = "ci --all" if all_ else f"ci --base {base}" if base else "ci"
    return await timed(label, body)


async def plan(r: Rehearsal, base: str, all_: bool) -> Outcome:
    async def body() -> tuple[bool, list[str]]:
        return True, (await r.module().plan(base=base, all_=all_)).splitlines()

    return await timed(f"plan --base {base}" if base else "plan", body)


async def services_of(r: Rehearsal) -> list[str]:
    ws: Workspace = await r.module()._workspace()
    return [p.name for p in ws.packages if p.settings.kind == "service"]


async def probe_http(r: Rehearsal, host: str, port: int, paths: Sequence[str]) -> dict[str, Any]:
    """GET each path from a container on the rehearsal's network; {path: [status, body]}."""
    done = await podman(
        "run",
        "--rm",
        *LIMITS,
        "--network",
        await r.evaluator.resources.shared_network(),
        entrypoint_flag(["python3", "-c", HTTP_PROBE, host, str(port), *paths]),
        await r.images.probe_image(),
    )
    answers: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answers


async def answer_lines(r: Rehearsal, service: Service, name: str) -> tuple[bool, list[str]]:
    """Start `service`, GET its routes, stop it: (all 200, one line per route)."""
    if not service.container.ports:
        return False, [f"{name}: the service exposes no port"]
    port = service.container.ports[0]
    async with r.evaluator.services.serving(service) as host:
        answers = await probe_http(r, host, port, ROUTES)
        logs = await podman("logs", "--tail", "5", host, check=False)
    lines = [
        f"  GET :{port}{path} -> {status} {body[:80]!r}" for path, (status, body) in answers.items()
    ]
    ok = all(status == 200 for status, _ in answers.values())
    if not ok:
        lines += [f"  | {line}" for line in (logs.stdout + logs.stderr).splitlines()]
    return ok, lines


def run_as_docker_would(container: Container, digest: str) -> Service:
    """The container started as `docker run` starts its image: entrypoint, then default args."""
    return Service(container, (*container.entrypoint, *container.default_args), digest)


async def serve(r: Rehearsal, service: str) -> Outcome:
    async def body() -> tuple[bool, list[str]]:
        served: Service = await r.evaluator.value_of(await r.module().serve(service))
        return await answer_lines(r, served, service)

    return await timed(f"serve --service {service}", body)


async def image(r: Rehearsal, service: str) -> Outcome:
    """The image run as `docker run` would: its own entrypoint, env and port."""

    async def body() -> tuple[bool, list[str]]:
        container: Container = await r.evaluator.value_of(await r.module().image(service))
        ok, lines = await answer_lines(r, run_as_docker_would(container, container.digest), service)
        tools = await podman(
            "run",
            "--rm",
            *LIMITS,
            entrypoint_flag(["sh", "-c", "command -v uv gcc git || true"]),
            await r.evaluator.file_systems.image(container),
        )
        extra = tools.stdout.split()
        lines.append(f"  build tools in the image: {', '.join(extra) if extra else 'none'}")
        return ok and not extra, lines

    return await timed(f"image --service {service}", body)


async def publish(r: Rehearsal, version: str) -> Outcome:
    async def body() -> tuple[bool, list[str]]:
        with local_registry() as registry:
            refs = await r.module().publish(version=version, registry=f"{registry}/acme")
            lines, ok = [], bool(refs)
            for ref in refs:
                lines.append(f"  published {ref}")
                started, route_lines = await answer_lines(r, await pulled(ref), ref)
                lines += ["  pulled back and started:", *route_lines]
                ok = ok and started
                await podman("rmi", "--force", ref, check=False)
        return ok, lines

    return await timed(f"publish --version {version}", body)


async def pulled(ref: str) -> Service:
    """A published image pulled back from its registry, to be started as `docker run` would."""
    await podman("pull", "--quiet", "--tls-verify=false", ref)
    data = json.loads((await podman("image", "inspect", ref)).stdout)[0]
    config = data["Config"]
    container = Container(
        ref=ref,
        layer=Layer(image=data["Id"]),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        default_args=tuple(config.get("Cmd") or ()),
        ports=tuple(int(p.split("/")[0]) for p in config.get("ExposedPorts") or {}),
        env=env_pairs(config.get("Env") or []),
        workdir=config.get("WorkingDir") or "/",
    )
    return run_as_docker_would(container, ref)


def maintenance_kwargs(r: Rehearsal, **wanted: Any) -> dict[str, Any]:
    """The arguments the module's `maintenance` takes, of those the rehearsal wants to pass."""
    accepted = inspect.signature(type(r.module()).maintenance).parameters
    return {k: v for k, v in wanted.items() if k in accepted}


async def maintenance(r: Rehearsal) -> Outcome:
    """maintenance, then maintenance --cleanup, both against the same rehearsed services."""

    async def body() -> tuple[bool, list[str]]:
        lines: list[str] = []
        ok = True
        kwargs = maintenance_kwargs(r, rehearsal=True)
        for cleanup in (False, True):
            label = "maintenance --cleanup" if cleanup else "maintenance"
            try:
                report = await r.module().maintenance(cleanup=cleanup, **kwargs)
                lines += [f"{label}: passed", *(f"  | {x}" for x in report.splitlines())]
            except MaintenanceFailedError as error:
                ok = False
                lines += [f"{label}: FAILED", *(f"  | {x}" for x in str(error).splitlines())]
        return ok, lines

    return await timed("maintenance, then maintenance --cleanup", body)


def print_outcome(outcome: Outcome) -> None:
    for line in outcome.lines:
        print(line, flush=True)
    verdict = "passed" if outcome.ok else "FAILED"
    print(f"== rehearsal {outcome.name}: {verdict} in {outcome.seconds:.1f}s ==", flush=True)
