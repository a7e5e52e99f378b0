"""Benchmark: `acme-ci ci` vs Turborepo (`turbo run`) on the same steps, side by side.

In a temporary clone (see pipeline_bench.copy_repository), generate what Turborepo needs:
a root package.json (npm workspaces = the uv workspace members), one package.json per
member whose `lint`, `test` and `build` scripts are acme-ci's own plan argv (the same
commands, in the same venv), and a turbo.json whose inputs are, as acme-ci's keys are, each
package's files plus (for lint and test) its internal dependencies' sources (what git
ignores there left out, as acme-ci's key does: their outputs and tool caches change on
every run), `uv.lock` and the root manifest, with `build` needing its own `lint` and `test`
and its dependencies' `test`. Turbo's task hash also includes the hashes of the tasks it
depends on, so a dependency change re-runs a dependent's build there whatever its inputs.
Both tools run with 2-way concurrency and their own local cache; turbo's tasks get the TLS
certificate variables `uv build` needs through `globalPassThroughEnv`.

Scenarios, each the median of --runs runs, ours and turbo's alternating: cold (empty
caches), warm (no change), one service changed, the shared library changed; before the
last three both caches are filled, turbo's by as many runs as it takes to run nothing. Turbo is
installed with npm into a temporary directory, pinned to TURBO_VERSION; without node or
npm the script says so and measures ours only.

    uv run --frozen python bench/turbo_compare.py [--runs 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline_bench import (  # a sibling script, not a package
    LIBRARY_DIR,
    SERVICE_DIR,
    Sample,
    acme_ci,
    copy_repository,
    touch,
)

TURBO_VERSION = "2.11.11"
# What `uv build` (and pip, requests) need to trust the network's certificates.
PASS_THROUGH_ENV = [
    "HOME",
    "PATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "UV_CACHE_DIR",
    "UV_NATIVE_TLS",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
]
TASKS = ("lint", "test", "build")


def install_turbo(directory: Path) -> Path | None:
    """turbo@TURBO_VERSION installed with npm under `directory`; None without node/npm."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("turbo: node or npm is missing: the peer is skipped", flush=True)
        return None
    subprocess.run(
        ["npm", "install", "--prefix", str(directory), "--no-audit", "--no-fund",
         "--silent", f"turbo@{TURBO_VERSION}"],
        check=True,
    )  # fmt: skip
    return directory / "node_modules" / ".bin" / "turbo"


