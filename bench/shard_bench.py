"""Benchmark: a sharded run against one unsharded run, side by side in one run.

In a temporary copy of the repository (as bench/pipeline_bench.py makes it: a clone plus the
uncommitted files, its own environment), measure the median of --runs runs of:

  (a) cold      every selected step, empty caches: N shard processes (`acme-ci ci --shard
                K/N`), each confined to one core (`taskset -c`), against one moto S3 store,
                then `acme-ci verdict`; against one unsharded `acme-ci ci` confined to one
                core (with the same store: each pays its uploads). Prints both walls and the
                ratio sharded (verdict included) / unsharded.
  (b) on paper  from the durations the copy recorded (its unsharded cold runs, one core
                each): the predicted wall for N = 1, 2, 4, 8, 16 (the longest shard's
                expected length) against the longest single step or group, and the cost in
                runner-minutes (each shard a job, billed by the started minute, plus a
                runner's start-up, --runner-start).
  (c) warm      everything cached: the N shards and the verdict again against one
                unsharded warm run: the overhead of sharding itself.

Every process runs with --jobs 1: a runner of one core. The S3 stand-in (moto, a thread of
this process) shares the cores of the side being measured (core 0 for the unsharded run,
the shards' cores for the shards): on GitHub the store is remote, and a core of its own
here would favour whichever side had one. Its CPU seconds are printed with each run.

The shard plan is cut once per run by `plan --shards N --format json` from the copy's
history (the first unsharded cold run records it, so measure (a) at least twice for its
sharded runs to split what they should).

    .venv/bin/python bench/shard_bench.py [--runs 3] [--shards 2] [--select '--all']
        [--target SECONDS] [--runner-start SECONDS] [--repo PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline_bench import copy_repository, start_moto

BUCKET = "acme-shard-bench"
PAPER_SHARDS = (1, 2, 4, 8, 16)
# A GitHub-hosted runner's start before the first step (checkout, uv, the environment).
RUNNER_START = 45.0


@dataclass(frozen=True)
class Timed:
    seconds: float
    ok: bool


def run(command: Sequence[str], cwd: Path, core: int | None = None) -> Timed:
    """`command` in `cwd` (on one core when `core` is given), its wall time and success."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_STEP_SUMMARY", "VIRTUAL_ENV")}
    pinned = ["taskset", "-c", str(core), *command] if core is not None else list(command)
    started = time.monotonic()
    done = subprocess.run(
        pinned, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    return Timed(time.monotonic() - started, done.returncode == 0)


def start(command: Sequence[str], cwd: Path, core: int) -> subprocess.Popen[bytes]:
    """`command` started in `cwd` on core `core` (wrapping around the machine's cores)."""
    core %= os.cpu_count() or 1
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_STEP_SUMMARY", "VIRTUAL_ENV")}
    return subprocess.Popen(
        ["taskset", "-c", str(core), *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def clear_local(root: Path) -> None:
    """What a fresh runner lacks: the local step cache and every output (history is kept)."""
    for path in (root / ".acme" / "cache", root / ".acme" / "reports", root / "dist"):
        shutil.rmtree(path, ignore_errors=True)


def confine_store(cores: set[int]) -> None:
    """The S3 stand-in (moto's threads, in this process) on the cores the measured processes
    use: neither side gets a core of its own for the store, which on GitHub is remote."""
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(task.name), cores)


def store_seconds() -> float:
    """CPU seconds this process (the S3 stand-in, mostly) has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Bench:
    """One copy of the repository, one S3 store, the shard count and the selection."""

    def __init__(self, root: Path, shards: int, select: list[str], target: float) -> None:
        self.root = root
        self.shards = shards
        self.select = select
        self.target = target
        self.acme = str(root / ".venv" / "bin" / "acme-ci")
        self.runs = 0

    def unsharded(self, prefix: str) -> Timed:
        """One `ci` on one core, with a remote cache of its own as the shards have."""
        remote = ["--cache-url", f"s3://{BUCKET}/{prefix}", "--cache-scope", "main"]
        argv = [self.acme, "ci", "--runner", "native", "--jobs", "1", *self.select, *remote]
        confine_store({0})
        store = store_seconds()
        timed = run(argv, self.root, 0)
        store = store_seconds() - store
        print(f"    unsharded {timed.seconds:.1f}s (the store's CPU {store:.1f}s)", flush=True)
        return timed

    def sharded(self, prefix: str) -> tuple[Timed, Path]:
        """Plan, then every shard at once (one core each), then the verdict: the wall from the
        first shard's start to the verdict's end, and the plan file."""
        self.runs += 1
        plan = self.root.parent / f"shard-plan-{self.runs}.json"
        with plan.open("w") as out:
            subprocess.run(
                [self.acme, "plan", *self.select, "--shards", str(self.shards),
                 "--shard-target", str(self.target), "--format", "json"],
                cwd=self.root, stdout=out, check=True,
            )  # fmt: skip
        remote = ["--cache-url", f"s3://{BUCKET}/{prefix}", "--cache-scope", "main"]
        run_id = ["--run-id", f"bench-{self.runs}"]
        confine_store(set(range(min(self.shards, os.cpu_count() or 1))))
        store = store_seconds()
        started = time.monotonic()
        argv = [self.acme, "ci", *self.select, "--shard-plan", str(plan), "--jobs", "1"]
        shards = [
            start([*argv, "--shard", f"{k}/{self.shards}", *remote, *run_id], self.root, k - 1)
            for k in range(1, self.shards + 1)
        ]
        ended: dict[int, float] = {}
        while len(ended) < len(shards):
            for k, shard in enumerate(shards):
                if k not in ended and shard.poll() is not None:
                    ended[k] = time.monotonic() - started
            time.sleep(0.05)
        codes = [shard.returncode for shard in shards]
        verdict = run(
            [self.acme, "verdict", *self.select, "--shard-plan", str(plan), *remote, *run_id],
            self.root,
            0,
        )
        wall = time.monotonic() - started
        expected = [entry["expected"] for entry in json.loads(plan.read_text())["shards"]]
        parts = ", ".join(
            f"shard {k + 1} {ended[k]:.1f}s (expected {expected[k]:.1f}s)" for k in ended
        )
        store = store_seconds() - store
        print(
            f"    {parts}, verdict {verdict.seconds:.1f}s: {wall:.1f}s "
            f"(the store's CPU {store:.1f}s)",
            flush=True,
        )
        return Timed(wall, verdict.ok and not any(codes)), plan


def on_paper(root: Path, select: list[str], target: float, runner_start: float) -> list[str]:
    """Predicted walls and runner-minutes for each count, from the copy's recorded history."""
    sys.path.insert(0, str(root / "ci" / "src"))
    from acme_ci.native.discover import load_workspace
    from acme_ci.native.runner import SelectionRequest
    from acme_ci.native.sharding import shard_plan_for

    request = SelectionRequest(
        all="--all" in select,
        packages=tuple(select[i + 1] for i, flag in enumerate(select) if flag == "--package"),
    )
    ws = load_workspace(root)
    lines = [
        f"{'shards':>6} {'work':>8} {'wall':>8} {'longest step':>13} {'runner-minutes':>15}",
    ]
    for count in PAPER_SHARDS:
        plan = shard_plan_for(root, ws, request, count=count, target=target)
        wall = max(shard.expected for shard in plan.shards)
        longest = max((plan.expected[s.id] for s in plan.plan.steps), default=0.0)
        minutes = sum(math.ceil((runner_start + s.expected) / 60) for s in plan.shards)
        lines.append(
            f"{count:>6} {plan.work:>7.1f}s {wall:>7.1f}s {longest:>12.1f}s {minutes:>15d}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--shards", type=int, default=2, help="N for (a) and (c)")
    parser.add_argument("--select", default="--all", help="selection flags, e.g. '--package x'")
    parser.add_argument("--target", type=float, default=60.0, help="--shard-target")
    parser.add_argument("--runner-start", type=float, default=RUNNER_START)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    print(f"shard benchmark: median of {args.runs} runs, {args.select}", flush=True)
    if shutil.which("taskset") is None:
        parser.error("taskset (util-linux) is needed to confine each process to one core")
    bootstrapped = args.repo / ".acme" / "bootstrap" / "bin"  # where ./pipeline.sh puts uv
    if shutil.which("uv") is None and (bootstrapped / "uv").exists():
        os.environ["PATH"] = f"{bootstrapped}{os.pathsep}{os.environ.get('PATH', '')}"
    if shutil.which("uv") is None:
        # The acme-ci suite runs uv: without it every run fails, and its walls mean nothing.
        parser.error("uv is not on PATH (and ./pipeline.sh has not bootstrapped it): "
                     "run ./pipeline.sh once, or install uv")  # fmt: skip
    select = args.select.split()

    os.environ["ACME_CACHE_SIGNING_KEY"] = "bench"
    server = start_moto(BUCKET)
    try:
        with tempfile.TemporaryDirectory(prefix="acme-shard-bench-") as tmp:
            root = Path(tmp) / "repo"
            print(f"copying {args.repo} to {root} ...", flush=True)
            copy_repository(args.repo.resolve(), root)
            bench = Bench(root, args.shards, select, args.target)
            cold_one: list[Timed] = []
            cold_sharded: list[Timed] = []
            for i in range(args.runs):
                print(f"(a) cold, unsharded on one core, run {i + 1} ...", flush=True)
                clear_local(root)
                cold_one.append(bench.unsharded(f"one-cold-{i}"))
                print(f"(a) cold, {args.shards} shards on a core each, run {i + 1} ...", flush=True)
                clear_local(root)
                cold_sharded.append(bench.sharded(f"cold-{i}")[0])
            report("(a) cold", cold_one, cold_sharded, args.shards)
            paper = on_paper(root, select, args.target, args.runner_start)
            print(f"\n(b) on paper, from the recorded durations (target {args.target:g}s, "
                  f"runner start {args.runner_start:g}s):")  # fmt: skip
            for line in paper:
                print(f"  {line}", flush=True)
            warm_one: list[Timed] = []
            warm_sharded: list[Timed] = []
            print("(c) filling the caches ...", flush=True)
            bench.unsharded("one-warm")
            bench.sharded("warm")
            for i in range(args.runs):
                print(f"(c) warm run {i + 1} ...", flush=True)
                warm_one.append(bench.unsharded("one-warm"))
                warm_sharded.append(bench.sharded("warm")[0])
            report("(c) warm", warm_one, warm_sharded, args.shards)
    finally:
        server.stop()
    return 0


def report(title: str, one: list[Timed], sharded: list[Timed], shards: int) -> None:
    single = statistics.median(t.seconds for t in one)
    split = statistics.median(t.seconds for t in sharded)
    failures = sum(not t.ok for t in one), sum(not t.ok for t in sharded)
    failed = (
        f"  (FAILED runs, figures not comparable: {failures[0]} unsharded, {failures[1]} sharded)"
        if any(failures)
        else ""
    )
    print(
        f"\n{title}: unsharded on one core {single:.2f}s; {shards} shards on a core each, "
        f"verdict included, {split:.2f}s; sharded / unsharded {split / single:.2f}{failed}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
