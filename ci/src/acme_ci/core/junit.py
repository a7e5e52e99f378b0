"""Read a pytest JUnit XML report: which tests failed, which passed only after reruns.

pytest-rerunfailures gives a rerun attempt outcome "rerun", which pytest's junitxml plugin
records as one more <testcase> with the same classname and name and no result child. So a
test's attempts are its repeated <testcase> elements, and the last one holds the verdict.
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
    attempts: dict[str, int] = {}
    verdict: dict[str, str] = {}
    for case in root.iter("testcase"):
        classname = case.get("classname", "")
        name = case.get("name", "")
        test_id = f"{classname}::{name}" if classname else name
        attempts[test_id] = attempts.get(test_id, 0) + 1
        if case.find("failure") is not None or case.find("error") is not None:
            verdict[test_id] = "failed"
        elif case.find("skipped") is not None:
            verdict[test_id] = "skipped"
        else:
            verdict[test_id] = "passed"
    return JunitSummary(
        tuple(TestOutcome(t, attempts[t], verdict[t]) for t in attempts),
    )
