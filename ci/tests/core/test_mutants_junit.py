"""Reading JUnit reports, from hand-written XML (pure and fast: the real pytest runs are in
test_junit.py). What the pipeline needs from a report: one outcome per test, a rerun's
attempts counted, and two tests that share a name never mistaken for a rerun."""

from __future__ import annotations

from acme_ci.core import junit
from acme_ci.core.junit import parse_junit

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
