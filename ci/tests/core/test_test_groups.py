"""A long test suite cut into groups of files: timings from JUnit, the split, the group steps."""

from __future__ import annotations

import math
from dataclasses import replace
from xml.etree.ElementTree import ParseError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acme_ci.core.plan import Plan, Step
from acme_ci.core.test_groups import (
    GROUP_SHARE,
    KEEP_SLACK,
    MAX_GROUPS,
    SuiteTiming,
    TestGroup,
    current_tests,
    cut_spec,
    group_id,
    group_length,
    group_steps,
    plan_with_groups,
    seconds_per_test,
    split_suite,
    suite_measurements,
    suite_rerun_cap,
    suite_timing,
)

TEST = Step(
    id="acme-ci:test",
    package="acme-ci",
    task="test",
    commands=(
        (
            "python",
            "-m",
            "pytest",
            "--junitxml=../.acme/reports/acme-ci/junit.xml",
            "-rsR",
            "--max-suite-reruns=4",
        ),
    ),
    workdir="ci",
    env=(("PYTHONDONTWRITEBYTECODE", "1"),),
    inputs=("uv.lock", "ci"),
    needs=(),
    outputs=(".acme/reports/acme-ci/junit.xml",),
    reason="--all",
)
BUILD = Step(
    id="acme-ci:build",
    package="acme-ci",
    task="build",
    commands=(("uv", "build"),),
    workdir=".",
    env=(),
    inputs=("ci",),
    needs=("acme-ci:lint", "acme-ci:test"),
    outputs=("dist/acme-ci",),
    reason="--all",
    reads_needs=False,
)
LINT = Step(
    id="acme-ci:lint",
    package="acme-ci",
    task="lint",
    commands=(("ruff", "check", "."),),
    workdir="ci",
    env=(),
    inputs=("ci",),
    needs=(),
    outputs=(),
    reason="--all",
)

FILES = (
    "tests/__init__.py",
    "tests/test_docs.py",
    "tests/core/test_plan.py",
    "tests/native/test_cli_ci.py",
    "src/acme_ci/core/plan.py",
)


def junit(*cases: tuple[str, str, str]) -> str:
    """A JUnit report of testcases (classname, name, time; "" for none)."""
    body = "".join(
        "<testcase"
        + (f' classname="{c}"' if c else "")
        + f' name="{n}"'
        + (f' time="{t}"' if t else "")
        + "/>"
        for c, n, t in cases
    )
    # The suite's own time is not a test's: only testcases are timed.
    return f'<testsuites time="99"><testsuite name="p" time="99">{body}</testsuite></testsuites>'


def test_a_report_is_timed_per_file_and_the_rest_is_the_suites_overhead() -> None:
    text = junit(
        ("tests.test_docs", "test_links", "1.5"),
        ("tests.test_docs", "test_anchors", "0.5"),
        ("tests.core.test_plan", "test_one", "0.25"),
        # A class: the longest dotted prefix that is a module names the file.
        ("tests.native.test_cli_ci.TestRuns", "test_cold", "3.0"),
        # A rerun attempt repeats the testcase: its time is the suite's time too.
        ("tests.native.test_cli_ci.TestRuns", "test_cold", "1.0"),
        # From the workspace root (a rootdir above the package): the same file.
        ("ci.tests.core.test_plan", "test_two", "0.75"),
        # No file of the package: timed (the overhead excludes it), named nowhere.
        ("elsewhere.test_x", "test_y", "2.0"),
        # No classname (not pytest's, but JUnit allows it): timed, named nowhere.
        ("", "test_bare", "0.5"),
        # No time, or a bad one: nothing.
        ("tests.test_docs", "test_untimed", ""),
        ("tests.test_docs", "test_garbled", "abc"),
        ("tests.test_docs", "test_negative", "-5"),
    )
    timing = suite_timing(text, 12.0, FILES, "ci")
    assert timing.files == {
        "tests/test_docs.py": 2.0,
        "tests/core/test_plan.py": 1.0,
        "tests/native/test_cli_ci.py": 4.0,
    }
    assert timing.overhead == pytest.approx(12.0 - 9.5)
    # The untraced tests' 2.5 s are in no file and not in the overhead: the last group runs them.
    assert timing.total == pytest.approx(9.5)


