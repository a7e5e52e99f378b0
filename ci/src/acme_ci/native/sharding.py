"""A sharded run's plan from this checkout: what earlier runs measured here (.acme/), or the
shard plan file the plan job wrote, rebuilt and checked against this checkout's own plan."""

from __future__ import annotations

import json
from pathlib import Path

from acme_ci.core.plan import Plan
from acme_ci.core.shard_history import package_python_files
from acme_ci.core.shard_plan_format import shard_plan_from_document
from acme_ci.core.shards import History, ShardError, ShardPlan, make_shard_plan
from acme_ci.core.test_groups import SuiteTiming
from acme_ci.core.workspace import Workspace
from acme_ci.native.discover import STATE_DIR
from acme_ci.native.history import (
    load_durations,
    load_test_seconds,
    load_test_timing,
    package_sizes,
)
from acme_ci.native.runner import SelectionRequest, plan_for, repository_files


def shard_plan_for(
    root: Path,
    ws: Workspace,
    request: SelectionRequest,
    *,
    count: int | None,
    target: float,
    plan_file: str | None = None,
) -> ShardPlan:
    """The shard plan: read from `plan_file` when given (its count and target decide),
    else cut here into `count` shards (None: auto) by this checkout's history."""
    base = plan_for(root, ws, request)
    files = repository_files(root)
    packages = package_python_files(base, files)
    if plan_file is not None:
        try:
            document = json.loads(Path(plan_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ShardError(f"shard plan {plan_file}: cannot read it ({error})") from error
        try:
            return shard_plan_from_document(base, document, packages)
        except ShardError as error:
            raise ShardError(f"shard plan {plan_file}: {error}") from error
    return make_shard_plan(base, history(root, base, files, packages), count, target)


def history(
    root: Path, plan: Plan, files: tuple[str, ...], packages: dict[str, frozenset[str]]
) -> History:
    """What this checkout's earlier runs measured for `plan`'s steps, and the packages' sizes."""
    state = root / STATE_DIR
    timings = {
        package: SuiteTiming(
            timing.files,
            timing.overhead,
            load_test_seconds(state, package, present),
            timing.cut,
            timing.cut_for,
        )
        for package, present in packages.items()
        if (timing := load_test_timing(state, package, present)) is not None
    }
    return History(load_durations(state), timings, package_sizes(root, plan, files) or {})
