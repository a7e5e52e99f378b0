"""`acme-ci test`: every package's tests, no selection, no cache; then the rehearsal of the
Dagger module (`acme-rehearse phase`) when this machine can run it. The exit code is the
verdict of both."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

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
    rehearsal_line, rehearsal_code = rehearsal_phase(root)
    print(rehearsal_line, flush=True)
    print(totals_line(result), flush=True)
    return code or rehearsal_code


def rehearsal_skip_reason(root: Path) -> str | None:
    """Why the rehearsal phase does not start here, or None."""
    if "PYTEST_CURRENT_TEST" in os.environ:
        return "inside a pytest run (a suite never starts the rehearsal)"
    if os.environ.get("ACME_REHEARSAL") == "skip":
        return "ACME_REHEARSAL=skip"
    if not (root / "dagger.json").is_file():
        return "no Dagger module (dagger.json) in this workspace"
    return None


def rehearsal_phase(root: Path) -> tuple[str, int]:
    """The Dagger module's `ci --all` in local containers, after the package suites.

    A process of its own (`python -m acme_ci.rehearsal`): the rehearsal imports dagger, which
    the native shell never does. It exits 2, saying why, on a machine that cannot run it;
    that is a skip, not a failure. Returns its closing line and this phase's exit code.
    """
    reason = rehearsal_skip_reason(root)
    if reason is not None:
        return f"== rehearsal (Dagger module in podman): skipped: {reason} ==", 0
    print("rehearsal of the Dagger module: ci --all in local containers", flush=True)
    argv = [sys.executable, "-m", "acme_ci.rehearsal", "-C", str(root), "phase"]
    last = ""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            last = line.strip() or last
        code = proc.wait()
    if code == 2:
        reason = last.removeprefix("rehearsal: skipped: ")
        return f"== rehearsal (Dagger module in podman): skipped: {reason} ==", 0
    verdict = "passed" if code == 0 else f"FAILED (exit {code})"
    detail = last.strip("= ").removeprefix("rehearsal: ")
    return f"== rehearsal (Dagger module in podman): {verdict}: {detail} ==", code


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
