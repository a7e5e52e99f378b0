"""The history a Dagger run keeps in the shared store: folded as the native shell folds its
.acme/ history, read back as written, and fitted to the checkout that plans with it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acme_ci.core.affected import select_all
from acme_ci.core.plan import make_plan
from acme_ci.core.remote_cache import RemoteLocation
from acme_ci.core.scheduler import RunResult, StepResult
from acme_ci.core.shard_history import (
    HistoryError,
    folded,
    for_checkout,
    history_document,
    history_from_document,
    history_object_key,
    package_python_files,
    suite_cuts,
)
from acme_ci.core.shards import History, make_shard_plan
from acme_ci.core.test_groups import SuiteTiming
from acme_ci.core.workspace import parse_workspace
from acme_ci.native.history import (
    load_durations,
    load_test_seconds,
    load_test_timing,
    record_durations,
    record_test_timings,
)

WS = parse_workspace(
    {
        "libs/util": '[project]\nname = "util"\n',
        "services/api": '[project]\nname = "api"\ndependencies = ["util"]\n',
    }
)
PLAN = make_plan(WS, select_all(WS))
FILES = {"util": frozenset({"tests/test_a.py", "tests/test_b.py"}), "api": frozenset()}


def junit(a: float, b: float) -> str:
    return (
        '<testsuites><testsuite name="pytest" tests="2">'
        f'<testcase classname="tests.test_a" name="t" time="{a}"/>'
        f'<testcase classname="tests.test_b" name="t" time="{b}"/>'
        "</testsuite></testsuites>"
    )


def test_a_fold_counts_what_ran_and_times_each_test_file() -> None:
    first = folded(
        History(),
        PLAN,
        [
            StepResult("util:test", "failed", duration=8.0),
            StepResult("util:lint", "passed", duration=1.0),
            StepResult("api:lint", "cached", duration=5.0),  # a hit measured nothing
            StepResult("api:build", "blocked"),
        ],
        {"util:test": junit(2.0, 4.0)},
        FILES,
    )
    assert dict(first.durations) == {"util:test": 8.0, "util:lint": 1.0}
    assert first.timings == {
        "util": SuiteTiming(
            {"tests/test_a.py": 2.0, "tests/test_b.py": 4.0},
            2.0,
            {"tests/test_a.py::t": 2.0, "tests/test_b.py::t": 4.0},
        )
    }
    second = folded(
        first,
        PLAN,
        [StepResult("util:test", "passed", duration=6.0)],
        {"util:test": junit(4.0, 0.0)},
        FILES,
    )
    assert second.durations["util:test"] == 7.0
    assert second.timings["util"] == SuiteTiming(
        {"tests/test_a.py": 3.0, "tests/test_b.py": 2.0},
        2.0,
        {"tests/test_a.py::t": 3.0, "tests/test_b.py::t": 2.0},
    )
    # An unreadable report times nothing, but the step's seconds still count.
    third = folded(
        second, PLAN, [StepResult("util:test", "passed", duration=9.0)], {"util:test": "<x"}, FILES
    )
    assert third.timings == second.timings
    assert third.durations["util:test"] == 8.0


seconds = st.floats(min_value=0, max_value=1000, allow_nan=False).map(lambda s: round(s, 3))


@settings(max_examples=30, deadline=None)
@given(runs=st.lists(st.tuples(seconds, seconds, seconds), min_size=1, max_size=4))
def test_the_fold_is_the_native_histories(runs: list[tuple[float, float, float]]) -> None:
    """The same runs folded here and into a native .acme/ give the same history."""
    history = History()
    with tempfile.TemporaryDirectory() as scratch:
        state, root = Path(scratch, "state"), Path(scratch, "root")
        report = root / PLAN.get("util:test").junit_path  # type: ignore[operator]
        report.parent.mkdir(parents=True)
        files = package_python_files(
            PLAN, ["libs/util/tests/test_a.py", "libs/util/tests/test_b.py"]
        )
        for a, b, step in runs:
            result = StepResult("util:test", "passed", duration=step)
            report.write_text(junit(a, b), encoding="utf-8")
            # Each verdict reads the stored history, as each native run reads .acme/.
            history = history_from_document(
                history_document(folded(history, PLAN, [result], {"util:test": junit(a, b)}, files))
            )
            record_durations(state, RunResult(PLAN, (result,), step))
            record_test_timings(state, root, PLAN, [result], files)
        native = load_test_timing(state, "util", files["util"])
        assert native is not None
        tests = load_test_seconds(state, "util", files["util"])
        stored = history_from_document(history_document(history))
        assert dict(stored.durations) == load_durations(state)
        assert stored.timings["util"] == SuiteTiming(native.files, native.overhead, tests)


def test_the_document_reads_back_and_a_bad_one_is_refused() -> None:
    history = History(
        {"util:test[1/2]": 3.25},
        {
            "util": SuiteTiming(
                {"tests/test_a.py": 1.5},
                0.5,
                {"tests/test_a.py::t[1]": 1.5},
                (("tests/test_a.py::t[1]",), ("tests/test_b.py",)),
                "4@60",
            )
        },
    )
    assert history_from_document(history_document(history)) == history
    # A history stored before cuts were kept reads as one without a cut.
    older = history_document(history)
    del older["timings"]["util"]["cut"]
    assert history_from_document(older).timings["util"].cut == ()
    bad: list[Any] = [None, {"format": "other"}, {**history_document(history), "timings": 3}]
    for document in bad:
        with pytest.raises(HistoryError):
            history_from_document(document)


def test_a_checkout_plans_with_its_own_test_files_and_sizes() -> None:
    stored = History(
        {"util:lint": 1.0},
        {
            "util": SuiteTiming(
                {"tests/test_a.py": 1.0, "tests/test_gone.py": 9.0},
                0.5,
                {"tests/test_a.py::t": 1.0, "tests/test_gone.py::t": 9.0},
            )
        },
    )
    fitted = for_checkout(stored, FILES, {"util": 10, "api": 20})
    assert fitted == History(
        {"util:lint": 1.0},
        {"util": SuiteTiming({"tests/test_a.py": 1.0}, 0.5, {"tests/test_a.py::t": 1.0})},
        {"util": 10, "api": 20},
    )


def test_a_packages_python_files_are_named_from_the_package() -> None:
    listed = ["libs/util/tests/test_a.py", "libs/util/README.md", "services/api/src/api/x.py"]
    assert package_python_files(PLAN, listed)["util"] == frozenset({"tests/test_a.py"})


def test_a_scopes_history_lives_beside_its_entries() -> None:
    assert history_object_key(RemoteLocation("b", "ci"), "feature/x") == (
        "ci/feature%2Fx/history.json"
    )
    assert history_object_key(RemoteLocation("b", ""), "main") == "main/history.json"


def test_a_verdict_records_each_split_suites_cut_and_later_folds_keep_it() -> None:
    timing = SuiteTiming({"tests/test_a.py": 30.0, "tests/test_b.py": 40.0}, 1.0)
    shards = make_shard_plan(PLAN, History(timings={"util": timing}), 2)
    cuts = suite_cuts(shards)
    assert cuts == {"util": (("tests/test_b.py",), ("tests/test_a.py",))}
    step = shards.plan.steps[0].id
    ran = [StepResult(step, "passed", duration=2.0)]
    recorded = folded(
        History(timings={"util": timing}), shards.plan, ran, {}, FILES, cuts, shards.cut_for
    )
    assert recorded.timings["util"].cut == cuts["util"]
    assert recorded.timings["util"].cut_for == shards.cut_for == "2@60"
    # A fold without cuts (an unsharded run, a shard's own record) keeps the recorded cut,
    # and so does the checkout's view of it.
    result = StepResult("util:test", "passed", duration=9.0)
    again = folded(recorded, PLAN, [result], {"util:test": junit(2.0, 4.0)}, FILES)
    assert again.timings["util"].cut == cuts["util"]
    assert for_checkout(again, FILES, {}).timings["util"].cut == cuts["util"]
    assert for_checkout(again, FILES, {}).timings["util"].cut_for == "2@60"
    # A cut of a suite that has no timing is not recorded.
    assert "api" not in folded(History(), PLAN, [], {}, FILES, {"api": (("x",), ("y",))}).timings


def test_the_native_record_keeps_the_cut_a_verdict_gives_it(tmp_path: Path) -> None:
    state, root = tmp_path / "state", tmp_path / "root"
    report = root / PLAN.get("util:test").junit_path  # type: ignore[operator]
    report.parent.mkdir(parents=True)
    report.write_text(junit(2.0, 4.0), encoding="utf-8")
    result = [StepResult("util:test", "passed", duration=8.0)]
    cut = (("tests/test_b.py",), ("tests/test_a.py",))
    record_test_timings(state, root, PLAN, result, FILES, {"util": cut}, "2@60")
    timing = load_test_timing(state, "util", FILES["util"])
    assert timing is not None
    assert timing.cut == cut
    assert timing.cut_for == "2@60"
    record_test_timings(state, root, PLAN, result, FILES)  # a shard's own run, no cuts
    kept = load_test_timing(state, "util", FILES["util"])
    assert kept is not None
    assert kept.cut == cut
    assert kept.cut_for == "2@60"
