"""Mutation testing: how many deliberate bugs in the core modules the tests catch.

mutmut (3.x) rewrites each function of the configured modules into many small variants
(`<` for `<=`, a dropped argument, another constant...) and runs, for each variant, only
the tests that cover that function. A variant the tests fail on is *killed*; one they pass
on has *survived*: a behaviour nothing asserts, or an equivalent mutant (the same
behaviour written differently), listed with its reason in the package's
`mutation-equivalent.md`.

Which packages and modules: every workspace member with a `[tool.mutmut]` table in its
pyproject.toml (`only_mutate` names the modules, `pytest_add_cli_args_test_selection` the
fast tests that may kill them). Each package runs in a fresh copy under
`.acme/mutation/<package dir>/` (so concurrent edits of the tree cannot disturb a run, and
`mutmut show NAME` works there afterwards), taken from the working tree or from `--rev`.

    .venv/bin/python bench/mutation.py                      # every configured package
    .venv/bin/python bench/mutation.py --package ci --module 'acme_ci.core.verdict*'
    .venv/bin/python bench/mutation.py --rev HEAD           # what is committed
    .venv/bin/python bench/mutation.py --max-children 1     # fewer CPUs
    .venv/bin/python bench/mutation.py --package ci --report-only   # score the last run again

Prints, per module: killed, survived, equivalent, no tests, total and the score
(killed / (total - equivalent)), then every surviving mutant that is not listed as
equivalent. Exit 1 if a module scores below --min-score (default 90), 2 on a setup error.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".acme" / "mutation"
EQUIVALENT_FILE = "mutation-equivalent.md"
# What a package copy needs: mutmut reads its config from pyproject.toml in the cwd.
COPIED = ("pyproject.toml", "src", "tests", EQUIVALENT_FILE)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "mutants")
# `mutmut results --all true` prints "    <module>.<function>__mutmut_<n>: <status>".
RESULT_LINE = re.compile(r"^\s+(\S+__mutmut_\d+): (.+)$")
# mutmut names functions x_<name> and methods xǁ<Class>ǁ<name>, after the dotted module.
MODULE_OF = re.compile(r"^(.*)\.x[_ǁ]")
# An equivalent-mutant entry: "- `<mutant name>`: <why no test can tell it apart>".
EQUIVALENT_ENTRY = re.compile(r"^\s*[-*]\s+`([^`]+__mutmut_\d+)`\s*:?\s*(.*)$")
DETECTED = {"killed", "timeout", "caught by type check"}


class SetupError(Exception):
    """The run cannot start: no configured package, an unknown one, a failed copy."""


@dataclass
class ModuleScore:
    module: str
    statuses: Counter[str] = field(default_factory=Counter)
    survivors: list[str] = field(default_factory=list)
    equivalent: int = 0

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def killed(self) -> int:
        return sum(n for s, n in self.statuses.items() if s in DETECTED)

    @property
    def score(self) -> float:
        judged = self.total - self.equivalent
        return 100.0 * self.killed / judged if judged else 100.0


def configured_packages() -> dict[str, Path]:
    """Workspace members (by directory) whose pyproject.toml has a [tool.mutmut] table."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = root["tool"]["uv"]["workspace"]["members"]
    found: dict[str, Path] = {}
    for pattern in patterns:
        for member in sorted(glob.glob(str(ROOT / pattern))):
            manifest = Path(member) / "pyproject.toml"
            if manifest.is_file():
                data = tomllib.loads(manifest.read_text(encoding="utf-8"))
                if "mutmut" in data.get("tool", {}):
                    found[Path(member).relative_to(ROOT).as_posix()] = Path(member)
    return found


