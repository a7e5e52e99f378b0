"""A plan run in containers: each step's container, the remote step cache, the run itself.

The scheduling is the core's (`run_plan`), the same as the native runner's; what is Dagger's
here is where a step runs (its package's layered container, with its backing services and,
for the module's own package, the root files its tests read).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import dagger

from acme_ci.core.affected import Selection
from acme_ci.core.plan import Plan, Step, make_plan
from acme_ci.core.remote_cache import RemoteCacheError
from acme_ci.core.scheduler import RunResult, run_plan
from acme_ci.core.workspace import Workspace
from acme_ci.dagger.cache_options import CacheOptions
from acme_ci.dagger.containers import (
    PackageEnvs,
    test_services,
    with_root_directories,
    with_root_files,
)
from acme_ci.dagger.executor import ContainerExecutor, check_run
from acme_ci.dagger.junit_echo import with_junit_echo
from acme_ci.dagger.remote_cache import RemoteStepCache, step_inputs


@dataclass(frozen=True)
class RootFiles:
    """The entries at the source's root, and the module package's directory ('' if none)."""

    entries: tuple[str, ...]
    module_dir: str


async def root_files(source: dagger.Directory) -> RootFiles:
    """The source's root entries, and the package dagger.json names as the module's."""
    entries = tuple(await source.entries())
    if "dagger.json" not in entries:
        return RootFiles(entries, "")
    declared = json.loads(await source.file("dagger.json").contents())
    return RootFiles(entries, str(declared.get("source", "")).strip("/"))


def step_container(
    source: dagger.Directory, envs: PackageEnvs, step: Step, root: RootFiles
) -> dagger.Container:
    """The container `step` runs in: its package's with the root directories its inputs
    name (a lint's workflows), and for a test its services and report."""
    ctr = with_root_directories(envs.of(step.package), source, envs.ws, step)
    if step.task != "test":
        return ctr
    package = envs.ws.get(step.package)
    ctr = with_junit_echo(test_services(ctr, package.settings.test_services))
    if package.path == root.module_dir:
        ctr = with_root_files(ctr, source, root.entries)
    return ctr


def tool_container(envs: PackageEnvs, root: RootFiles) -> dagger.Container:
    """The module package's container, where the shared store is read and written (boto3,
    acme_ci.entries.cli)."""
    tool = next((p for p in envs.ws.packages if p.path == root.module_dir), None)
    if tool is None:
        raise RemoteCacheError(
            "the remote cache runs in the module package's container, and the source "
            "has no dagger.json naming a workspace package"
        )
    return envs.of(tool.name)


def remote_step_cache(
    source: dagger.Directory, envs: PackageEnvs, root: RootFiles, cache: CacheOptions
) -> RemoteStepCache:
    """The remote cache, its lookups run in the module package's container (boto3)."""
    ws = envs.ws
    return RemoteStepCache(
        options=cache,
        source=source,
        tool=tool_container(envs, root),
        ws=ws,
        inputs_of=lambda step: step_inputs(ws, step, root.module_dir, root.entries),
    )


async def run_in_containers(
    source: dagger.Directory,
    ws: Workspace,
    plan: Plan,
    jobs: int,
    cache: CacheOptions | None = None,
) -> tuple[RunResult, ContainerExecutor]:
    """Every step of `plan`, at most `jobs` at a time; the run and the executor that holds
    each passed step's final container (for its outputs)."""
    root = await root_files(source)
    envs = PackageEnvs(ws, source)
    executor = ContainerExecutor(lambda step: step_container(source, envs, step, root))
    if cache is not None:
        executor.remote = remote_step_cache(source, envs, root, cache)
    run = await run_plan(plan, executor, jobs=jobs, runner="dagger")
    if executor.remote is not None:
        remote = executor.remote
        warnings = (*run.warnings, *remote.warnings, *filter(None, [remote.skipped]))
        run = replace(run, warnings=warnings, remote_cache=remote.describe())
    return run, executor


async def run_ci(
    source: dagger.Directory,
    ws: Workspace,
    selection: Selection,
    jobs: int,
    cache: CacheOptions | None = None,
) -> str:
    """Lint, test and build the selected packages; the summary, or PipelineFailedError."""
    run, _ = await run_in_containers(source, ws, make_plan(ws, selection), jobs, cache)
    return check_run(run)
