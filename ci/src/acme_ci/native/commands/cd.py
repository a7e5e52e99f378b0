"""`acme-ci cd --version V`: ci, publish, maintenance, deploy smoke test; stops at a failure.

The original pipeline's publish silently did nothing and its deploy ignored a failed
maintenance: here every phase must pass for the next one to start, and the failing phase
is named with exit code 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from acme_ci.core.affected import select_all
from acme_ci.core.plan import make_plan
from acme_ci.core.workspace import Workspace
from acme_ci.native import git
from acme_ci.native.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    USAGE_ERRORS,
    finish,
    load,
    remote_settings,
    run_with_flags,
    usage_error,
)
from acme_ci.native.publish import PublishError, VersionError, check_version, publish
from acme_ci.native.runner import new_run_id
from acme_ci.native.runner_choice import choose_runner, run_on_dagger
from acme_ci.native.smoke import services, smoke_service

MAINTENANCE_PACKAGE = "acme-maintenance"
# How much of a failed phase's detail the closing lines repeat.
WHY_LINES = 12
Phase = Callable[[], tuple[bool, str]]


def maintenance_subsystems(env: Mapping[str, str]) -> tuple[tuple[str, ...], str]:
    """The subsystems cd maintains, and why.

    The database always (DATABASE_URL defaults to a local SQLite file); S3 and Kafka only
    when their settings are present, since a laptop or a CI runner rarely has them. A
    configured subsystem that fails still fails the phase.
    """
    chosen = ["db"]
    skipped = []
    if all(env.get(v) for v in ("S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")):
        chosen.append("s3")
    else:
        skipped.append("s3 (S3_BUCKET/AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set)")
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        chosen.append("kafka")
    else:
        skipped.append("kafka (KAFKA_BOOTSTRAP_SERVERS not set)")
    why = f"maintaining {', '.join(chosen)}"
    if skipped:
        why += f"; skipped: {'; '.join(skipped)}"
    return tuple(chosen), why


def run(args: argparse.Namespace) -> int:
    try:
        version = check_version(args.version)
        root, ws = load(args)
        remote = remote_settings(args, root)
        choice = choose_runner(args.runner)
    except (*USAGE_ERRORS, VersionError) as error:
        return usage_error(error)
    print(f"runner: {choice.name} ({choice.why})", flush=True)
    artifacts = Path(args.artifacts) if args.artifacts else root / "dist" / "release" / version
    log_dir = root / ".acme" / "logs" / f"cd-{new_run_id()}"

    def ci_phase() -> tuple[bool, str]:
        if choice.name == "dagger":
            code = run_on_dagger(root, "ci", ["--all", "--jobs", str(args.jobs)])
            return code == 0, "dagger call ci --all"
        plan = make_plan(ws, select_all(ws, "cd: every package"))
        result = run_with_flags(root, plan, args, remote)
        code = finish(result, args.report, "acme-ci cd: ci")
        return code == EXIT_OK, f"{len(result.failed)} step(s) failed" if code else "all green"

    def publish_phase() -> tuple[bool, str]:
        try:
            built = publish(root, ws, version, artifacts, git.head_commit(root))
        except PublishError as error:
            return False, str(error)
        for artifact in built:
            print(f"  {artifact.file}  sha256:{artifact.sha256[:16]}", flush=True)
        return True, f"{len(built)} wheels + manifest.json in {artifacts}"

    phases: list[tuple[str, Phase]] = [
        ("ci", ci_phase),
        ("publish", publish_phase),
        ("maintenance", lambda: _maintenance(root, ws)),
        ("deploy-smoke", lambda: _smoke(root, ws, log_dir)),
    ]
    return _run_phases(phases)


def _run_phases(phases: list[tuple[str, Phase]]) -> int:
    timings: list[tuple[str, str, float]] = []
    failed: str | None = None
    why = ""
    for name, phase in phases:
        if failed is not None:
            timings.append((name, "not run", 0.0))
            continue
        print(f"\n== cd phase: {name}", flush=True)
        started = time.monotonic()
        ok, detail = phase()
        seconds = time.monotonic() - started
        print(f"== {name}: {'passed' if ok else 'FAILED'} in {seconds:.1f}s: {detail}", flush=True)
        timings.append((name, "passed" if ok else "failed", seconds))
        if not ok:
            failed, why = name, detail
    print("\ncd phases:")
    for name, status, seconds in timings:
        print(f"  {name:<13} {status:<8} {seconds:6.1f}s")
    if failed is not None:
        # The reason again, last, where a reader of a cut log (an engine's tail) finds it.
        reason = "\n".join(f"  {line}" for line in why.strip().splitlines()[-WHY_LINES:])
        print(f"cd failed in phase {failed}: later phases did not run; why:\n{reason}", flush=True)
        return EXIT_FAILED
    print("cd passed", flush=True)
    return EXIT_OK


def _maintenance(root: Path, ws: Workspace) -> tuple[bool, str]:
    if MAINTENANCE_PACKAGE not in ws.names:
        return True, f"skipped: no {MAINTENANCE_PACKAGE} package in the workspace"
    subsystems, why = maintenance_subsystems(os.environ)
    print(why, flush=True)
    command = [str(root / ".venv/bin/maintenance"), "--only", ",".join(subsystems)]
    print(f"$ {' '.join(command)}", flush=True)
    try:
        done = subprocess.run(command, cwd=root, check=False)
    except OSError as error:
        return False, f"cannot run maintenance: {error}"
    return done.returncode == 0, f"{why}; exit code {done.returncode}"


def _smoke(root: Path, ws: Workspace, log_dir: Path) -> tuple[bool, str]:
    found = services(ws)
    if not found:
        return True, "no service packages"
    results = [smoke_service(root, p, log_dir / f"{p.name}.log") for p in found]
    for r in results:
        print(f"  {r.package}: {'ready' if r.ok else 'FAILED'} ({r.seconds:.1f}s) {r.detail}")
    bad = [r for r in results if not r.ok]
    if bad:
        named = ", ".join(r.package for r in bad)
        return False, "\n".join([f"not ready: {named}", *(f"{r.package}: {r.detail}" for r in bad)])
    return True, f"{len(results)} service(s) answered /readiness"
