"""The flaky-test policy's verdict: what a test step's exit code and JUnit report mean.

Written against the policy (a flake passes and is reported, a test failing every attempt
fails the step, a step that tested nothing or left no report fails with a note saying so),
and sharpened by mutation testing (bench/mutation.py): each test pins a behaviour a user
would see in the summary.
"""

from __future__ import annotations

import re

import pytest

from acme_ci.core.junit import JunitError, parse_junit
from acme_ci.core.plan import Step
from acme_ci.core.scheduler import Flake, StepResult
from acme_ci.core.verdict import PYTEST_NO_TESTS, TestVerdict, judge_test_step

STEP = Step(
    id="acme-user:test",
    package="acme-user",
    task="test",
    commands=(("python", "-m", "pytest"),),
    workdir="services/user",
    env=(),
    inputs=(),
    needs=(),
    outputs=(".acme/reports/acme-user/junit.xml",),
    reason="--all",
)


def report(*cases: str) -> str:
    """A JUnit report as pytest's junitxml plugin writes it: reruns repeat the testcase, and
    the suite's `tests` counts tests, not attempts."""
    body = "".join(cases)
    tests = len(
        {re.sub(r"^(<testcase[^>]*?)(?: time=\"[^\"]*\")?\s*/?>.*$", r"\1", c) for c in cases}
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites>'
        f'<testsuite name="pytest" tests="{tests}">{body}</testsuite></testsuites>'
    )


def case(name: str, outcome: str = "", classname: str = "tests.test_api") -> str:
    child = {
        "": "",
        "failure": '<failure message="assert 1 == 2">AssertionError</failure>',
        "error": '<error message="fixture broke">RuntimeError</error>',
        "skipped": '<skipped type="pytest.skip" message="no db">skip</skipped>',
    }[outcome]
    attr = f' classname="{classname}"' if classname else ""
    return f'<testcase{attr} name="{name}" time="0.01">{child}</testcase>'


# A flaky test as pytest-rerunfailures reports it: two failed attempts, then a pass.
FLAKY = (case("test_slow", "failure"), case("test_slow", "failure"), case("test_slow"))


def test_a_flake_passes_the_step_and_is_reported_with_its_attempts() -> None:
    verdict = judge_test_step(STEP, 0, report(case("test_ok"), *FLAKY))
    assert verdict.notes == ()
    assert verdict.flakes == (Flake("tests.test_api::test_slow", "acme-user", 3),)
    assert verdict.attempts == 3
    assert verdict.failed_tests == ()
    assert verdict.passed_tests == 2
    result = verdict.applied_to(StepResult(STEP.id, "passed", output="2 passed"), 0)
    assert result.status == "passed"
    assert result.output == "2 passed"
    assert (result.attempts, result.flakes, result.passed_tests) == (3, verdict.flakes, 2)


def test_a_test_failing_every_attempt_fails_the_step_and_is_named() -> None:
    broken = (case("test_real", "failure"),) * 3
    verdict = judge_test_step(STEP, 1, report(case("test_ok"), *broken, case("test_db", "skipped")))
    assert verdict.failed_tests == ("tests.test_api::test_real",)
    assert verdict.flakes == ()
    assert verdict.attempts == 3
    assert (verdict.passed_tests, verdict.skipped_tests) == (1, 1)
    result = verdict.applied_to(StepResult(STEP.id, "passed", output="1 failed"), 1)
    assert result.status == "failed"
    assert result.failed_tests == ("tests.test_api::test_real",)
    assert result.skipped_tests == 1
    assert result.output == "1 failed"


def test_an_erroring_test_counts_as_failed() -> None:
    verdict = judge_test_step(STEP, 1, report(case("test_setup", "error")))
    assert verdict.failed_tests == ("tests.test_api::test_setup",)
    assert verdict.passed_tests == 0