def generate_turbo_files(root: Path) -> None:
    """package.json files and turbo.json from acme-ci's own plan of every package."""
    sys.path.insert(0, str(root / "ci" / "src"))
    from acme_ci.core.affected import select_all
    from acme_ci.core.plan import make_plan
    from acme_ci.native.discover import load_workspace

    ws = load_workspace(root)
    plan = make_plan(ws, select_all(ws, "turbo"))
    ignored = ignored_patterns(root)
    venv_bin = root / ".venv" / "bin"
    npm = subprocess.run(["npm", "--version"], capture_output=True, text=True, check=True)
    root_package = {
        "name": "acme-monorepo",
        "private": True,
        "packageManager": f"npm@{npm.stdout.strip()}",
        "workspaces": [p.path for p in ws.packages],
    }
    (root / "package.json").write_text(json.dumps(root_package, indent=2) + "\n")
    tasks: dict[str, dict[str, object]] = {
        "lint": {"outputs": []},
        "test": {"outputs": ["junit.xml"]},
        "build": {"dependsOn": ["lint", "test", "^test"], "outputs": ["dist/**"]},
    }
    for package in ws.packages:
        scripts = {}
        for task in TASKS:
            step = plan.get(f"{package.name}:{task}")
            commands = []
            for argv in step.commands:
                argv = tuple(_local_output(arg, package.path) for arg in argv)
                commands.append(shlex.join(argv))
            env = " ".join(f"{k}={shlex.quote(v)}" for k, v in step.env)
            prefix = f"export PATH={shlex.quote(str(venv_bin))}:$PATH VIRTUAL_ENV={root}/.venv"
            where = f"cd {shlex.quote(str(root))} && " if step.workdir == "." else ""
            scripts[task] = f"{prefix} {env}; {where}" + " && ".join(commands)
        dependencies = {d: "*" for d in ws.get(package.name).dependencies}
        manifest = {"name": package.name, "version": "0.0.0", "private": True,
                    "scripts": scripts, "dependencies": dependencies}  # fmt: skip
        (root / package.path / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        sources = []
        for dependency in ws.dependencies_closure(package.name):
            path = ws.get(dependency).path
            sources += [f"$TURBO_ROOT$/{path}/**", *_ignored(ignored, f"$TURBO_ROOT$/{path}")]
        for task in TASKS:
            # As acme-ci keys them: a build on its own package only (turbo still adds the
            # hashes of the tasks it dependsOn), lint and test on the dependencies' too.
            inputs = ["$TURBO_DEFAULT$"] if task == "build" else ["$TURBO_DEFAULT$", *sources]
            tasks[f"{package.name}#{task}"] = {**tasks[task], "inputs": inputs}
    turbo = {
        "$schema": "https://turborepo.com/schema.json",
        "globalDependencies": ["uv.lock", "pyproject.toml"],
        "globalPassThroughEnv": PASS_THROUGH_ENV,
        "tasks": tasks,
    }
    (root / "turbo.json").write_text(json.dumps(turbo, indent=2) + "\n")
    with (root / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("node_modules/\n.turbo/\n**/junit.xml\n")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
         "commit", "-q", "-m", "turbo files"], cwd=root, check=True,
    )  # fmt: skip


