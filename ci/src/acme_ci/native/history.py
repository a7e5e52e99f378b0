"""Step durations from earlier runs, under .acme/durations.json: the scheduler's expectations;
and each test suite's seconds per test file, under .acme/test-durations/<package>.json: how
a sharded run splits a long suite.

Each run folds the durations of the steps it really ran (cache hits cost nothing and say
nothing) into a moving average per step id, so one slow run does not reorder everything;
the seconds of each test file (from the JUnit report of every test step it ran, a group of
a split suite included) and the suite's start-up overhead likewise. The files are replaced
atomically; when two runs race, the last one's view wins, which only costs a slightly older
expectation.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from acme_ci.core.plan import Plan
from acme_ci.core.scheduler import RunResult, StepResult
from acme_ci.core.test_groups import NODE_SEP, SuiteTiming, current_tests
from acme_ci.native.atomic import replace_text
from acme_ci.native.git import listed_files

FILE_NAME = "durations.json"
TEST_DURATIONS_DIR = "test-durations"
# Weight of the newest measurement in the moving average.
WEIGHT = 0.5


def load_durations(state: Path) -> dict[str, float]:
    """Expected seconds per step id; empty when never recorded or unreadable."""
    try:
        data = json.loads((state / FILE_NAME).read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def record_durations(state: Path, run: RunResult) -> None:
    """Fold the steps this run executed (passed or failed) into the stored averages; a run
    that executed none (all cached, or all blocked) leaves the file as it is."""
    executed = [r for r in run.results if r.status in ("passed", "failed")]
    if not executed:
        return
    durations = load_durations(state)
    for result in executed:
        durations[result.step_id] = _fold(durations.get(result.step_id), result.duration)
    state.mkdir(parents=True, exist_ok=True)
    rounded = {k: round(v, 3) for k, v in sorted(durations.items())}
    replace_text(state / FILE_NAME, json.dumps(rounded, indent=1))


def _fold(old: float | None, new: float) -> float:
    return new if old is None else WEIGHT * new + (1 - WEIGHT) * old


def load_test_timing(state: Path, package: str, present: Collection[str]) -> SuiteTiming | None:
    """The package's suite timing (its files and overhead), its files limited to those
    `present` (a test file deleted since is never named to pytest); None when never
    recorded or unreadable."""
    timing = _read_timing(_timing_path(state, package))
    if timing is None:
        return None
    return SuiteTiming(
        {k: v for k, v in timing.files.items() if k in present},
        timing.overhead,
        cut=timing.cut,
        cut_for=timing.cut_for,
    )


def load_test_seconds(state: Path, package: str, present: Collection[str]) -> dict[str, float]:
    """The package's seconds per test (node id), those of files `present` only; kept beside
    its timing, read only where a suite may be split test by test."""
    timing = _read_timing(_timing_path(state, package))
    if timing is None:
        return {}
    return {k: v for k, v in timing.tests.items() if k.partition(NODE_SEP)[0] in present}


def _timing_path(state: Path, package: str) -> Path:
    return state / TEST_DURATIONS_DIR / f"{package}.json"


def _read_timing(path: Path) -> SuiteTiming | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = {str(k): float(v) for k, v in data["files"].items()}
        tests = {str(k): float(v) for k, v in data.get("tests", {}).items()}
        cut = tuple(tuple(str(unit) for unit in group) for group in data.get("cut", ()))
        return SuiteTiming(files, float(data["overhead"]), tests, cut, str(data.get("cut_for", "")))
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return None


def record_test_timings(
    state: Path,
    root: Path,
    plan: Plan,
    results: Sequence[StepResult],
    python_files: Mapping[str, Collection[str]],
    cuts: Mapping[str, tuple[tuple[str, ...], ...]] | None = None,
    cut_for: str = "",
) -> None:
    """Fold the seconds per file and per test of every test step `results` ran (passed or
    failed, with a readable JUnit report) into the package's record. `python_files` are
    each package's files, relative to it (what a classname may name); `cuts`, a verdict's
    split suites' cuts by package (acme_ci.core.shard_history.suite_cuts), made for
    `cut_for` (the shard plan's), replace the recorded ones."""
    from xml.etree.ElementTree import ParseError  # here: only a run that tested parses XML

    from acme_ci.core.test_groups import seconds_per_test, suite_measurements, suite_timing

    measured: dict[str, SuiteTiming] = {}
    for result in results:
        step = plan.get(result.step_id)
        if step.task != "test" or result.status not in ("passed", "failed") or not step.junit_path:
            continue
        try:
            text = (root / step.junit_path).read_text(encoding="utf-8")
            files = python_files.get(step.package, ())
            timing = suite_timing(text, result.duration, files, step.workdir)
            tests = seconds_per_test(text, files, step.workdir)
        except (OSError, ParseError):
            continue
        measured[step.id] = SuiteTiming(timing.files, timing.overhead, tests)
    for package, suite in suite_measurements(plan, measured).items():
        cut = (cuts or {}).get(package)
        _fold_timing(state, package, suite, None if cut is None else (cut, cut_for))


def _fold_timing(
    state: Path,
    package: str,
    measured: SuiteTiming,
    cut: tuple[tuple[tuple[str, ...], ...], str] | None,
) -> None:
    path = _timing_path(state, package)
    old = _read_timing(path) or SuiteTiming({}, measured.overhead)
    data = {
        "overhead": round(_fold(old.overhead, measured.overhead), 3),
        "files": _folded(old.files, measured.files),
        "tests": _folded(current_tests(old.tests, measured), measured.tests),
        "cut": [list(group) for group in (old.cut if cut is None else cut[0])],
        "cut_for": old.cut_for if cut is None else cut[1],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_text(path, json.dumps(data, indent=1))


def _folded(old: Mapping[str, float], new: Mapping[str, float]) -> dict[str, float]:
    """`old` with each of `new`'s seconds folded in, rounded to the millisecond."""
    merged = dict(old)
    for name, seconds in new.items():
        merged[name] = _fold(merged.get(name), seconds)
    return {k: round(v, 3) for k, v in sorted(merged.items())}


def package_sizes(
    root: Path, plan: Plan, files: Sequence[str] | None = None
) -> dict[str, int] | None:
    """The bytes of each planned package's files (by default git's tracked and unignored
    files; a caller that listed them passes its list); None outside a repository without
    a list."""
    # A package's directory is its lint and test steps' workdir; a build runs from the
    # root (workdir "."), which would otherwise count the whole repository as its size.
    package_dir: dict[str, str] = {}
    for step in plan.steps:
        if step.workdir not in ("", "."):
            package_dir[step.package] = step.workdir
        else:
            package_dir.setdefault(step.package, ".")
    if files is None:
        files = listed_files(root, sorted(set(package_dir.values())))
        if files is None:
            return None
    sizes: dict[str, int] = {}
    for directory in set(package_dir.values()):
        prefix = "" if directory == "." else directory.rstrip("/") + "/"
        sizes[directory] = sum(_size(root / f) for f in files if f.startswith(prefix))
    return {package: sizes[directory] for package, directory in package_dir.items()}


def biggest_packages_first(
    root: Path,
    plan: Plan,
    expected: Mapping[str, float],
    files: Sequence[str] | None = None,
) -> tuple[str, ...]:
    """The scheduler's prior for steps never run here (a fresh clone has no durations): the
    plan's steps, those whose package holds the most bytes of `files` first (see
    package_sizes). Size is all a first run knows, and the longest suite is usually the
    biggest package's; starting it last is what makes a first run slow. Empty when every
    step has a duration, or outside a repository without a list."""
    if all(step.id in expected for step in plan.steps):
        return ()
    sizes = package_sizes(root, plan, files)
    if sizes is None:
        return ()
    ranked = sorted(plan.steps, key=lambda step: -sizes[step.package])
    return tuple(step.id for step in ranked)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