def test_a_suite_that_collected_nothing_fails_with_a_note() -> None:
    verdict = judge_test_step(STEP, PYTEST_NO_TESTS, report())
    assert verdict.notes == ("acme-user: pytest collected no tests",)
    assert verdict.attempts == 1
    result = verdict.applied_to(StepResult(STEP.id, "passed", output="no tests ran"), 0)
    assert result.status == "failed"
    assert result.output == "no tests ran\nacme-user: pytest collected no tests"


def test_no_report_fails_the_step_even_when_pytest_exited_zero() -> None:
    verdict = judge_test_step(STEP, 0, None)
    assert verdict == TestVerdict(("acme-user: pytest wrote no JUnit report",))
    assert verdict.applied_to(StepResult(STEP.id, "passed"), 0).status == "failed"
    both = judge_test_step(STEP, PYTEST_NO_TESTS, None)
    assert both.notes == (
        "acme-user: pytest collected no tests",
        "acme-user: pytest wrote no JUnit report",
    )


def test_an_unreadable_report_fails_the_step_and_names_the_file() -> None:
    verdict = judge_test_step(STEP, PYTEST_NO_TESTS, "<testsuites><testcase")
    assert verdict.notes[0] == "acme-user: pytest collected no tests"
    assert verdict.notes[1].startswith(".acme/reports/acme-user/junit.xml: not a JUnit XML report")
    assert len(verdict.notes) == 2
    assert verdict.applied_to(StepResult(STEP.id, "passed"), 0).status == "failed"


def test_a_clean_run_keeps_the_result_as_it_was() -> None:
    verdict = judge_test_step(STEP, 0, report(case("test_ok"), case("test_two")))
    assert verdict == TestVerdict(passed_tests=2)
    original = StepResult(STEP.id, "cached", duration=1.5, output="2 passed", log_path="x.log")
    assert verdict.applied_to(original, 0) == StepResult(
        STEP.id, "cached", duration=1.5, output="2 passed", passed_tests=2, log_path="x.log"
    )


def test_a_non_zero_exit_fails_even_when_every_test_passed() -> None:
    verdict = judge_test_step(STEP, 2, report(case("test_ok")))
    assert verdict.notes == ()
    assert verdict.applied_to(StepResult(STEP.id, "passed"), 2).status == "failed"


def test_report_reading_keeps_order_ids_and_last_attempt_verdict() -> None:
    summary = parse_junit(
        report(
            case("test_b", "failure"),
            case("test_a", "skipped"),
            case("test_b"),
            case("test_plain", classname=""),
            case("test_c", "failure"),
        )
    )
    assert [(o.test_id, o.attempts, o.status) for o in summary.outcomes] == [
        ("tests.test_api::test_b", 2, "passed"),
        ("tests.test_api::test_a", 1, "skipped"),
        ("test_plain", 1, "passed"),
        ("tests.test_api::test_c", 1, "failed"),
    ]
    assert [o.test_id for o in summary.flaky] == ["tests.test_api::test_b"]
    assert [o.test_id for o in summary.failed] == ["tests.test_api::test_c"]
    assert (summary.count("passed"), summary.count("skipped"), summary.count("failed")) == (2, 1, 1)
    assert summary.outcomes[1].passed  # a skip is not a failure


def test_a_test_that_passed_then_failed_on_its_last_attempt_is_failed_not_flaky() -> None:
    summary = parse_junit(report(case("test_x"), case("test_x", "error")))
    assert [(o.attempts, o.status) for o in summary.outcomes] == [(2, "failed")]
    assert summary.flaky == ()


@pytest.mark.parametrize("text", ["", "not xml", "<testsuites>"])
def test_garbage_is_a_junit_error(text: str) -> None:
    with pytest.raises(JunitError, match="not a JUnit XML report"):
        parse_junit(text)


def test_a_testcase_without_name_or_class_is_still_counted() -> None:
    summary = parse_junit(report('<testcase classname="c" />', '<testcase name="n" />'))
    assert [(o.test_id, o.status) for o in summary.outcomes] == [("c::", "passed"), ("n", "passed")]
