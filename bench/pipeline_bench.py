"""Benchmark: the original shell pipeline vs `acme-ci ci`, side by side in one run.

In a temporary copy of the repository (a local `git clone` plus the uncommitted files, with
its own environment from `uv sync --frozen`), measure the median of --runs runs of:

  baseline   the original pipeline: build every package, build every package again, then
             test each package one after another (no cache, no selection, no parallelism)
  acme-ci    `acme-ci ci` in four scenarios: cold (empty cache, all packages), warm (no
             change), one service changed, one shared library changed

and print, per scenario, both times, the ratio, the steps run vs cached and the run's
critical-path lower bound (the longest chain of steps that actually ran).

    uv run --frozen python bench/pipeline_bench.py [--runs 3] [--jobs N] [--repo PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SERVICE_DIR = "services/user"
LIBRARY_DIR = "common/logger"


@dataclass(frozen=True)
class Sample:
    seconds: float
    ran: int
    cached: int
    critical: float
    ok: bool


def sh(command: Sequence[str], cwd: Path, *, check: bool = True) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_STEP_SUMMARY", "VIRTUAL_ENV")}
    done = subprocess.run(
        list(command), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if check and done.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(command)}` failed in {cwd} ({done.returncode})")
    return done.returncode


def copy_repository(source: Path, target: Path) -> None:
    """A clone with history (affected selection needs it) plus uncommitted and untracked files."""
    sh(["git", "clone", "--quiet", "--no-hardlinks", str(source), str(target)], source)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "-m", "-o", "--exclude-standard"],
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (source / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name)
    sh(["git", "add", "-A"], target)
    sh(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
        "commit", "--quiet", "--allow-empty", "-m", "bench: working tree"], target)  # fmt: skip
    sh(["uv", "sync", "--frozen", "--all-packages", "--quiet"], target)


def packages(root: Path) -> list[tuple[str, str]]:
    """(name, dir) of every member, read through acme-ci's own workspace loader."""
    sys.path.insert(0, str(root / "ci" / "src"))
    from acme_ci.native.discover import load_workspace

    return [(p.name, p.path) for p in load_workspace(root).packages]


def baseline(root: Path) -> Sample:
    """The original pipeline, step for step: build all, build all again, test one by one."""
    members = packages(root)
    started = time.monotonic()
    ok = True
    for _ in range(2):
        for name, _path in members:
            ok &= sh(["uv", "build", "--package", name, "--out-dir", f"dist/{name}",
                      "--quiet"], root, check=False) == 0  # fmt: skip
    python = str(root / ".venv" / "bin" / "python")
    for _name, path in members:
        ok &= (
            sh([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], root / path, check=False)
            == 0
        )
    return Sample(time.monotonic() - started, 2 * len(members) + len(members), 0, 0.0, ok)


def acme_ci(root: Path, jobs: int, *flags: str) -> Sample:
    report = root / ".acme" / "bench-report.json"
    command = [str(root / ".venv" / "bin" / "acme-ci"), "ci", "--engine", "native",
               "--jobs", str(jobs), "--report", str(report), *flags]  # fmt: skip
    started = time.monotonic()
    code = sh(command, root, check=False)
    seconds = time.monotonic() - started
    data = json.loads(report.read_text())
    steps = data["steps"]
    return Sample(
        seconds,
        sum(1 for s in steps if s["status"] in ("passed", "failed")),
        sum(1 for s in steps if s["status"] == "cached"),
        float(data["critical_path"]["duration"]),
        code == 0,
    )


def touch(root: Path, directory: str, counter: list[int]) -> None:
    """A real source change (a new module) in `directory`, different every time."""
    counter[0] += 1
    src = next(p for p in (root / directory / "src").iterdir() if p.is_dir())
    (src / "_bench_change.py").write_text(
        f'"""Benchmark change {counter[0]}."""\n\nN = {counter[0]}\n'
    )


def clear_cache(root: Path) -> None:
    shutil.rmtree(root / ".acme" / "cache", ignore_errors=True)


def median(samples: list[Sample]) -> Sample:
    middle = sorted(samples, key=lambda s: s.seconds)[len(samples) // 2]
    return Sample(
        statistics.median(s.seconds for s in samples),
        middle.ran,
        middle.cached,
        middle.critical,
        all(s.ok for s in samples),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="acme-bench-") as tmp:
        root = Path(tmp) / "repo"
        print(f"copying {args.repo} to {root} ...", flush=True)
        copy_repository(args.repo.resolve(), root)
        counter = [0]

        def run(prepare: Callable[[], None], *flags: str) -> Sample:
            samples = []
            for _ in range(args.runs):
                prepare()
                samples.append(acme_ci(root, args.jobs, *flags))
            return median(samples)

        def warm_then(directory: str) -> Callable[[], None]:
            def prepare() -> None:
                acme_ci(root, args.jobs, "--all")  # everything else cached
                touch(root, directory, counter)

            return prepare

        print(f"baseline x{args.runs} ...", flush=True)
        base = median([baseline(root) for _ in range(args.runs)])
        scenarios = {
            "cold": run(lambda: clear_cache(root), "--all"),
            "warm": run(lambda: None, "--all"),
            f"one service ({SERVICE_DIR})": run(warm_then(SERVICE_DIR), "--base", "HEAD"),
            f"one library ({LIBRARY_DIR})": run(warm_then(LIBRARY_DIR), "--base", "HEAD"),
        }

    print(f"\npipeline benchmark: median of {args.runs} runs, --jobs {args.jobs}")
    print(f"baseline (build x2 + sequential tests): {base.seconds:.1f}s"
          f"{'' if base.ok else ' (some builds/tests failed)'}")  # fmt: skip
    for name, s in scenarios.items():
        ratio = base.seconds / s.seconds if s.seconds else float("inf")
        print(
            f"{name:<30} baseline {base.seconds:6.1f}s  acme-ci {s.seconds:6.2f}s  "
            f"ratio {ratio:6.1f}x  steps run {s.ran:2d} cached {s.cached:2d}  "
            f"critical path {s.critical:5.1f}s{'' if s.ok else '  (ci failed)'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