def ignored_patterns(root: Path) -> list[str]:
    """What git ignores (the root .gitignore), plus turbo's own junit.xml outputs."""
    patterns = ["junit.xml"]
    for line in (root / ".gitignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line.lstrip("/"))
    return patterns


def _ignored(patterns: list[str], prefix: str) -> list[str]:
    """Negated globs for `patterns` under `prefix` (outputs, caches, junit.xml).

    acme-ci keys a step on the files git lists; turbo's explicit globs would also hash the
    dependency's build outputs and tool caches, which every run rewrites (a warm run would
    then miss).
    """
    negated = []
    for pattern in patterns:
        if pattern.endswith("/"):
            negated.append(f"!{prefix}/**/{pattern.rstrip('/')}/**")
        else:
            negated.append(f"!{prefix}/**/{pattern}")
    return negated


def _local_output(arg: str, package_dir: str) -> str:
    """Outputs inside the package, where turbo caches them (ours go under the root)."""
    if arg.startswith("--junitxml="):
        return "--junitxml=junit.xml"
    if arg.startswith("dist/"):
        return f"{package_dir}/dist"
    return arg


def run_turbo(turbo: Path, root: Path, jobs: int) -> Sample:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "GITHUB_STEP_SUMMARY")}
    env.update(TURBO_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1", TURBO_NO_UPDATE_NOTIFIER="1")
    started = time.monotonic()
    done = subprocess.run(
        [str(turbo), "run", *TASKS, f"--concurrency={jobs}", "--output-logs=errors-only"],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    found = re.search(r"Cached:\s+(\d+) cached, (\d+) total", done.stdout)
    cached, total = (int(found[1]), int(found[2])) if found else (0, 0)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n", flush=True)
    return Sample(seconds, total - cached, cached, 0.0, done.returncode == 0)


def fill_turbo(turbo: Path, root: Path, jobs: int, attempts: int = 4) -> list[Sample]:
    """turbo's runs until one runs nothing: here its cache needs two or three runs to
    settle after a cold one (a re-run of 6 to 15 tasks), which would otherwise land in
    the first measured runs of the next scenario."""
    runs: list[Sample] = []
    while len(runs) < attempts:
        runs.append(run_turbo(turbo, root, jobs))
        if runs[-1].ran == 0:
            break
    return runs


def clear_caches(root: Path) -> None:
    shutil.rmtree(root / ".acme" / "cache", ignore_errors=True)
    shutil.rmtree(root / ".turbo" / "cache", ignore_errors=True)


def runs_text(samples: list[Sample]) -> str:
    """Every run as seconds (steps run), e.g. `13.53s (3), 23.07s (3)`."""
    return ", ".join(f"{s.seconds:.2f}s ({s.ran})" for s in samples) or "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--scenarios", default="cold,warm,service,library")
    args = parser.parse_args(argv)
    wanted = args.scenarios.split(",")

    with tempfile.TemporaryDirectory(prefix="acme-turbo-") as tmp:
        root = Path(tmp) / "repo"
        print(f"copying {args.repo} to {root} ...", flush=True)
        copy_repository(args.repo.resolve(), root)
        turbo = install_turbo(Path(tmp) / "turbo")
        if turbo is not None:
            generate_turbo_files(root)
        counter = [1000]
        prepare: dict[str, Callable[[], None]] = {
            "cold": lambda: clear_caches(root),
            "warm": lambda: None,
            "service": lambda: touch(root, SERVICE_DIR, counter),
            "library": lambda: touch(root, LIBRARY_DIR, counter),
        }
        titles = {
            "cold": "cold, all steps",
            "warm": "warm, no change",
            "service": f"one service changed ({SERVICE_DIR})",
            "library": f"shared library changed ({LIBRARY_DIR})",
        }
        rows: list[tuple[str, list[Sample], list[Sample]]] = []
        for scenario in wanted:
            ours: list[Sample] = []
            theirs: list[Sample] = []
            if scenario != "cold":  # both caches hold the current tree first
                print(f"{scenario}: filling both caches ...", flush=True)
                fill = acme_ci(root, args.jobs, "--all")
                fills = fill_turbo(turbo, root, args.jobs) if turbo is not None else []
                print(f"  fill: acme-ci {fill.seconds:.1f}s ({fill.ran} run)"
                      f"{f'; turbo {runs_text(fills)}' if fills else ''}", flush=True)  # fmt: skip
            for i in range(args.runs):
                prepare[scenario]()  # one change (or clear), then both tools see it
                print(f"{scenario} {i + 1}/{args.runs} ...", flush=True)
                ours.append(acme_ci(root, args.jobs, "--all"))
                if turbo is not None:
                    theirs.append(run_turbo(turbo, root, args.jobs))
            rows.append((titles[scenario], ours, theirs))
            print(f"  {titles[scenario]}: acme-ci {runs_text(ours)}; turbo {runs_text(theirs)}",
                  flush=True)  # fmt: skip

    print(f"\nacme-ci vs turbo {TURBO_VERSION}: median of {args.runs}, concurrency {args.jobs}")
    print(
        f"{'scenario':<44} {'acme-ci':>9} {'turbo':>9} {'ours/turbo':>10}  steps run (ours/turbo)"
    )
    for title, ours, theirs in rows:
        mine = statistics.median(s.seconds for s in ours)
        if theirs:
            peer = statistics.median(s.seconds for s in theirs)
            ran = f"{ran_text(ours)}/{ran_text(theirs)}"
            ok = "" if all(s.ok for s in ours + theirs) else "  (a run failed)"
            print(f"{title:<44} {mine:8.2f}s {peer:8.2f}s {mine / peer:9.2f}x  {ran}{ok}")
        else:
            print(f"{title:<44} {mine:8.2f}s {'-':>9} {'-':>10}  {ran_text(ours)}/-")
    print("\nevery run, seconds (steps run):")
    for title, ours, theirs in rows:
        print(f"  {title}\n    acme-ci {runs_text(ours)}\n    turbo   {runs_text(theirs)}")
    return 0


def ran_text(samples: list[Sample]) -> str:
    """The steps each run ran: one number when every run ran as many, else the range."""
    counts = sorted({s.ran for s in samples})
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


if __name__ == "__main__":
    sys.exit(main())