def snapshot(package_dir: str, rev: str | None) -> Path:
    """A fresh copy of the package (working tree, or `rev`) under .acme/mutation/."""
    target = WORK / package_dir
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if rev is None:
        for name in COPIED:
            source = ROOT / package_dir / name
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=IGNORED)
            elif source.is_file():
                shutil.copy2(source, target / name)
        return target
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "--", *(f"{package_dir}/{n}" for n in COPIED)],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        # git archive refuses a pathspec that matches nothing (no equivalent file yet).
        archive = subprocess.run(
            ["git", "archive", "--format=tar", rev, "--", package_dir],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
    if archive.returncode != 0:
        raise SetupError(f"git archive {rev} {package_dir}: {archive.stderr.decode().strip()}")
    prefix = package_dir + "/"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        for member in tar.getmembers():
            relative = member.name.removeprefix(prefix)
            if member.name.startswith(prefix) and relative.split("/")[0] in COPIED:
                member.name = relative
                tar.extract(member, target, filter="data")
    return target


def run_mutmut(workdir: Path, names: Sequence[str], max_children: int) -> None:
    """`mutmut run` in the copy; its chatty progress goes to mutmut.log there."""
    mutmut = Path(sys.executable).with_name("mutmut")
    log = workdir / "mutmut.log"
    # bench/ on the path for the plugin that trims property tests (mutation_hypothesis.py).
    path = os.pathsep.join(p for p in (str(ROOT / "bench"), os.environ.get("PYTHONPATH")) if p)
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": path,
        "PYTEST_PLUGINS": "mutation_hypothesis",
    }
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(
            [str(mutmut), "run", "--max-children", str(max_children), *names],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        raise SetupError(
            f"mutmut run failed in {workdir} (exit {done.returncode}):\n" + "\n".join(tail)
        )


def results(workdir: Path) -> dict[str, str]:
    """Every mutant's status, by name."""
    mutmut = Path(sys.executable).with_name("mutmut")
    done = subprocess.run(
        [str(mutmut), "results", "--all", "true"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    return {m[1]: m[2].strip() for m in map(RESULT_LINE.match, done.stdout.splitlines()) if m}


def equivalent_mutants(workdir: Path) -> dict[str, str]:
    """The package's listed equivalent mutants, name -> reason."""
    path = workdir / EQUIVALENT_FILE
    if not path.is_file():
        return {}
    entries = map(EQUIVALENT_ENTRY.match, path.read_text(encoding="utf-8").splitlines())
    return {m[1]: m[2] for m in entries if m}


def score(statuses: dict[str, str], equivalent: dict[str, str]) -> dict[str, ModuleScore]:
    modules: dict[str, ModuleScore] = {}
    for name, status in sorted(statuses.items()):
        match = MODULE_OF.match(name)
        module = modules.setdefault(
            match[1] if match else "?", ModuleScore(match[1] if match else "?")
        )
        module.statuses[status] += 1
        if status == "not checked":  # an unfinished run (--report-only while it runs)
            continue
        if status not in DETECTED:
            if name in equivalent:
                module.equivalent += 1
            else:
                module.survivors.append(f"{name}: {status}")
    return modules


def report(package: str, modules: Iterable[ModuleScore], stale: Sequence[str]) -> list[str]:
    lines = [f"== {package}"]
    columns = ("killed", "survived", "equiv", "no tests", "total", "score")
    if any(m.statuses["not checked"] for m in modules):
        lines.append("  (run unfinished: 'total' includes mutants not checked yet)")
    lines.append(f"  {'module':<44} " + " ".join(f"{c:>8}" for c in columns))
    for m in modules:
        survived = m.statuses["survived"]
        no_tests = m.statuses["no tests"]
        figures = (m.killed, survived, m.equivalent, no_tests, m.total)
        lines.append(
            f"  {m.module:<44} " + " ".join(f"{n:>8}" for n in figures) + f" {m.score:>7.1f}%"
        )
    for m in modules:
        lines.extend(f"  survivor {s}" for s in m.survivors if not s.endswith(": no tests"))
        untested = sorted({_function(s) for s in m.survivors if s.endswith(": no tests")})
        if untested:
            lines.append(f"  no selected test runs: {', '.join(untested)}")
    lines.extend(f"  stale equivalent entry (killed or gone): {s}" for s in stale)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", action="append", help="package directory, e.g. ci")
    parser.add_argument(
        "--module", action="append", help="mutant name glob, e.g. 'acme_ci.core.plan*'"
    )
    parser.add_argument("--rev", help="mutate this git revision instead of the working tree")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--min-score", type=float, default=90.0)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="score the last (possibly unfinished) run's copy again, running nothing",
    )
    args = parser.parse_args(argv)
    try:
        packages = configured_packages()
        chosen = args.package or sorted(packages)
        unknown = sorted(set(chosen) - set(packages))
        if unknown:
            raise SetupError(
                f"no [tool.mutmut] table in {', '.join(unknown)}; configured: {', '.join(packages)}"
            )
        lowest = 100.0
        for package in chosen:
            if args.report_only:
                workdir = WORK / package
                if not (workdir / "mutants").is_dir():
                    raise SetupError(f"no earlier run of {package} under {workdir}")
            else:
                workdir = snapshot(package, args.rev)
                run_mutmut(workdir, args.module or (), args.max_children)
            statuses = results(workdir)
            if args.module:
                statuses = {
                    n: s for n, s in statuses.items() if any(_glob(n, g) for g in args.module)
                }
            equivalent = equivalent_mutants(workdir)
            modules = score(statuses, equivalent)
            stale = sorted(
                n
                for n in equivalent
                if statuses.get(n, "killed") in DETECTED and _chosen(n, args.module)
            )
            print("\n".join(report(package, modules.values(), stale)), flush=True)
            lowest = min([lowest, *(m.score for m in modules.values())])
    except SetupError as error:
        print(f"mutation: {error}", file=sys.stderr)
        return 2
    source = f"revision {args.rev}" if args.rev else "the working tree"
    print(f"(mutated {source}; lowest module score {lowest:.1f}%, threshold {args.min_score:.0f}%)")
    return 0 if lowest >= args.min_score else 1


def _function(survivor: str) -> str:
    return survivor.split(": ")[0].rsplit("__mutmut_", 1)[0]


def _glob(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def _chosen(name: str, patterns: Sequence[str] | None) -> bool:
    return not patterns or any(_glob(name, p) for p in patterns)


if __name__ == "__main__":
    sys.exit(main())
