"""Read a pytest JUnit XML report: which tests failed, which passed only after reruns.

pytest-rerunfailures gives a rerun attempt outcome "rerun", which pytest's junitxml plugin
records as one more <testcase> with the same classname and name and no result child. So a
test's attempts are its repeated <testcase> elements, and the last one holds the verdict.

Distinct tests can share a name too (schemathesis gives every API operation's test the
function's node id). The suite's `tests` attribute counts tests, not attempts, so a suite
with as many <testcase> elements as tests had no rerun: there every element is a test of
its own, and six fuzzed operations are never read as one test that passed after five reruns.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


class JunitError(Exception):
    """The report is missing or is not JUnit XML."""


@dataclass(frozen=True)
class TestOutcome:
    """One test across its attempts."""

    test_id: str
    attempts: int
    status: str  # "passed" | "failed" | "skipped", from the last attempt

    @property
    def passed(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True)
class JunitSummary:
    outcomes: tuple[TestOutcome, ...]

    @property
    def flaky(self) -> tuple[TestOutcome, ...]:
        return tuple(o for o in self.outcomes if o.passed and o.attempts > 1)

    @property
    def failed(self) -> tuple[TestOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def parse_junit(text: str) -> JunitSummary:
    """Outcomes in report order, one per test, its verdict from its last attempt."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise JunitError(f"not a JUnit XML report: {error}") from error
    outcomes: list[TestOutcome] = []
    # iter() includes the root itself; a report without any <testsuite> is read as one.
    for suite in list(root.iter("testsuite")) or [root]:
        cases = suite.findall("testcase")
        declared = suite.get("tests")
        if declared is not None and declared.isdigit() and int(declared) == len(cases):
            outcomes.extend(TestOutcome(_test_id(c), 1, _status(c)) for c in cases)
        else:
            outcomes.extend(_grouped(cases))
    return JunitSummary(tuple(outcomes))


def _test_id(case: ET.Element) -> str:
    classname = case.get("classname", "")
    name = case.get("name", "")
    return f"{classname}::{name}" if classname else name


def _status(case: ET.Element) -> str:
    if case.find("failure") is not None or case.find("error") is not None:
        return "failed"
    if case.find("skipped") is not None:
        return "skipped"
    return "passed"


def _grouped(cases: list[ET.Element]) -> list[TestOutcome]:
    """Repeated (classname, name) elements are one test's attempts; the last one decides."""
    attempts: dict[str, int] = {}
    verdict: dict[str, str] = {}
    for case in cases:
        test_id = _test_id(case)
        attempts[test_id] = attempts.get(test_id, 0) + 1
        verdict[test_id] = _status(case)
    return [TestOutcome(t, attempts[t], verdict[t]) for t in attempts]
