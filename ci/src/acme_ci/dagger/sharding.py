"""A sharded run on Dagger: the shard plan, one shard run in containers with its report in
the shared store, and the verdict gathered from every shard's report there.

The cut, the shard plan file and the verdict are the core's (acme_ci.core.shards,
shard_plan_format, shard_gather), as natively: the same plan file runs natively or on
Dagger, each shard runs its steps with the keys an unsharded run gives them, and the
verdict judges them as one run. What is Dagger's here: the checkout's files and sizes come
through the Dagger API (git in a container, File.size), and reports and history move
through the shared store only. A Dagger function's result is all that leaves the engine,
so there is no artifact directory: a shard needs a remote cache it may write, and the
verdict one it may read (a fork's pull request, which gets no secrets, runs unsharded).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated, TypeAlias

import anyio
import dagger
from dagger import Doc

from acme_ci.core import changes
from acme_ci.core.affected import Selection
from acme_ci.core.plan import Plan, make_plan
from acme_ci.core.scheduler import RunResult
from acme_ci.core.shard_gather import GatheredRun, gather
from acme_ci.core.shard_history import folded, for_checkout, package_python_files, suite_cuts
from acme_ci.core.shard_plan_format import shard_plan_from_document
from acme_ci.core.shard_report import ShardReport
from acme_ci.core.shards import History, ShardError, ShardPlan, make_shard_plan, parse_shard
from acme_ci.core.summary import summary_text
from acme_ci.core.workspace import Workspace
from acme_ci.dagger.cache_options import CacheOptions
from acme_ci.dagger.containers import SRC, PackageEnvs, git_container
from acme_ci.dagger.executor import ContainerExecutor, check_run
from acme_ci.dagger.plan_run import root_files, run_in_containers, tool_container
from acme_ci.dagger.shard_store import ShardStore
from acme_ci.dagger.source import GIT
from acme_ci.entries.shard_store import RunIdentity

ShardArg: TypeAlias = Annotated[
    str, Doc("Run only shard K/N of --shard-plan and store its report (needs --cache-url)")
]
ShardPlanArg: TypeAlias = Annotated[
    dagger.File | None, Doc("The shard plan the plan job wrote (plan --shards N --format json)")
]
RunIdArg: TypeAlias = Annotated[
    str, Doc("The run the shards belong to, naming their reports (GitHub: github.run_id)")
]
RunAttemptArg: TypeAlias = Annotated[
    int, Doc("The run's attempt: a re-run of failed shards (GitHub: github.run_attempt)")
]
# What the native shell lists for keys and timings (acme_ci.native.git): tracked files and
# untracked ones git does not ignore.
LIST_FILES = ("ls-files", "-z", "-co", "--exclude-standard")
# File.size queries at once: a repository has hundreds of files.
SIZE_QUERIES = 32


class VerdictFailedError(Exception):
    """A sharded run failed: a step failed or was blocked, or a shard never reported. The
    message is the verdict's summary, every shard's line included."""

    def __init__(self, gathered: GatheredRun, summary: str) -> None:
        failed = [r.step_id for r in gathered.run.failed]
        missing = [str(line.shard) for line in gathered.shards if not line.reported]
        parts = [f"{len(failed)} step(s) failed"] + (
            [f"shard(s) {', '.join(missing)} without a report"] if missing else []
        )
        super().__init__(f"verdict: {'; '.join(parts)}\n{summary}")
        self.gathered = gathered


async def listed_files(source: dagger.Directory) -> tuple[str, ...]:
    """The source's files as git lists them (ignored ones left out)."""
    out = await git_container(source).with_exec([*GIT, *LIST_FILES]).stdout()
    return changes.changed_paths(out)  # NUL-terminated paths, read as git's other answers


def _under(path: str, directory: str) -> bool:
    return directory in ("", ".") or path.startswith(directory.rstrip("/") + "/")


async def package_sizes(
    source: dagger.Directory, ws: Workspace, plan: Plan, files: tuple[str, ...]
) -> dict[str, int]:
    """Each planned package's size: the bytes of its listed files (the first-run prior)."""
    directories = {step.package: ws.get(step.package).path for step in plan.steps}
    wanted = [f for f in files if any(_under(f, d) for d in directories.values())]
    sizes: dict[str, int] = {}
    limiter = anyio.CapacityLimiter(SIZE_QUERIES)

    async def size(path: str) -> None:
        async with limiter:
            try:
                sizes[path] = await source.file(path).size()
            except dagger.QueryError:  # listed, but left out of the upload (SOURCE_IGNORE)
                sizes[path] = 0

    async with anyio.create_task_group() as tg:
        for path in wanted:
            tg.start_soon(size, path)
    return {
        package: sum(n for f, n in sizes.items() if _under(f, directory))
        for package, directory in directories.items()
    }


async def read_shard_plan(
    source: dagger.Directory, ws: Workspace, selection: Selection, plan_file: dagger.File
) -> ShardPlan:
    """The shard plan the plan job wrote, rebuilt on this source's plan and checked against
    it (same commit, selection and cut: ShardError otherwise)."""
    base = make_plan(ws, selection)
    python_files = package_python_files(base, await listed_files(source))
    try:
        document = json.loads(await plan_file.contents())
    except ValueError as error:
        raise ShardError(f"--shard-plan: not JSON ({error})") from error
    try:
        return shard_plan_from_document(base, document, python_files)
    except ShardError as error:
        raise ShardError(f"--shard-plan: {error}") from error