def test_each_test_is_timed_by_its_node_id() -> None:
    text = junit(
        ("tests.test_docs", "test_links", "1.5"),
        ("tests.test_docs", "test_links", "0.5"),  # a rerun: the same test
        ("tests.native.test_cli_ci.TestRuns", "test_cold[a b-1]", "3.0"),
        ("ci.tests.native.test_cli_ci.TestRuns.Inner", "test_warm", "0.25"),
        ("elsewhere.test_x", "test_y", "2.0"),
        ("", "test_bare", "0.5"),
    ).replace("</testsuite>", '<testcase classname="tests.test_docs" time="7"/></testsuite>')
    # A testcase without a name (not pytest's) is in no file and no test.
    assert suite_timing(text, 20.0, FILES, "ci").files["tests/test_docs.py"] == 2.0
    assert seconds_per_test(text, FILES, "ci") == {
        "tests/test_docs.py::test_links": 2.0,
        "tests/native/test_cli_ci.py::TestRuns::test_cold[a b-1]": 3.0,
        "tests/native/test_cli_ci.py::TestRuns::Inner::test_warm": 0.25,
    }
    # The file's timing has none of them (seconds_per_test keeps them apart).
    assert suite_timing(text, 9.0, FILES, "ci").tests == {}
    with pytest.raises(ParseError):
        seconds_per_test("<testsuites", FILES, "ci")


def test_a_package_at_the_root_names_its_modules_from_the_root() -> None:
    text = junit(("tests.test_a", "t", "1"), ("test_top", "t", "2"))
    timing = suite_timing(text, 3.5, ("tests/test_a.py", "test_top.py"), ".")
    assert timing.files == {"tests/test_a.py": 1.0, "test_top.py": 2.0}
    assert timing.overhead == pytest.approx(0.5)
    assert suite_timing(text, 3.5, ("tests/test_a.py", "test_top.py"), "").files == timing.files


def test_the_overhead_is_never_negative_and_a_broken_report_raises() -> None:
    assert suite_timing(junit(("tests.test_docs", "t", "9")), 1.0, FILES, "ci").overhead == 0.0
    with pytest.raises(ParseError):
        suite_timing("<testsuites", 1.0, FILES, "ci")


def test_a_suite_that_fits_in_a_shard_or_has_one_file_is_not_split() -> None:
    assert split_suite(SuiteTiming({"a.py": 30.0, "b.py": 29.0}, 1.0), 60.0) == ()
    assert split_suite(SuiteTiming({"a.py": 100.0}), 60.0) == ()
    assert len(split_suite(SuiteTiming({"a.py": 30.0, "b.py": 29.0}, 1.5), 60.0)) == 2


def test_a_long_suite_is_split_longest_file_first_into_groups_of_a_third_of_the_target() -> None:
    files = {"a.py": 10.0, "b.py": 9.0, "c.py": 8.0, "d.py": 4.0, "e.py": 3.0, "f.py": 2.0}
    groups = split_suite(SuiteTiming(files, 1.0), 30.0)
    # 36 s of files; a group may take 30 / 3 = 10 s, 1 s of it the overhead: 4 groups.
    # Longest group first: the last (which also runs untimed files) ends soonest.
    assert groups == (
        TestGroup(("a.py",), 11.0),
        TestGroup(("b.py",), 10.0),
        TestGroup(("d.py", "e.py", "f.py"), 10.0),
        TestGroup(("c.py",), 9.0),
    )
    # A longer overhead leaves less room for files: 36 / (10 - 4) = 6 groups.
    assert len(split_suite(SuiteTiming(files, 4.0), 30.0)) == 6
    # An overhead as long as a group: as many groups as the cap allows (here, the files).
    assert len(split_suite(SuiteTiming(files, 10.0), 30.0)) == 6


