"""Each Dagger function rehearsed: called as `dagger call` calls it (through the function
boundary, rehearsal/boundary.py), its result checked the way a user would check it (a
service answers, a published image pulls back and starts)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
import dagger

from acme_ci.dagger.source import read_workspace
from acme_ci.rehearsal.boundary import CallResult, RegistrationError
from acme_ci.rehearsal.call_line import CallLineError
from acme_ci.rehearsal.evaluator.values import Container, Service
from acme_ci.rehearsal.function_cache import CachePolicyError
from acme_ci.rehearsal.podman import LIMITS, PodmanError, entrypoint_flag, podman
from acme_ci.rehearsal.probes import answer_lines, pulled_and_started, run_as_docker_would
from acme_ci.rehearsal.registry import RegistryError, local_registry
from acme_ci.rehearsal.session import Rehearsal
from acme_ci.rehearsal.strcase import cli_name

REPLAYED = "replayed from the function cache"
# Why `cd`'s deploy stage is not rehearsed (kubectl's dry run tried on this machine).
DEPLOY_NOT_REHEARSED = (
    "deploy: kubectl apply needs a cluster (kubectl's client-side dry run still asks the API "
    "server for its resource types); cd runs without --kubeconfig, so deploy only renders "
    "the manifests, checked to name the published images"
)


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
    except (
        dagger.QueryError,
        PodmanError,
        RegistryError,
        CallLineError,
        RegistrationError,
        CachePolicyError,
    ) as error:
        ok, lines = False, [f"rehearsal error: {type(error).__name__}: {error}"]
    return Outcome(name, ok, time.monotonic() - started, lines)


def result_lines(result: CallResult) -> list[str]:
    """What `dagger call` prints: the result or the error, and whether the cache answered."""
    lines = [f"{REPLAYED}: dagger call {result.command} (nothing ran)"] if result.replayed else []
    text = result.value if result.ok else result.error
    return lines + (text.splitlines() if isinstance(text, str) else [])


def dagger_call(name: str, argv: Sequence[str]) -> Callable[[Rehearsal], Awaitable[Outcome]]:
    """A call whose result is text: passed when the function returned one."""

    async def rehearse(r: Rehearsal) -> Outcome:
        async def body() -> tuple[bool, list[str]]:
            result = await r.boundary.call(argv)
            return result.ok, result_lines(result)

        return await timed(name, body)

    return rehearse


async def ci(r: Rehearsal, base: str, all_: bool, jobs: int) -> Outcome:
    argv = ["ci", *(["--all"] if all_ else []), *(["--base", base] if base else [])]
    label = "ci --all" if all_ else f"ci --base {base}" if base else "ci"
    return await dagger_call(label, [*argv, "--jobs", str(jobs)])(r)


async def plan(r: Rehearsal, base: str, all_: bool) -> Outcome:
    argv = ["plan", *(["--all"] if all_ else []), *(["--base", base] if base else [])]
    return await dagger_call(f"plan --base {base}" if base else "plan", argv)(r)


async def services_of(r: Rehearsal) -> list[str]:
    ws = await read_workspace(r.source())
    return [p.name for p in ws.packages if p.settings.kind == "service"]


async def serve(r: Rehearsal, service: str) -> Outcome:
    async def body() -> tuple[bool, list[str]]:
        result = await r.boundary.call(["serve", "--service", service])
        if not isinstance(result.value, Service):
            return False, result_lines(result)
        return await answer_lines(r, result.value, service)

    return await timed(f"serve --service {service}", body)


async def image(r: Rehearsal, service: str) -> Outcome:
    """The image run as `docker run` would: its own entrypoint, env and port."""

    async def body() -> tuple[bool, list[str]]:
        result = await r.boundary.call(["image", "--service", service])
        container = result.value
        if not isinstance(container, Container):
            return False, result_lines(result)
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
            argv = ["publish", "--version", version, "--registry", f"{registry}/acme"]
            result = await r.boundary.call(argv)
            if not result.ok:
                return False, result_lines(result)
            return await pulled_and_started(r, list(result.value))

    return await timed(f"publish --version {version}", body)


async def rehearsal_flag(r: Rehearsal, function: str) -> list[str]:
    """`--rehearsal` (throwaway targets) where the registered function takes it."""
    main = (await r.boundary.module()).main
    return ["--rehearsal"] if "rehearsal" in {a.name for a in main.functions[function].args} else []


async def maintenance(r: Rehearsal) -> Outcome:
    """maintenance, then maintenance --cleanup: two `dagger call`s, two sessions."""

    async def body() -> tuple[bool, list[str]]:
        lines: list[str] = []
        ok = True
        flag = await rehearsal_flag(r, "maintenance")
        for cleanup in ([], ["--cleanup"]):
            result = await r.boundary.call(["maintenance", *flag, *cleanup])
            label = " ".join(["maintenance", *cleanup])
            ok = ok and result.ok
            verdict = "passed" if result.ok else "FAILED"
            lines += [f"{label}: {verdict}", *(f"  | {x}" for x in result_lines(result))]
        return ok, lines

    return await timed("maintenance, then maintenance --cleanup", body)


def published_refs(report: str) -> list[str]:
    """The references under "Published:" in cd's report (up to "Maintenance:")."""
    lines = report.splitlines()
    if "Published:" not in lines:
        return []
    start = lines.index("Published:") + 1
    end = lines.index("Maintenance:") if "Maintenance:" in lines else len(lines)
    return [line.strip() for line in lines[start:end] if line.strip()]


