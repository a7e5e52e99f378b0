"""Benchmark: the original shell pipeline vs `acme-ci ci`, side by side in one run.

In a temporary copy of the repository (a local `git clone` plus the uncommitted files, with
its own environment from `uv sync --frozen`), measure the median of --runs runs of:

  baseline   the original pipeline: build every package, build every package again, then
             test each package one after another (no cache, no selection, no parallelism)
  acme-ci    `acme-ci ci` in four scenarios: cold (empty cache, all packages), warm (no
             change), one service changed, one shared library changed

and print, per scenario, both times, the ratio, the steps run vs cached and the run's
critical-path lower bound (the longest chain of steps that actually ran). The baseline and
the cold run also print their CPU time (user + system of every process they waited for)
and the cold run its work (its steps' durations summed): with J workers no order of those
steps ends before work / J, which bounds the cold ratio this machine allows.

Two more groups, side by side in the same run:

  remote     a moto S3 server on 127.0.0.1 as the remote cache: a cold run fills it, then a
             second clone with an empty local cache runs (a) unchanged: no step should run,
             (b) after a change to one service: only that service's steps should run;
             both against the cold run
  chain      a generated workspace whose longest step sorts last in plan order: wall time
             with --schedule plan-order vs longest-chain (durations recorded by a first run)
  cold-plan-order
             the cold scenario again with --schedule plan-order, to show longest chain first
             is not slower on this repository either

    uv run --frozen python bench/pipeline_bench.py [--runs 3] [--jobs N] [--repo PATH]
        [--scenarios baseline,cold,cold-plan-order,warm,service,library,remote,chain]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVICE_DIR = "services/user"
LIBRARY_DIR = "common/logger"
SCENARIOS = (
    "baseline", "cold", "cold-plan-order", "warm", "service", "library", "remote", "chain"
)  # fmt: skip
BUCKET = "acme-bench-cache"
# The chain workspace: package -> seconds its one test sleeps. "zz-slow" sorts last.
CHAIN_PACKAGES = {"a1": 2.0, "a2": 2.0, "a3": 2.0, "a4": 2.0, "zz-slow": 12.0}


@dataclass(frozen=True)
class Sample:
    seconds: float
    ran: int
    cached: int
    critical: float
    ok: bool
    cpu: float = 0.0  # user + system seconds of the processes the run waited for
    work: float = 0.0  # the durations of the steps that ran, summed


def sh(command: Sequence[str], cwd: Path, *, check: bool = True) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_STEP_SUMMARY", "VIRTUAL_ENV")}
    done = subprocess.run(
        list(command), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if check and done.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(command)}` failed in {cwd} ({done.returncode})")
    return done.returncode


def children_cpu() -> float:
    """User + system seconds of every finished child process (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
    # The environment as pipeline.sh makes it (its sync, bytecode included), as a user has it.
    sh(["./pipeline.sh", "plan", "--all"], target)


def packages(root: Path) -> list[tuple[str, str]]:
    """(name, dir) of every member, read through acme-ci's own workspace loader."""
    sys.path.insert(0, str(root / "ci" / "src"))
    from acme_ci.native.discover import load_workspace

    return [(p.name, p.path) for p in load_workspace(root).packages]


def baseline(root: Path) -> Sample:
    """The original pipeline, step for step: build all, build all again, test one by one."""
    members = packages(root)
    started, cpu = time.monotonic(), children_cpu()
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
    seconds = time.monotonic() - started
    return Sample(seconds, 3 * len(members), 0, 0.0, ok, children_cpu() - cpu)


def acme_ci(root: Path, jobs: int, *flags: str, executable: Path | None = None) -> Sample:
    report = root / ".acme" / "bench-report.json"
    acme = (executable or root) / ".venv" / "bin" / "acme-ci"
    command = [str(acme), "ci", "--runner", "native",
               "--jobs", str(jobs), "--report", str(report), *flags]  # fmt: skip
    started, cpu = time.monotonic(), children_cpu()
    code = sh(command, root, check=False)
    seconds = time.monotonic() - started
    cpu = children_cpu() - cpu
    data = json.loads(report.read_text())
    steps = data["steps"]
    return Sample(
        seconds,
        sum(1 for s in steps if s["status"] in ("passed", "failed")),
        sum(1 for s in steps if s["status"] == "cached"),
        float(data["critical_path"]["duration"]),
        code == 0,
        cpu,
        sum(s["duration"] for s in steps if s["status"] in ("passed", "failed")),
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
        middle.cpu,
        middle.work,
    )


def start_moto(bucket: str) -> Any:
    """A moto S3 server on 127.0.0.1 with `bucket`, this process's AWS settings pointed at it
    (child processes inherit them); stop it with `.stop()`."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL_S3=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    boto3.client("s3").create_bucket(Bucket=bucket)
    return server


def remote_scenarios(
    root: Path, jobs: int, runs: int, tmp: Path, select: Sequence[str] = ("--all",)
) -> dict[str, Sample]:
    """Cold run into a moto S3 cache, then fresh clones served by it."""
    server = start_moto(BUCKET)
    flags = ("--cache-url", f"s3://{BUCKET}/acme", "--cache-scope", "main")
    try:
        print("remote: cold run filling the remote cache ...", flush=True)
        clear_cache(root)
        cold = acme_ci(root, jobs, *select, *flags)
        fresh = tmp / "fresh"
        copy_repository(root, fresh)
        counter = [100]

        def fresh_clone() -> None:
            shutil.rmtree(fresh / ".acme", ignore_errors=True)
            shutil.rmtree(fresh / "dist", ignore_errors=True)

        def fresh_then_service() -> None:
            fresh_clone()
            touch(fresh, SERVICE_DIR, counter)

        results = {"cold, filling the remote cache": cold}
        for name, prepare in (
            ("(a) fresh clone, remote filled", fresh_clone),
            (f"(b) fresh clone, {SERVICE_DIR} changed", fresh_then_service),
        ):
            print(f"remote: {name} x{runs} ...", flush=True)
            samples = []
            for _ in range(runs):
                prepare()
                samples.append(acme_ci(fresh, jobs, *select, *flags))
            results[name] = median(samples)
        return results
    finally:
        server.stop()


def chain_workspace(root: Path, venv: Path) -> None:
    """A workspace of independent packages; the slowest test sorts last in plan order."""
    uv = subprocess.run(["uv", "--version"], capture_output=True, text=True, check=True)
    backend = f"uv_build=={uv.stdout.split()[1]}"  # uv builds it without an isolated env
    files = {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n\n'
        "[tool.ruff]\nline-length = 100\n\n[tool.mypy]\nstrict = true\n",
        ".gitignore": ".venv/\n.acme/\ndist/\n__pycache__/\n",
    }
    for name, seconds in CHAIN_PACKAGES.items():
        module = name.replace("-", "_")
        files[f"packages/{name}/pyproject.toml"] = (
            f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n\n'
            f'[build-system]\nrequires = ["{backend}"]\nbuild-backend = "uv_build"\n\n'
            "[tool.pytest.ini_options]\n"
            'addopts = "--import-mode=importlib -p no:cacheprovider '
            '--disable-plugin-autoload -p rerunfailures"\n'
            'testpaths = ["tests"]\npythonpath = ["src"]\n'
        )
        files[f"packages/{name}/src/{module}/__init__.py"] = f'"""{name}."""\n\nVALUE = 1\n'
        files[f"packages/{name}/tests/test_{module}.py"] = (
            f"import time\n\n\ndef test_it() -> None:\n    time.sleep({seconds})\n"
        )
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / ".venv").symlink_to(venv)
    sh(["git", "init", "-q", "-b", "main"], root)
    sh(["git", "add", "-A"], root)
    sh(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
        "commit", "-q", "-m", "chain"], root)  # fmt: skip


def chain_scenarios(repo: Path, jobs: int, runs: int, tmp: Path) -> dict[str, Sample]:
    """Plan order vs longest chain first, alternating, every step run (--no-cache)."""
    root = tmp / "chain"
    chain_workspace(root, (repo / ".venv").resolve())
    print("chain: recording durations ...", flush=True)
    acme_ci(root, jobs, "--all", "--no-cache", executable=repo)
    samples: dict[str, list[Sample]] = {"plan-order": [], "longest-chain": []}
    for _ in range(runs):
        for schedule, found in samples.items():
            print(f"chain: --schedule {schedule} ...", flush=True)
            found.append(
                acme_ci(root, jobs, "--all", "--no-cache", "--schedule", schedule, executable=repo)
            )
    return {f"longest step last, {name}": median(found) for name, found in samples.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument(
        "--remote-select",
        default="--all",
        help="selection flags of the remote group's runs, e.g. '--package acme-logger'",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    args = parser.parse_args(argv)
    wanted = set(args.scenarios.split(","))
    if wanted - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(wanted - set(SCENARIOS)))}")

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

        # The new groups first: their results print as soon as they are measured.
        chain = chain_scenarios(root, args.jobs, args.runs, Path(tmp)) if "chain" in wanted else {}
        remote = {}
        if "remote" in wanted:
            select = args.remote_select.split()
            remote = remote_scenarios(root, args.jobs, args.runs, Path(tmp), select)
        report_groups(remote, chain)
        base = None
        if "baseline" in wanted:
            print(f"baseline x{args.runs} ...", flush=True)
            base = median([baseline(root) for _ in range(args.runs)])
        scenarios: dict[str, Sample] = {}
        if "cold" in wanted:
            print(f"cold x{args.runs} ...", flush=True)
            scenarios["cold"] = run(lambda: clear_cache(root), "--all")
        if "cold-plan-order" in wanted:  # after `cold`, so both start from recorded durations
            print(f"cold, --schedule plan-order x{args.runs} ...", flush=True)
            scenarios["cold, plan order"] = run(
                lambda: clear_cache(root), "--all", "--schedule", "plan-order"
            )
        if "warm" in wanted:
            scenarios["warm"] = run(lambda: None, "--all")
        if "service" in wanted:
            scenarios[f"one service ({SERVICE_DIR})"] = run(
                warm_then(SERVICE_DIR), "--base", "HEAD"
            )
        if "library" in wanted:
            scenarios[f"one library ({LIBRARY_DIR})"] = run(
                warm_then(LIBRARY_DIR), "--base", "HEAD"
            )

    print(f"\npipeline benchmark: median of {args.runs} runs, --jobs {args.jobs}")
    report_groups(remote, chain)
    if base is not None:
        print(f"baseline (build x2 + sequential tests): {base.seconds:.1f}s, cpu {base.cpu:.1f}s"
              f"{'' if base.ok else ' (some builds/tests failed)'}")  # fmt: skip
    for name, s in scenarios.items():
        line = f"{name:<30} acme-ci {s.seconds:7.2f}s  "
        if base is not None:
            ratio = base.seconds / s.seconds if s.seconds else float("inf")
            line = f"{name:<30} baseline {base.seconds:6.1f}s  acme-ci {s.seconds:7.2f}s  "
            line += f"ratio {ratio:6.1f}x  "
        print(f"{line}{_steps(s)}")
    cold = scenarios.get("cold")
    if base is not None and cold is not None and cold.work > 0:
        floor = cold.work / args.jobs
        print(f"work bound: the cold run's steps took {cold.work:.1f}s in all ({cold.cpu:.1f}s "
              f"of cpu); no order of them on {args.jobs} workers ends before {floor:.1f}s, "
              f"{base.seconds / floor:.2f}x the baseline")  # fmt: skip
    return 0


def report_groups(remote: dict[str, Sample], chain: dict[str, Sample]) -> None:
    if remote:
        cold = remote["cold, filling the remote cache"]
        print("\nremote cache (moto S3 on 127.0.0.1), against the cold run that filled it:")
        for name, s in remote.items():
            ratio = cold.seconds / s.seconds if s.seconds else float("inf")
            print(f"{name:<42} {s.seconds:7.2f}s  cold/this {ratio:6.1f}x  {_steps(s)}")
    if chain:
        plan_order = chain["longest step last, plan-order"]
        print("\nscheduling (every step runs, --no-cache), against plan order:")
        for name, s in chain.items():
            ratio = plan_order.seconds / s.seconds if s.seconds else float("inf")
            print(f"{name:<42} {s.seconds:7.2f}s  plan-order/this {ratio:5.2f}x  {_steps(s)}")


def _steps(s: Sample) -> str:
    return (
        f"steps run {s.ran:2d} cached {s.cached:2d}  critical path {s.critical:5.1f}s"
        f"{'' if s.ok else '  (ci failed)'}"
    )


if __name__ == "__main__":
    sys.exit(main())