def test_the_last_cut_is_kept_with_todays_seconds_while_it_fits() -> None:
    files = {"a.py": 10.0, "b.py": 9.0, "c.py": 8.0, "d.py": 4.0, "e.py": 3.0, "f.py": 2.0}
    fresh = split_suite(SuiteTiming(files, 1.0), 30.0)
    assert [g.files for g in fresh] == [("a.py",), ("b.py",), ("d.py", "e.py", "f.py"), ("c.py",)]
    # Seconds measured again, a little different: cut anew, b.py would lead and a.py be
    # dealt elsewhere (other argv, so other cache keys for an unchanged suite).
    later = {**files, "a.py": 9.0, "b.py": 10.0}
    assert split_suite(SuiteTiming(later, 1.0), 30.0)[0].files == ("b.py",)
    cut = tuple(g.files for g in fresh)
    kept = split_suite(SuiteTiming(later, 1.0, cut=cut), 30.0)
    assert kept == (
        TestGroup(("a.py",), 10.0),
        TestGroup(("b.py",), 11.0),
        TestGroup(("d.py", "e.py", "f.py"), 10.0),
        TestGroup(("c.py",), 9.0),
    )
    # The last group runs what the others do not name: a new file is counted there.
    grown = split_suite(SuiteTiming({**later, "new.py": 2.0}, 1.0, cut=cut), 30.0)
    assert [g.files for g in grown] == list(cut)
    assert grown[-1].expected == 11.0
    # A cut naming a file no longer timed (deleted), or one too far from a fresh cut, or a
    # cut of one group, is made anew.
    gone = {k: v for k, v in later.items() if k != "e.py"}
    assert [g.files for g in split_suite(SuiteTiming(gone, 1.0, cut=cut), 30.0)] != list(cut)

    def fresh_longest(seconds: dict[str, float]) -> float:
        return max(g.expected for g in split_suite(SuiteTiming(seconds, 1.0), 30.0))

    # d.py grew: its kept group (d, e, f) would take 18 s, a fresh cut's longest 13 s.
    slow = {**later, "d.py": 12.0}
    assert KEEP_SLACK * fresh_longest(slow) < 1.0 + 12.0 + 3.0 + 2.0
    assert [g.files for g in split_suite(SuiteTiming(slow, 1.0, cut=cut), 30.0)] != list(cut)
    # A little: 11 s, within the slack of a fresh cut's longest: kept.
    mild = {**later, "d.py": 5.0}
    assert 1.0 + 5.0 + 3.0 + 2.0 <= KEEP_SLACK * fresh_longest(mild) < 1.0 + 12.0 + 3.0 + 2.0
    assert [g.files for g in split_suite(SuiteTiming(mild, 1.0, cut=cut), 30.0)] == list(cut)
    one = split_suite(SuiteTiming(later, 1.0, cut=(tuple(files),)), 30.0)
    assert len(one) == 4
    # A suite that now fits is not split, whatever its cut.
    assert split_suite(SuiteTiming(later, 1.0, cut=cut), 60.0) == ()
    # A cut made for other shards (another count, or target) is made anew for these.
    made = SuiteTiming(later, 1.0, cut=cut, cut_for=cut_spec(2, 30.0))
    assert [g.files for g in split_suite(made, 30.0, made_for=cut_spec(2, 30.0))] == list(cut)
    for other in (cut_spec(8, 30.0), cut_spec(None, 30.0), cut_spec(2, 60.0)):
        assert [g.files for g in split_suite(made, 30.0, made_for=other)] != list(cut)


def test_groups_are_as_long_as_whole_ones_fill_a_shard() -> None:
    assert cut_spec(None, 60.0) == "auto@60"
    assert cut_spec(8, 22.5) == "8@22.5"
    # A third of the target, or shorter shards shared into as many such groups as they hold.
    assert group_length(60.0, 60.0) == 20.0
    assert group_length(45.0, 60.0) == 22.5  # two groups a shard, not two of 20 s and 5 s
    assert group_length(22.5, 60.0) == 22.5  # one a shard, not one of 20 s and 2.5 s
    assert group_length(11.0, 60.0) == 11.0
    assert group_length(36.0, 60.0) == 18.0
    # Never past a quarter over the share: 28 s shards still get groups of 25 s at most.
    assert group_length(28.4, 60.0) == 25.0


