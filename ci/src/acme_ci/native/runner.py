"""The native shell: gather inputs (files, git), choose what to run, run it, keep the records."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from acme_ci.core.affected import Selection, select_affected, select_all, select_packages
from acme_ci.core.plan import Plan, PlanOptions, make_plan
from acme_ci.core.scheduler import Event, EventHandler, RunResult, run_plan
from acme_ci.core.workspace import Workspace
from acme_ci.native import git
from acme_ci.native.cache import Cache, FileHasher, environment_fingerprint
from acme_ci.native.discover import STATE_DIR
from acme_ci.native.executor import NativeExecutor
from acme_ci.native.history import (
    biggest_packages_first,
    load_durations,
    record_durations,
    record_test_timings,
)
from acme_ci.native.uv_version import uv_version_started

if TYPE_CHECKING:  # loaded only when a remote cache is configured
    from acme_ci.native.remote_cache import RemoteCache, RemoteSettings

# Never walked when git cannot list files: environments, caches and build products.
_UNHASHED_DIRS = frozenset({".venv", ".git", ".acme", "dist", "build", "__pycache__", "var"})


@dataclass(frozen=True)
class SelectionRequest:
    """The CLI's selection flags."""

    base: str | None = None
    all: bool = False
    packages: tuple[str, ...] = ()


def select(root: Path, ws: Workspace, request: SelectionRequest) -> Selection:
    """Selection from the flags; raises GitError/SelectionError for bad input."""
    if request.packages:
        return select_packages(ws, request.packages)
    if request.all:
        return select_all(ws, "--all")
    if request.base is None:
        return select_all(ws, "no --base given")
    return select_affected(ws, git.changed_files(root, request.base))


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}"


def repository_files(root: Path, listed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Files that define cache keys: git's view (ignored files excluded; `listed` when the
    caller already has it), else a walk."""
    if listed is None:
        listed = git.listed_files(root, ["."])
    if listed is not None:
        return listed
    found: list[str] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _UNHASHED_DIRS and not d.endswith(".egg-info")]
        found.extend(Path(directory, f).relative_to(root).as_posix() for f in files)
    return tuple(sorted(found))


def run_native(
    root: Path,
    plan: Plan,
    *,
    jobs: int,
    use_cache: bool,
    on_event: EventHandler | None = None,
    record_flakes: bool = True,
    remote: RemoteSettings | None = None,
    longest_chain_first: bool = True,
) -> RunResult:
    """Run `plan` with subprocesses under `root`; logs, cache and flakes under .acme/.

    With `remote` settings (and the cache on), the remote cache sits behind the local one.
    """
    state = root / STATE_DIR
    remote_cache: RemoteCache | None = None
    if remote is not None and use_cache:
        from acme_ci.native.remote_cache import RemoteCache

        remote_cache = RemoteCache(remote)
    version = uv_version_started(state)  # answers while git does
    repo = git.snapshot(root)
    executor = NativeExecutor(
        root=root,
        log_dir=state / "logs" / new_run_id(),
        hasher=FileHasher(root, repository_files(root, repo.files), repo.blobs)
        if use_cache
        else None,
        cache=Cache(state / "cache", root) if use_cache else None,
        fingerprint=environment_fingerprint(version()),
        commit=repo.head,
        flake_record=state / "flakes.jsonl" if record_flakes else None,
        remote=remote_cache,
    )
    expected = load_durations(state)
    result = _from_local_cache(plan, executor, on_event, expected)
    if result is None:
        import anyio  # here: a run served whole from the local cache needs no event loop

        listed = executor.hasher.files if executor.hasher is not None else None
        unseen_first = biggest_packages_first(root, plan, expected, listed)
        executor.prepare_mypy_cache(plan.steps)
        result = anyio.run(
            _run, plan, executor, jobs, on_event, expected, longest_chain_first, unseen_first
        )
    record_durations(state, result)
    _record_test_timings(root, state, plan, result, executor)
    warnings = [*result.warnings, *executor.warnings]
    if remote_cache is not None:
        warnings += [*remote_cache.problems, *filter(None, [remote_cache.skipped])]
        result = replace(result, remote_cache=remote_cache.describe())
    return replace(result, warnings=tuple(warnings))


def _record_test_timings(
    root: Path, state: Path, plan: Plan, result: RunResult, executor: NativeExecutor
) -> None:
    """Each test file's seconds from the JUnit reports of the test steps this run executed
    (nothing to read, and no git to ask, when every test came from the cache)."""
    tested = [r for r in result.results if r.status in ("passed", "failed")]
    if not any(plan.get(r.step_id).task == "test" for r in tested):
        return
    # Here, not at the top: a warm run (every step cached) never loads the shard modules.
    from acme_ci.core.shard_history import package_python_files

    files = executor.hasher.files if executor.hasher is not None else repository_files(root)
    record_test_timings(state, root, plan, tested, package_python_files(plan, files))


def _from_local_cache(
    plan: Plan,
    executor: NativeExecutor,
    on_event: EventHandler | None,
    expected: dict[str, float],
) -> RunResult | None:
    """Every step's result from the local cache, in plan order, without an event loop (the
    warm path: nothing to run, nothing to wait for); None when any step has no entry."""
    if not all(executor.has_local_entry(step) for step in plan.steps):
        return None
    emit = on_event or (lambda event: None)
    started = time.monotonic()
    results = []
    for step in plan.steps:
        emit(Event("start", step))
        found = executor.local_hit(step)
        if found is None:  # corrupt, or removed meanwhile: the scheduler runs the plan
            return None
        emit(Event("cached", step, found))
        results.append(found)
    return RunResult(
        plan=plan,
        results=tuple(results),
        duration=time.monotonic() - started,
        runner="native",
        expected=expected,
    )


async def _run(
    plan: Plan,
    executor: NativeExecutor,
    jobs: int,
    on_event: EventHandler | None,
    expected: dict[str, float],
    longest_chain_first: bool,
    unseen_first: tuple[str, ...],
) -> RunResult:
    return await run_plan(
        plan,
        executor,
        jobs=jobs,
        on_event=on_event,
        runner="native",
        expected=expected,
        longest_chain_first=longest_chain_first,
        unseen_first=unseen_first,
    )


def plan_for(
    root: Path, ws: Workspace, request: SelectionRequest, tasks: Sequence[str] | None = None
) -> Plan:
    options = PlanOptions(tasks=tuple(tasks)) if tasks else PlanOptions()
    return make_plan(ws, select(root, ws, request), options)
