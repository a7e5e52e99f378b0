"""`acme-ci verdict`: every shard's report gathered into one summary, one JUnit report per
tested package and one exit code (acme_ci.core.shard_gather).

The reports come from the remote cache (this run's, with --cache-url and a run id) and/or
from a directory (--shard-report-dir: the workflow's downloaded artifacts). The shard plan
is the one the shards ran (--shard-plan FILE), or is cut here (--shards N) from this
checkout's history, which only matches when the shards cut it from the same history.
The verdict also folds what the shards measured into this checkout's history (.acme/), so a
workflow that keeps .acme/ between runs plans the next one from it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from acme_ci.core.report import report_data, report_markdown
from acme_ci.core.scheduler import RunResult
from acme_ci.core.shard_gather import GatheredRun, gather
from acme_ci.core.shard_history import package_python_files, suite_cuts
from acme_ci.core.shard_report import ShardReport
from acme_ci.core.shards import (
    TARGET_SHARD_SECONDS,
    ShardError,
    ShardId,
    ShardPlan,
    parse_shard_count,
)
from acme_ci.core.summary import summary_text
from acme_ci.native.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    USAGE_ERRORS,
    load,
    remote_settings,
    request_from,
    usage_error,
)
from acme_ci.native.discover import STATE_DIR
from acme_ci.native.history import record_durations, record_test_timings
from acme_ci.native.runner import repository_files
from acme_ci.native.shard_reports import RemoteReports, read_report_files, run_identity
from acme_ci.native.sharding import shard_plan_for


def run(args: argparse.Namespace) -> int:
    try:
        root, ws = load(args)
        if args.shard_plan is None and args.shards is None:
            raise ShardError(
                "which shard plan? pass --shard-plan FILE (what the shards ran) or --shards N"
            )
        count = None if args.shards is None else parse_shard_count(args.shards)
        if args.shard_plan is None and count is None:
            raise ShardError("--shards auto: the verdict needs the count the shards ran")
        shards = shard_plan_for(
            root,
            ws,
            request_from(args),
            count=count,
            target=args.shard_target or TARGET_SHARD_SECONDS,
            plan_file=args.shard_plan,
        )
        remote = remote_settings(args, root)
        identity = run_identity(args.run_id, os.environ)
        if remote is not None and identity is None:
            raise ShardError("shard reports in the remote cache need --run-id (or GITHUB_RUN_ID)")
        if args.shard_report_dir is None and remote is None:
            raise ShardError("where are the shard reports? pass --shard-report-dir or --cache-url")
    except (*USAGE_ERRORS, ShardError) as error:
        return usage_error(error)
    from_remote = None if remote is None or identity is None else RemoteReports(remote, identity)
    reports, problems = _reports(shards, args.shard_report_dir, from_remote)
    gathered = gather(shards, reports, problems)
    _keep(root, shards, gathered)
    return _finish(gathered, args.report)


def _reports(
    shards: ShardPlan, directory: str | None, remote: RemoteReports | None
) -> tuple[list[ShardReport], dict[ShardId, str]]:
    """Each shard's newest report: from the directory, else from the remote cache."""
    found: dict[ShardId, ShardReport] = {}
    problems: dict[ShardId, str] = {}
    if directory is not None:
        reports, problems = read_report_files(Path(directory))
        found.update((r.shard, r) for r in reports)
    if remote is not None:
        wanted = [s.id for s in shards.shards if s.id not in found]
        reports, remote_problems = remote.fetch(wanted)
        found.update((r.shard, r) for r in reports)
        problems.update(remote_problems)
    return list(found.values()), {s: p for s, p in problems.items() if s not in found}


def _keep(root: Path, shards: ShardPlan, gathered: GatheredRun) -> None:
    """The JUnit reports where the steps write them (each group's, then each tested
    package's whole, where an unsharded run writes it), and what the shards measured folded
    into this checkout's history."""
    reports = [(shards.plan.get(i).junit_path, text) for i, text in gathered.step_junit.items()]
    reports += [
        (step.junit_path, gathered.junit[step.package])
        for step in shards.base.steps
        if step.task == "test" and step.package in gathered.junit
    ]
    for path, text in reports:
        if path is not None:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
    state = root / STATE_DIR
    record_durations(state, RunResult(shards.plan, gathered.executed, gathered.run.duration))
    tested = [r for r in gathered.executed if r.status in ("passed", "failed")]
    if any(shards.plan.get(r.step_id).task == "test" for r in tested):
        files = package_python_files(shards.plan, repository_files(root))
        record_test_timings(
            state, root, shards.plan, tested, files, suite_cuts(shards), shards.cut_for
        )


def _finish(gathered: GatheredRun, report: str | None) -> int:
    shards = gathered.shards
    print(summary_text(gathered.run, shards), flush=True)
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        data = report_data(gathered.run, shards)
        Path(report).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as stream:
            stream.write(report_markdown(gathered.run, "acme-ci verdict", shards))
    return EXIT_OK if gathered.ok else EXIT_FAILED