async def cd(r: Rehearsal, version: str) -> Outcome:
    """cd with throwaway maintenance targets, publishing to a local registry; its images
    pulled back and started; deploy renders the manifests only (see DEPLOY_NOT_REHEARSED)."""

    async def body() -> tuple[bool, list[str]]:
        with local_registry() as registry:
            flag = await rehearsal_flag(r, "cd")
            argv = ["cd", "--version", version, "--registry", f"{registry}/acme", *flag]
            result = await r.boundary.call(argv)
            if not result.ok:
                return False, result_lines(result)
            refs = published_refs(result.value)
            ok, lines = await pulled_and_started(r, refs)
        manifests = result.value.partition("\n---\n")[2]
        unnamed = [ref for ref in refs if ref.split("@")[0] not in manifests]
        named = f"no: {', '.join(unnamed)}" if unnamed else "yes"
        lines += [f"  the manifests name every published image: {named}"]
        lines += [f"  not rehearsed: {DEPLOY_NOT_REHEARSED}"]
        return ok and not unnamed, [*result_lines(result), *lines]

    return await timed(f"cd --version {version}", body)


async def checks(r: Rehearsal) -> Outcome:
    """`dagger check`: every function registered as a check, concurrently, in one session."""

    async def body() -> tuple[bool, list[str]]:
        main = (await r.boundary.module()).main
        names = sorted(name for name, f in main.functions.items() if f.check)
        results: dict[str, CallResult] = {}
        async with r.boundary.session() as session:

            async def run(name: str) -> None:
                results[name] = await session.call([cli_name(name)])

            async with anyio.create_task_group() as tg:
                for name in names:
                    tg.start_soon(run, name)
        lines: list[str] = []
        for name in names:
            verdict = "passed" if results[name].ok else "FAILED"
            lines += [
                f"check {name}: {verdict}",
                *(f"  | {x}" for x in result_lines(results[name])),
            ]
        return bool(names) and all(res.ok for res in results.values()), lines

    return await timed("check (every @check function)", body)


def print_outcome(outcome: Outcome) -> None:
    for line in outcome.lines:
        print(line, flush=True)
    verdict = "passed" if outcome.ok else "FAILED"
    print(f"== rehearsal {outcome.name}: {verdict} in {outcome.seconds:.1f}s ==", flush=True)
