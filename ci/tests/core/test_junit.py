"""Reading JUnit reports written by real pytest runs with pytest-rerunfailures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from acme_ci.core import junit
from acme_ci.core.junit import JunitError, parse_junit

from ..conftest import PYTEST_PLUGINS

PLUGINS = PYTEST_PLUGINS.split()

SUITE = """\
import pathlib

COUNTER = pathlib.Path(__file__).with_name("attempts")


def test_flaky():
    n = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(n + 1))
    assert n >= 1, "first attempt fails"


def test_broken():
    assert False, "always"


def test_fine():
    pass


def test_skipped():
    import pytest
    pytest.skip("not here")
"""


@pytest.mark.usefixtures("bytecode_cache")
def test_reruns_become_attempts_flakes_and_failures(tmp_path: Path) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *PLUGINS, "--reruns",
         "2", "--max-suite-reruns=5", "--junitxml=report.xml", "test_suite.py"],
        cwd=tmp_path, capture_output=True, check=False,
    )  # fmt: skip
    summary = parse_junit((tmp_path / "report.xml").read_text())
    outcomes = {o.test_id: o for o in summary.outcomes}
    assert outcomes["test_suite::test_flaky"].attempts == 2
    assert [o.test_id for o in summary.flaky] == ["test_suite::test_flaky"]
    assert [(o.test_id, o.attempts) for o in summary.failed] == [("test_suite::test_broken", 3)]
    assert summary.count("passed") == 2
    assert summary.count("skipped") == 1


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(JunitError, match="not a JUnit XML report"):
        parse_junit("<testsuite")


def test_distinct_tests_sharing_a_name_are_not_reruns() -> None:
    """Schemathesis gives every API operation's test the function's node id; pytest's
    `tests` count shows there was no rerun, so no flake is reported."""
    cases = "".join(
        f'<testcase classname="tests.test_fuzz" name="test_api" time="0.{i}" />' for i in range(6)
    )
    failing = (
        '<testcase classname="tests.test_fuzz" name="test_api"><failure>500</failure></testcase>'
    )
    summary = parse_junit(
        f'<testsuites><testsuite tests="7">{cases}{failing}</testsuite></testsuites>'
    )
    assert summary.flaky == ()
    assert [o.attempts for o in summary.outcomes] == [1] * 7
    assert summary.count("passed") == 6
    assert [o.test_id for o in summary.failed] == ["tests.test_fuzz::test_api"]


# Reading JUnit reports, from hand-written XML (pure and fast: the real pytest runs are in
# test_junit.py). What the pipeline needs from a report: one outcome per test, a rerun's
# attempts counted, and two tests that share a name never mistaken for a rerun.


Outcome = junit.TestOutcome  # not imported by its own name: pytest would try to collect it


def _case(name: str, result: str = "", classname: str = "tests.test_api") -> str:
    return f'<testcase classname="{classname}" name="{name}">{result}</testcase>'


FAILURE = '<failure message="boom">boom</failure>'


def test_a_suite_that_declares_its_count_holds_distinct_tests_even_with_one_name() -> None:
    # schemathesis gives every API operation's test the same name; the suite's `tests`
    # count says there are three tests, not one test run three times.
    cases = _case("test_api", FAILURE) + _case("test_api") + _case("test_api")
    report = f'<testsuites><testsuite name="pytest" tests="3">{cases}</testsuite></testsuites>'
    assert parse_junit(report).outcomes == (
        Outcome("tests.test_api::test_api", 1, "failed"),
        Outcome("tests.test_api::test_api", 1, "passed"),
        Outcome("tests.test_api::test_api", 1, "passed"),
    )


def test_repeated_cases_beyond_the_declared_count_are_one_tests_attempts() -> None:
    # pytest-rerunfailures writes a rerun as another <testcase>; `tests` counts tests.
    cases = _case("test_flaky", FAILURE) + _case("test_flaky") + _case("test_other")
    for declared in ('tests="2"', 'tests="x"', ""):
        report = f"<testsuites><testsuite {declared}>{cases}</testsuite></testsuites>"
        assert parse_junit(report).outcomes == (
            Outcome("tests.test_api::test_flaky", 2, "passed"),
            Outcome("tests.test_api::test_other", 1, "passed"),
        ), declared


def test_every_suite_is_read_on_its_own_terms() -> None:
    counted = f'<testsuite tests="2">{_case("t", FAILURE)}{_case("t")}</testsuite>'
    reruns = f'<testsuite tests="1">{_case("u", FAILURE)}{_case("u")}</testsuite>'
    report = f"<testsuites>{counted}{reruns}</testsuites>"
    assert parse_junit(report).outcomes == (
        Outcome("tests.test_api::t", 1, "failed"),
        Outcome("tests.test_api::t", 1, "passed"),
        Outcome("tests.test_api::u", 2, "passed"),
    )


def test_a_bare_testsuite_root_and_a_case_without_classname() -> None:
    report = f'<testsuite tests="1">{_case("solo", classname="")}</testsuite>'
    assert parse_junit(report).outcomes == (Outcome("solo", 1, "passed"),)