async def cut_shard_plan(
    source: dagger.Directory,
    ws: Workspace,
    selection: Selection,
    count: int | None,
    target: float,
    store: ShardStore | None,
) -> tuple[ShardPlan, list[str]]:
    """The plan cut into `count` shards (None: auto) by the history in the shared store
    (none without one: the first-run prior); and what the summary should say of it."""
    base = make_plan(ws, selection)
    files = await listed_files(source)
    sizes = await package_sizes(source, ws, base, files)
    stored, notes = await store.get_history() if store is not None else (None, [])
    history = for_checkout(stored or History(), package_python_files(base, files), sizes)
    return make_shard_plan(base, history, count, target), notes


async def run_shard(
    source: dagger.Directory,
    ws: Workspace,
    selection: Selection,
    jobs: int,
    cache: CacheOptions | None,
    shard_text: str,
    plan_file: dagger.File | None,
    identity: RunIdentity | None,
) -> str:
    """Shard K/N of the plan file run in containers, its report stored in the shared store
    whatever its steps did; its summary, or PipelineFailedError when a step of it failed."""
    shard = parse_shard(shard_text)
    if plan_file is None:
        raise ShardError(
            "--shard needs --shard-plan FILE: the plan job's `plan --shards N --format json`"
        )
    if cache is None or cache.policy().write is None:
        raise ShardError(
            f"shard {shard} has nowhere to put its report: on Dagger a shard's report goes "
            "to the remote cache only (nothing else leaves the engine), so pass a "
            "--cache-url this run may write"
            + ("" if cache is None else f" (this one: {cache.policy().describe()})")
        )
    if identity is None:
        raise ShardError("a shard's report in the remote cache needs --run-id")
    shards = await read_shard_plan(source, ws, selection, plan_file)
    own = shards.shard(shard)
    plan = shards.subplan(shard)
    run, executor = await run_in_containers(source, ws, plan, jobs, cache)
    note = (
        f"shard {shard}: {len(plan.steps)} of {len(shards.plan.steps)} steps, expected "
        f"{own.expected:.1f}s (shard plan {shards.digest[:12]})"
    )
    report = ShardReport(
        shard=shard,
        digest=shards.digest,
        run_id=identity.run_id,
        attempt=identity.attempt,
        results=run.results,
        duration=run.duration,
        junit=await _junit(plan, run, executor),
        runner=run.runner,
        commit=await _head(source),
        warnings=run.warnings,
        remote_cache=run.remote_cache,
    )
    store = ShardStore(await _tool(source, ws), cache)
    key = await store.put_report(identity, report)
    return check_run(run, [note, f"shard {shard}: report stored as {key}"])


async def _junit(plan: Plan, run: RunResult, executor: ContainerExecutor) -> dict[str, str]:
    """The JUnit report of each test step that passed here or came from the cache (a failed
    step's stays in the engine: its failed tests and flakes are in its result)."""
    found: dict[str, str] = {}
    for result in run.results:
        path = plan.get(result.step_id).junit_path
        ctr = executor.finished.get(result.step_id)
        if path and ctr is not None:
            try:
                found[result.step_id] = await ctr.file(f"{SRC}/{path}").contents()
            except dagger.QueryError:
                continue
    return found


async def _head(source: dagger.Directory) -> str | None:
    """The source's commit (None without git history)."""
    head = git_container(source).with_exec(
        [*GIT, "rev-parse", "HEAD"], expect=dagger.ReturnType.ANY
    )
    return (await head.stdout()).strip() or None


async def _tool(source: dagger.Directory, ws: Workspace) -> dagger.Container:
    return tool_container(PackageEnvs(ws, source), await root_files(source))


async def shard_store(
    source: dagger.Directory, ws: Workspace, cache: CacheOptions | None
) -> ShardStore | None:
    """The shared store, reached from the module package's container (None: no cache)."""
    return None if cache is None else ShardStore(await _tool(source, ws), cache)


async def shard_verdict(
    source: dagger.Directory,
    ws: Workspace,
    selection: Selection,
    cache: CacheOptions | None,
    plan_file: dagger.File,
    identity: RunIdentity | None,
) -> str:
    """Every shard's report from the shared store gathered into one verdict (a shard without
    one a failure, named), and what the shards measured folded into the stored history;
    the verdict's summary, or VerdictFailedError with it when the run failed."""
    if cache is None:
        raise ShardError(
            "verdict on Dagger gathers the shards' reports from the remote cache (no "
            "artifact directory: nothing else leaves a shard's engine): pass --cache-url"
        )
    if identity is None:
        raise ShardError("the shard reports in the remote cache need --run-id")
    shards = await read_shard_plan(source, ws, selection, plan_file)
    store = ShardStore(await _tool(source, ws), cache)
    reports, problems = await store.get_reports(identity, [s.id for s in shards.shards])
    gathered = gather(shards, reports, problems)
    notes = await _keep_history(source, ws, store, shards, gathered)
    run = replace(gathered.run, warnings=(*gathered.run.warnings, *notes))
    summary = summary_text(run, gathered.shards)
    if not gathered.ok:
        raise VerdictFailedError(gathered, summary)
    return summary


async def _keep_history(
    source: dagger.Directory,
    ws: Workspace,
    store: ShardStore,
    shards: ShardPlan,
    gathered: GatheredRun,
) -> list[str]:
    """Fold what the shards measured into the stored history, written back to this run's
    scope; what the summary should say of it."""
    if store.options.policy().write is None:
        return []
    stored, notes = await store.get_history()
    files = package_python_files(shards.plan, await listed_files(source))
    history = folded(
        stored or History(),
        shards.plan,
        gathered.executed,
        gathered.step_junit,
        files,
        suite_cuts(shards),
        shards.cut_for,
    )
    problem = await store.put_history(history)
    return [*notes, *([problem] if problem else [])]