def test_files_of_equal_length_go_by_name_and_ties_to_the_first_group() -> None:
    groups = split_suite(SuiteTiming({"z.py": 4.0, "y.py": 4.0, "x.py": 4.0}), 10.0)
    assert [g.files for g in groups] == [("x.py",), ("y.py",), ("z.py",)]
    groups = split_suite(SuiteTiming({"b.py": 2.0, "a.py": 1.0, "c.py": 1.0}), 3.9)
    assert [g.files for g in groups] == [("b.py",), ("a.py",), ("c.py",)]


def test_files_timed_at_nothing_are_dealt_out_so_no_group_is_empty() -> None:
    untimed = SuiteTiming({f"{c}.py": 0.0 for c in "abcde"}, 3.0)
    groups = split_suite(untimed, 2.0)  # no room beside the overhead: a group a file, to the cap
    assert [g.files for g in groups] == [(f"{c}.py",) for c in "abcde"]
    # Four groups for five files: the fifth goes to the group with the fewest.
    groups = split_suite(SuiteTiming({**untimed.files, "f.py": 8.0}, 0.5), 7.5)
    assert [g.files for g in groups] == [("f.py",), ("a.py", "d.py"), ("b.py", "e.py"), ("c.py",)]


def test_a_file_longer_than_a_group_is_shared_out_by_its_tests() -> None:
    files = {"tests/test_big.py": 18.0, "tests/test_small.py": 2.0}
    tests = {
        "tests/test_big.py::test_a": 8.0,
        "tests/test_big.py::TestX::test_b[1]": 6.0,
        "tests/test_big.py::test_c": 4.0,
        "tests/test_small.py::test_d": 1.0,
        "tests/test_small.py::test_e": 1.0,
        "tests/test_bigger.py::test_f": 99.0,  # another file's, whose name starts alike
    }
    groups = split_suite(SuiteTiming(files, 1.0, tests), 18.0)
    # 20 s of tests; a group may take 18 / 3 = 6 s, 1 s of it the overhead. The big file
    # (18 s, over that 5 s room) goes test by test, the small one (2 s) whole: 4 groups.
    assert groups == (
        TestGroup(("tests/test_big.py::test_a",), 9.0),
        TestGroup(("tests/test_big.py::TestX::test_b[1]",), 7.0),
        TestGroup(("tests/test_big.py::test_c",), 5.0),
        TestGroup(("tests/test_small.py",), 3.0),
    )
    steps = group_steps(TEST, groups)
    assert steps[0].commands[0][-1] == "tests/test_big.py::test_a"
    # The last group runs the suite less the others' tests (and files): by node id.
    assert steps[3].commands[0][-3:] == (
        "--deselect=tests/test_big.py::test_a",
        "--deselect=tests/test_big.py::TestX::test_b[1]",
        "--deselect=tests/test_big.py::test_c",
    )
    assert group_steps(TEST, (groups[3], groups[0]))[1].commands[0][-1] == (
        "--ignore=tests/test_small.py"
    )
    # A long file with one known test, or none, stays whole.
    one = {"tests/test_big.py::test_a": 18.0}
    assert split_suite(SuiteTiming(files, 1.0, one), 18.0) == (
        TestGroup(("tests/test_big.py",), 19.0),
        TestGroup(("tests/test_small.py",), 3.0),
    )
    assert split_suite(SuiteTiming(files, 1.0), 18.0)[0].files == ("tests/test_big.py",)
    # No room beside the overhead: tests would not help, files stay whole.
    assert [g.files for g in split_suite(SuiteTiming(files, 10.0, tests), 18.0)] == [
        ("tests/test_big.py",),
        ("tests/test_small.py",),
    ]
    # One file only, long and known by its tests: it is still split.
    alone = SuiteTiming({"tests/test_big.py": 18.0}, 1.0, tests)
    assert [g.files for g in split_suite(alone, 12.0)] == [
        ("tests/test_big.py::test_a",),
        ("tests/test_big.py::TestX::test_b[1]",),
        ("tests/test_big.py::test_c",),
    ]


