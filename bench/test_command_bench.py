"""Benchmark: the default test command (`./pipeline.sh test`) at several revisions, side by side.

For each revision, a clone with its own environment (pipeline.sh's sync); then --runs rounds,
each running the command once per revision in turn, so machine noise hits them alike. The
rehearsal phase is skipped (ACME_REHEARSAL=skip: it came later and is measured on its own);
what is compared is the package suites' wall time, as the command's closing line reports it,
and the process's own wall time.

    .venv/bin/python bench/test_command_bench.py --rev 1f66527 --rev HEAD [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOTALS = re.compile(r"^== (.*) across (\d+) packages in ([\d.]+)s")


def clone(rev: str, target: Path) -> str:
    """A clone of `rev` at `target`, synced as pipeline.sh does; the commit's short id."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    subprocess.run(["git", "checkout", "--quiet", "--detach", rev], cwd=target, check=True)
    subprocess.run(["./pipeline.sh", "plan", "--all"], cwd=target, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=target,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


def run_once(root: Path) -> tuple[float, float, str]:
    """(process wall seconds, the suites' reported seconds, the totals line)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "GITHUB_STEP_SUMMARY")}
    env["ACME_REHEARSAL"] = "skip"
    started = time.monotonic()
    done = subprocess.run(["./pipeline.sh", "test"], cwd=root, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    wall = time.monotonic() - started
    line = next((m for m in map(TOTALS.match, done.stdout.splitlines()) if m), None)
    if line is None:
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n", flush=True)
        return wall, float("nan"), "no totals line"
    return wall, float(line[3]), f"{line[1]} across {line[2]} packages"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", action="append", required=True, help="a git revision")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="acme-testcmd-") as tmp:
        roots: dict[str, Path] = {}
        for rev in args.rev:
            target = Path(tmp) / rev.replace("/", "_")
            print(f"cloning {rev} ...", flush=True)
            roots[f"{rev} ({clone(rev, target)})"] = target
        walls: dict[str, list[float]] = {name: [] for name in roots}
        suites: dict[str, list[float]] = {name: [] for name in roots}
        totals: dict[str, str] = {}
        for i in range(args.runs):
            for name, root in roots.items():
                print(f"run {i + 1}/{args.runs}: {name} ...", flush=True)
                wall, reported, totals[name] = run_once(root)
                walls[name].append(wall)
                suites[name].append(reported)
                print(f"  {wall:.1f}s ({totals[name]})", flush=True)
    first = next(iter(roots))
    print(f"\n./pipeline.sh test (rehearsal skipped): median of {args.runs}, {os.cpu_count()} CPUs")
    print(f"{'revision':<24} {'wall':>8} {'suites':>8} {'vs first':>9}  tests")
    base = statistics.median(walls[first])
    for name in roots:
        wall = statistics.median(walls[name])
        suite = statistics.median(suites[name])
        print(f"{name:<24} {wall:7.1f}s {suite:7.1f}s {wall / base:8.2f}x  {totals[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
