"""`acme-ci ci --shard K/N`: one shard of the plan run here, its report left for the verdict.

The shard runs natively, with the run flags (jobs, cache, remote cache) as any `ci`. Its
exit code is its own steps' verdict; the run's is `acme-ci verdict`'s, which also applies
the gates whose needs ran in other shards. The report is written whether the steps passed
or not: to the remote cache when the run may write it, and to `--shard-report-dir`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from acme_ci.core.scheduler import RunResult
from acme_ci.core.shard_report import ShardReport
from acme_ci.core.shards import TARGET_SHARD_SECONDS, ShardError, ShardPlan, parse_shard
from acme_ci.core.workspace import Workspace
from acme_ci.native import git
from acme_ci.native.commands.common import (
    EXIT_FAILED,
    finish,
    remote_settings,
    request_from,
    run_with_flags,
)
from acme_ci.native.shard_reports import RemoteReports, run_identity, write_report_file
from acme_ci.native.sharding import shard_plan_for


def run_shard(args: argparse.Namespace, root: Path, ws: Workspace) -> int:
    """Run shard `args.shard`; ShardError (and the usual usage errors) for bad flags."""
    if args.runner == "dagger":
        raise ShardError(
            "--shard runs natively here; on Dagger a shard is `dagger call ci --shard K/N "
            "--shard-plan FILE --run-id ID` (docs/dagger.md)"
        )
    shard = parse_shard(args.shard)
    shards = shard_plan_for(
        root,
        ws,
        request_from(args),
        count=shard.count,
        target=args.shard_target or TARGET_SHARD_SECONDS,
        plan_file=args.shard_plan,
    )
    own = shards.shard(shard)
    remote = remote_settings(args, root)
    identity = run_identity(args.run_id, os.environ)
    reports = None
    if remote is not None:
        if identity is None:
            raise ShardError(
                "a shard's report in the remote cache needs --run-id (or GITHUB_RUN_ID)"
            )
        reports = RemoteReports(remote, identity)
    if not args.shard_report_dir and (reports is None or not reports.writable):
        raise ShardError(
            f"shard {shard} has nowhere to put its report: pass --shard-report-dir DIR, "
            "or a --cache-url this run may write"
        )
    print(f"runner: native (--shard {shard})", flush=True)
    plan = shards.subplan(shard)
    print(
        f"shard {shard}: {len(plan.steps)} of {len(shards.plan.steps)} steps, expected "
        f"{own.expected:.1f}s (shard plan {shards.digest[:12]})",
        flush=True,
    )
    result = run_with_flags(root, plan, args, remote)
    code = finish(result, args.report, f"acme-ci ci --shard {shard}")
    report = ShardReport(
        shard=shard,
        digest=shards.digest,
        run_id=identity.run_id if identity else "local",
        attempt=identity.attempt if identity else 1,
        results=result.results,
        duration=result.duration,
        junit=_junit(root, shards, result),
        runner=result.runner,
        commit=git.head_commit(root),
        warnings=result.warnings,
        remote_cache=result.remote_cache,
    )
    written = _store(report, args.shard_report_dir, reports)
    return code if written else EXIT_FAILED


def _junit(root: Path, shards: ShardPlan, result: RunResult) -> dict[str, str]:
    """The JUnit report of each test step that ran or came from the cache."""
    found: dict[str, str] = {}
    for r in result.results:
        path = shards.plan.get(r.step_id).junit_path
        if path and r.status != "blocked" and (root / path).is_file():
            found[r.step_id] = (root / path).read_text(encoding="utf-8", errors="replace")
    return found


def _store(report: ShardReport, directory: str | None, remote: RemoteReports | None) -> bool:
    """Write the report everywhere it goes, saying where; False when it went nowhere."""
    written = False
    if directory is not None:
        path = write_report_file(Path(directory), report)
        print(f"shard {report.shard}: report written to {path}", flush=True)
        written = True
    if remote is not None and remote.writable:
        try:
            key = remote.store(report)
        except Exception as error:  # the verdict then names this shard: say why here
            print(
                f"shard {report.shard}: report NOT stored in the remote cache "
                f"({type(error).__name__}: {error})",
                flush=True,
            )
        else:
            print(f"shard {report.shard}: report stored as {key}", flush=True)
            written = True
    return written