def test_a_file_is_shared_out_by_its_tests_only_when_it_outgrows_a_groups_room() -> None:
    tests = {
        "tests/test_big.py::test_a": 2.5,
        "tests/test_big.py::test_b": 2.5,
        "tests/test_small.py::test_d": 6.5,
        "tests/test_small.py::test_e": 6.5,
    }

    def units(timing: SuiteTiming, target: float) -> list[str]:
        return sorted(unit for group in split_suite(timing, target) for unit in group.files)

    # A room of exactly nothing (the overhead takes a whole group): files stay whole.
    none = SuiteTiming({"tests/test_big.py": 18.0, "tests/test_small.py": 2.0}, 6.0, tests)
    assert units(none, 18.0) == ["tests/test_big.py", "tests/test_small.py"]
    # Half a second of room: both files outgrow it and go test by test.
    tight = SuiteTiming(none.files, 5.5, tests)
    assert units(tight, 18.0) == sorted(tests)
    # A file exactly as long as the room fits in it: whole.
    exact = SuiteTiming({"tests/test_big.py": 5.0, "tests/test_small.py": 13.0}, 1.0, tests)
    assert units(exact, 18.0) == ["tests/test_big.py", *sorted(tests)[2:]]


def test_a_small_room_still_counts_groups_by_it() -> None:
    """Half a second of room and 2.5 s of files: 5 groups, not as many as the cap allows."""
    files = {f"tests/test_{i:02}.py": 0.125 for i in range(20)}
    assert len(split_suite(SuiteTiming(files, 0.125), 1.875)) == 5


def test_a_split_suite_has_two_groups_at_least() -> None:
    """Tests timed lower than their file (averages folded apart) still make two groups."""
    files = {"tests/test_big.py": 30.0, "tests/test_small.py": 0.1}
    tests = {"tests/test_big.py::test_a": 0.1, "tests/test_big.py::test_b": 0.1}
    groups = split_suite(SuiteTiming(files, 0.0, tests), 30.0)
    assert [g.files for g in groups] == [
        ("tests/test_big.py::test_a", "tests/test_small.py"),
        ("tests/test_big.py::test_b",),
    ]


def test_there_are_never_more_groups_than_files_or_the_cap() -> None:
    files = {f"t{i:02}.py": 1.0 for i in range(40)}
    assert len(split_suite(SuiteTiming(files), 1.0)) == MAX_GROUPS
    assert len(split_suite(SuiteTiming(dict(list(files.items())[:5])), 1.0)) == 5


@given(
    st.dictionaries(
        st.from_regex(r"tests/test_[a-z]{1,6}\.py", fullmatch=True),
        st.floats(min_value=0.0, max_value=50.0),
        min_size=2,
        max_size=30,
    ),
    st.floats(min_value=0.0, max_value=5.0),
    st.floats(min_value=1.0, max_value=100.0),
)
def test_groups_cover_each_file_exactly_once_and_are_balanced(
    files: dict[str, float], overhead: float, target: float
) -> None:
    timing = SuiteTiming(files, overhead)
    groups = split_suite(timing, target)
    if timing.total <= target:
        assert groups == ()
        return
    named = [path for group in groups for path in group.files]
    assert sorted(named) == sorted(files)
    room = target / GROUP_SHARE - overhead
    wanted = math.ceil(sum(files.values()) / room) if room > 0 else MAX_GROUPS
    assert len(groups) == min(len(files), MAX_GROUPS, wanted)
    assert len(groups) >= 2
    mean = sum(files.values()) / len(groups)
    # Longest first into the least loaded group: no group is over the mean by more than a file.
    assert max(g.expected for g in groups) <= overhead + mean + max(files.values()) + 1e-9
    assert [g.expected for g in groups] == sorted((g.expected for g in groups), reverse=True)
    for group in groups:
        assert group.files  # the last group would otherwise run nothing: pytest fails
        assert group.expected == pytest.approx(overhead + sum(files[p] for p in group.files))
        assert list(group.files) == sorted(group.files)


