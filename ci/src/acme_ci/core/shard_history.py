"""What earlier runs measured, kept for runners that start with nothing: each step's seconds
and each test suite's seconds per file, folded with what a sharded run's shards measured,
and the JSON document the shared store keeps of it. Pure.

The native shell keeps its history in .acme/ (acme_ci.native.history), which a workflow
carries between runs with actions/cache. A Dagger run has no host .acme/, so its verdict
folds what the shards measured into the history it read from the shared store and writes
it back there, signed, under the scope it may write (the default branch's on a push to
it); `plan --shards` reads it from the scopes the run may read, its own first: the trust
scopes of the step cache (acme_ci.core.remote_cache), so a pull request never changes how
the default branch is cut. The fold is the native one: a moving average in which the
newest measurement weighs WEIGHT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import ParseError

from acme_ci.core.plan import Plan
from acme_ci.core.remote_cache import RemoteLocation
from acme_ci.core.scheduler import StepResult
from acme_ci.core.shards import History, ShardPlan
from acme_ci.core.test_groups import (
    NODE_SEP,
    SuiteTiming,
    current_tests,
    seconds_per_test,
    suite_measurements,
    suite_timing,
)

HISTORY_FORMAT = "acme-ci history 1"
HISTORY_NAME = "history.json"
# Weight of the newest measurement in the moving average (as acme_ci.native.history's).
WEIGHT = 0.5


class HistoryError(ValueError):
    """A stored history that cannot be read."""


def history_object_key(location: RemoteLocation, scope: str) -> str:
    """Where a scope's history lives in the shared store, beside its entries and runs."""
    parts = [location.prefix] if location.prefix else []
    return "/".join([*parts, quote(scope, safe=""), HISTORY_NAME])


def package_python_files(plan: Plan, files: Iterable[str]) -> dict[str, frozenset[str]]:
    """Each tested package's Python files among `files` (root-relative), relative to the
    package (a test step's workdir): what a test timing or a shard plan's group may name."""
    listed = tuple(files)
    found: dict[str, frozenset[str]] = {}
    for step in plan.steps:
        if step.task == "test":
            prefix = "" if step.workdir in ("", ".") else step.workdir.rstrip("/") + "/"
            found[step.package] = frozenset(
                f.removeprefix(prefix) for f in listed if f.startswith(prefix) and f.endswith(".py")
            )
    return found


def for_checkout(
    stored: History, python_files: Mapping[str, frozenset[str]], sizes: Mapping[str, int]
) -> History:
    """The stored history as this checkout plans with it: each suite's timing limited to the
    test files it still has (a deleted file, or its tests, is never named to pytest), and
    its sizes."""
    timings = {}
    for package, timing in stored.timings.items():
        present = python_files.get(package, frozenset())
        timings[package] = SuiteTiming(
            {f: s for f, s in timing.files.items() if f in present},
            timing.overhead,
            {t: s for t, s in timing.tests.items() if t.partition(NODE_SEP)[0] in present},
            timing.cut,
            timing.cut_for,
        )
    return History(stored.durations, timings, sizes)


def suite_cuts(shards: ShardPlan) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Each split suite's cut in `shards`, by package: what its verdict records (each
    group's files or tests, in order)."""
    return {
        shards.base.get(step_id).package: tuple(group.files for group in groups)
        for step_id, groups in shards.groups.items()
    }


def folded(
    history: History,
    plan: Plan,
    executed: Sequence[StepResult],
    junit: Mapping[str, str],
    python_files: Mapping[str, Iterable[str]],
    cuts: Mapping[str, tuple[tuple[str, ...], ...]] | None = None,
    cut_for: str = "",
) -> History:
    """`history` with what `executed` measured: the seconds of every step that ran (passed
    or failed; a cache hit says nothing), and each test step's seconds per file and per
    test from its JUnit report in `junit` (by step id; a group's own included); each
    suite's cut from `cuts` (by package: `suite_cuts`), made for `cut_for` (the shard
    plan's), the others' kept."""
    durations = dict(history.durations)
    timings = dict(history.timings)
    measured: dict[str, SuiteTiming] = {}
    for result in executed:
        if result.status not in ("passed", "failed"):
            continue
        durations[result.step_id] = _fold(durations.get(result.step_id), result.duration)
        step = plan.get(result.step_id)
        text = junit.get(result.step_id)
        if step.task != "test" or text is None:
            continue
        files = tuple(python_files.get(step.package, ()))
        try:
            timing = suite_timing(text, result.duration, files, step.workdir)
            tests = seconds_per_test(text, files, step.workdir)
        except ParseError:
            continue
        measured[step.id] = SuiteTiming(timing.files, timing.overhead, tests)
    for package, suite in suite_measurements(plan, measured).items():
        timings[package] = _fold_timing(timings.get(package), suite)
    for package, cut in (cuts or {}).items():
        if package in timings:
            timings[package] = replace(timings[package], cut=cut, cut_for=cut_for)
    return History(durations, timings, history.sizes)


def _fold(old: float | None, new: float) -> float:
    return new if old is None else WEIGHT * new + (1 - WEIGHT) * old


def _fold_timing(old: SuiteTiming | None, measured: SuiteTiming) -> SuiteTiming:
    if old is None:
        return measured
    return SuiteTiming(
        _folded(old.files, measured.files),
        _fold(old.overhead, measured.overhead),
        _folded(current_tests(old.tests, measured), measured.tests),
        old.cut,
        old.cut_for,
    )


def _folded(old: Mapping[str, float], new: Mapping[str, float]) -> dict[str, float]:
    merged = dict(old)
    for name, seconds in new.items():
        merged[name] = _fold(merged.get(name), seconds)
    return merged


def history_document(history: History) -> dict[str, Any]:
    """The history as JSON data (durations and timings; sizes are the checkout's own)."""
    return {
        "format": HISTORY_FORMAT,
        "durations": _rounded(history.durations),
        "timings": {
            package: {
                "overhead": round(timing.overhead, 3),
                "files": _rounded(timing.files),
                "tests": _rounded(timing.tests),
                "cut": [list(group) for group in timing.cut],
                "cut_for": timing.cut_for,
            }
            for package, timing in sorted(history.timings.items())
        },
    }


def history_from_document(document: Any) -> History:
    """The history `document` holds; HistoryError when it is not one."""
    if not isinstance(document, dict) or document.get("format") != HISTORY_FORMAT:
        raise HistoryError(f'not a stored history (no "format": "{HISTORY_FORMAT}")')
    try:
        durations = {str(k): float(v) for k, v in document["durations"].items()}
        timings = {
            str(package): SuiteTiming(
                {str(k): float(v) for k, v in timing["files"].items()},
                float(timing["overhead"]),
                {str(k): float(v) for k, v in timing["tests"].items()},
                tuple(tuple(str(unit) for unit in group) for group in timing.get("cut", ())),
                str(timing.get("cut_for", "")),
            )
            for package, timing in document["timings"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise HistoryError(f"unreadable history ({type(error).__name__}: {error})") from error
    return History(durations, timings)


def _rounded(seconds: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in sorted(seconds.items())}
