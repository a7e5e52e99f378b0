"""`acme-ci test`: every package's tests, no selection, no cache; its exit code is the verdict."""

from __future__ import annotations

import argparse

from acme_ci.core.affected import select_all
from acme_ci.core.plan import PlanOptions, make_plan
from acme_ci.core.scheduler import RunResult
from acme_ci.native.commands.common import USAGE_ERRORS, finish, load, usage_error
from acme_ci.native.console import Progress
from acme_ci.native.runner import run_native


def run(args: argparse.Namespace) -> int:
    try:
        root, ws = load(args)
    except USAGE_ERRORS as error:
        return usage_error(error)
    plan = make_plan(ws, select_all(ws, "acme-ci test"), PlanOptions(tasks=("test",)))
    print(f"testing {len(plan.steps)} packages, {args.jobs} at a time", flush=True)
    result = run_native(root, plan, jobs=args.jobs, use_cache=False, on_event=Progress())
    code = finish(result, args.report, "acme-ci test")
    print(totals_line(result), flush=True)
    return code


def totals_line(result: RunResult) -> str:
    """pytest-style closing line across packages: `N passed, N failed ... in Xs`."""
    passed = sum(r.passed_tests for r in result.results)
    failed = sum(len(r.failed_tests) for r in result.results)
    skipped = sum(r.skipped_tests for r in result.results)
    parts = [f"{passed} passed", f"{failed} failed"]
    if skipped:
        parts.append(f"{skipped} skipped")
    if result.flakes:
        parts.append(f"{len(result.flakes)} flaky")
    broken = [r.step_id.split(":")[0] for r in result.failed]
    verdict = f"; packages failed: {', '.join(broken)}" if broken else ""
    return (
        f"== {', '.join(parts)} across {len(result.results)} packages "
        f"in {result.duration:.1f}s{verdict} =="
    )