def test_each_group_is_a_step_with_its_own_id_report_and_files() -> None:
    groups = (
        TestGroup(("tests/test_b.py", "tests/test_c.py"), 5.0),
        TestGroup(("tests/test_a.py",), 4.0),
        TestGroup(("tests/test_d.py",), 3.0),
    )
    steps = group_steps(TEST, groups)
    assert [s.id for s in steps] == [group_id("acme-ci:test", i, 3) for i in (1, 2, 3)]
    assert steps[0].id == "acme-ci:test[1/3]"
    base = TEST.commands[0]
    assert steps[0].commands == (
        (*base[:3], "--junitxml=../.acme/reports/acme-ci/junit-1-of-3.xml", *base[4:],
         "tests/test_b.py", "tests/test_c.py"),
    )  # fmt: skip
    assert steps[1].commands[0][-1] == "tests/test_a.py"
    # The last group names no file: it runs the package's own selection less the others'.
    assert steps[2].commands == (
        (*base[:3], "--junitxml=../.acme/reports/acme-ci/junit-3-of-3.xml", *base[4:],
         "--ignore=tests/test_b.py", "--ignore=tests/test_c.py", "--ignore=tests/test_a.py"),
    )  # fmt: skip
    assert [s.outputs for s in steps] == [
        (f".acme/reports/acme-ci/junit-{i}-of-3.xml",) for i in (1, 2, 3)
    ]
    assert steps[2].junit_path == ".acme/reports/acme-ci/junit-3-of-3.xml"
    for step in steps:
        assert step.part_of == "acme-ci:test"
        assert (step.package, step.task, step.workdir, step.env, step.inputs, step.reason) == (
            TEST.package, TEST.task, TEST.workdir, TEST.env, TEST.inputs, TEST.reason,
        )  # fmt: skip


def test_only_the_junit_flag_and_xml_outputs_are_renamed() -> None:
    odd = Step(
        **{
            **TEST.__dict__,
            "commands": (("pytest", "--junitxml=report", "x.xml"),),
            "outputs": ("out/junit.xml", "out/coverage"),
        }
    )
    (one, _) = group_steps(odd, (TestGroup(("a.py",), 1.0), TestGroup(("b.py",), 1.0)))
    assert one.commands == (("pytest", "--junitxml=report", "x.xml", "a.py"),)
    assert one.outputs == ("out/junit-1-of-2.xml", "out/coverage")


def test_a_plan_with_groups_gates_the_build_on_every_group() -> None:
    plan = Plan((LINT, TEST, BUILD))
    groups = {"acme-ci:test": (TestGroup(("a.py",), 1.0), TestGroup(("b.py",), 1.0))}
    split = plan_with_groups(plan, groups)
    assert [s.id for s in split.steps] == [
        "acme-ci:lint",
        "acme-ci:test[1/2]",
        "acme-ci:test[2/2]",
        "acme-ci:build",
    ]
    assert split.get("acme-ci:build").needs == (
        "acme-ci:lint",
        "acme-ci:test[1/2]",
        "acme-ci:test[2/2]",
    )
    assert split.get("acme-ci:build").reads_needs is False
    assert split.selection is plan.selection
    assert plan_with_groups(plan, {}) == plan


def test_a_grouped_step_keeps_its_needs_rewritten_too() -> None:
    """A group of a step that needs a split step needs each of that step's groups."""
    first = TEST
    second = Step(**{**TEST.__dict__, "id": "b:test", "package": "b", "needs": ("acme-ci:test",)})
    groups = {
        "acme-ci:test": (TestGroup(("a.py",), 1.0), TestGroup(("b.py",), 1.0)),
        "b:test": (TestGroup(("c.py",), 1.0), TestGroup(("d.py",), 1.0)),
    }
    split = plan_with_groups(Plan((first, second)), groups)
    assert split.get("b:test[2/2]").needs == ("acme-ci:test[1/2]", "acme-ci:test[2/2]")


def test_the_suite_rerun_cap_is_read_from_the_step() -> None:
    assert suite_rerun_cap(TEST) == 4
    assert suite_rerun_cap(Step(**{**TEST.__dict__, "commands": (("pytest", "-x"),)})) == 0


def test_a_split_suites_groups_are_measured_together_and_a_shared_out_file_whole() -> None:
    shared = "tests/test_big.py"
    groups = (
        TestGroup((f"{shared}::test_1", "tests/test_a.py"), 9.0),
        TestGroup((f"{shared}::test_2",), 8.0),
        TestGroup(("tests/test_c.py",), 3.0),  # the last: the rest, test_3 of the big file too
    )
    steps = group_steps(TEST, groups)
    plan = Plan((*steps,))
    measured = {
        steps[0].id: SuiteTiming(
            {shared: 4.0, "tests/test_a.py": 3.0}, 2.0, {f"{shared}::test_1": 4.0}
        ),
        steps[1].id: SuiteTiming({shared: 5.0}, 1.0, {f"{shared}::test_2": 5.0}),
        steps[2].id: SuiteTiming(
            {shared: 1.0, "tests/test_c.py": 2.0}, 3.0, {f"{shared}::test_3": 1.0}
        ),
    }
    # Every group ran: the big file is its three parts, 10 s, not the last part folded in.
    suite = suite_measurements(plan, measured)["acme-ci"]
    assert suite.files == {"tests/test_a.py": 3.0, shared: 10.0, "tests/test_c.py": 2.0}
    assert suite.overhead == 2.0
    assert sorted(suite.tests) == [f"{shared}::test_{i}" for i in (1, 2, 3)]
    # One group came from the cache: the big file's parts are not the file, so it is left
    # out (its old seconds kept by the fold); the files run whole are measured.
    some = suite_measurements(plan, {k: v for k, v in measured.items() if k != steps[1].id})
    assert some["acme-ci"].files == {"tests/test_a.py": 3.0, "tests/test_c.py": 2.0}
    # A whole suite is its step's measurement.
    whole = SuiteTiming({shared: 10.0}, 2.5, {f"{shared}::test_1": 4.0})
    assert suite_measurements(Plan((TEST,)), {TEST.id: whole}) == {"acme-ci": whole}


def test_a_test_gone_from_a_file_run_whole_is_forgotten_so_no_group_names_it() -> None:
    old = {
        "tests/test_a.py::test_old": 2.0,
        "tests/test_a.py::test_kept": 1.0,
        "tests/test_b.py::t": 3.0,
    }
    measured = SuiteTiming({"tests/test_a.py": 1.5}, 1.0, {"tests/test_a.py::test_kept": 1.5})
    # test_old was renamed: test_a.py ran whole without it. test_b.py did not run: kept.
    assert current_tests(old, measured) == {
        "tests/test_a.py::test_kept": 1.0,
        "tests/test_b.py::t": 3.0,
    }
    # A cut of the file by its tests names only tests that exist.
    now = {"tests/test_a.py::test_new": 20.0, "tests/test_a.py::test_kept": 9.0}
    run = SuiteTiming({"tests/test_a.py": 29.0}, 1.0, now)
    big = SuiteTiming({"tests/test_a.py": 29.0, "tests/test_b.py": 3.0}, 1.0, {**old, **now})
    named = {unit for group in split_suite(big, 30.0) for unit in group.files}
    assert "tests/test_a.py::test_old" in named  # what the cut was before: pytest stops
    kept = replace(big, tests=current_tests({**old, **now}, run))
    named = {unit for group in split_suite(kept, 30.0) for unit in group.files}
    assert named == {*now, "tests/test_b.py"}
