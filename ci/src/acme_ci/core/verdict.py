"""How a test step is judged: pytest's exit code plus what its JUnit report says.

Both shells call `judge_test_step` with the report's text (or None when there is none), so a
flake, a failing test or a suite that tested nothing is judged the same natively and on Dagger.
A suite run as groups in several shards is judged as one again (`merged_test_result`), its
reports merged into one (`merged_junit`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace

from acme_ci.core.junit import JunitError, parse_junit
from acme_ci.core.plan import Step
from acme_ci.core.scheduler import Flake, Status, StepResult

# pytest's exit code when it collected no test: a test step that tests nothing is a failure.
PYTEST_NO_TESTS = 5


@dataclass(frozen=True)
class TestVerdict:
    """What a test step's run means: failure notes, attempts, flakes, test counts."""

    __test__ = False  # not a pytest test class, despite its name

    notes: tuple[str, ...] = ()
    attempts: int = 1
    flakes: tuple[Flake, ...] = ()
    failed_tests: tuple[str, ...] = ()
    passed_tests: int = 0
    skipped_tests: int = 0

    def applied_to(self, result: StepResult, returncode: int) -> StepResult:
        """`result` with the verdict: failed on a non-zero exit or any note."""
        failed = returncode != 0 or bool(self.notes)
        return replace(
            result,
            status="failed" if failed else result.status,
            output="\n".join([result.output, *self.notes]) if self.notes else result.output,
            attempts=self.attempts,
            flakes=self.flakes,
            failed_tests=self.failed_tests,
            passed_tests=self.passed_tests,
            skipped_tests=self.skipped_tests,
        )


def judge_test_step(step: Step, returncode: int, junit_text: str | None) -> TestVerdict:
    """The verdict of a test step that exited with `returncode` and wrote `junit_text`."""
    notes: list[str] = []
    if returncode == PYTEST_NO_TESTS:
        notes.append(f"{step.package}: pytest collected no tests")
    if junit_text is None:
        notes.append(f"{step.package}: pytest wrote no JUnit report")
        return TestVerdict(tuple(notes))
    try:
        summary = parse_junit(junit_text)
    except JunitError as error:
        return TestVerdict((*notes, f"{step.junit_path}: {error}"))
    return TestVerdict(
        tuple(notes),
        attempts=max((o.attempts for o in summary.outcomes), default=1),
        flakes=tuple(Flake(o.test_id, step.package, o.attempts) for o in summary.flaky),
        failed_tests=tuple(o.test_id for o in summary.failed),
        passed_tests=summary.count("passed"),
        skipped_tests=summary.count("skipped"),
    )


def merged_test_result(
    step: Step, groups: Sequence[StepResult], junit_texts: Sequence[str], cap: int
) -> StepResult:
    """A test step's result from its groups' (acme_ci.core.test_groups): failed when any
    group failed, or when they reran more tests than the suite's cap `cap` (0: none).

    Each group runs with the whole cap, so together they may rerun more than the suite run
    at once could: that suite would have stopped rerunning once its budget ran out and
    failed, so the merged verdict counts the reruns of every group (from their JUnit
    reports) and fails the package, naming the cap, when they exceed it.
    """
    reruns = sum(_reruns(text) for text in junit_texts)
    notes = (
        [
            f"{step.package}: {reruns} reruns across its {len(groups)} groups, over the "
            f"suite's cap of {cap} (--max-suite-reruns): run whole, the suite would have "
            "stopped rerunning and failed"
        ]
        if cap and reruns > cap
        else []
    )
    failed = [g for g in groups if not g.ok]
    cached = all(g.status == "cached" for g in groups)
    status: Status = "failed" if failed or notes else "cached" if cached else "passed"
    return StepResult(
        step.id,
        status,
        duration=sum(g.duration for g in groups),
        output="\n".join([*(f"{g.step_id}:\n{g.output}" for g in failed), *notes]),
        attempts=max(g.attempts for g in groups),
        flakes=tuple(f for g in groups for f in g.flakes),
        failed_tests=tuple(t for g in groups for t in g.failed_tests),
        passed_tests=sum(g.passed_tests for g in groups),
        skipped_tests=sum(g.skipped_tests for g in groups),
        cache_source="+".join(sorted({g.cache_source for g in groups if g.cache_source}))
        if cached
        else None,
        cache_bytes=sum(g.cache_bytes for g in groups),
    )


def _reruns(junit_text: str) -> int:
    """Reruns a JUnit report records: each test's attempts beyond its first (0: unreadable,
    a report its group's verdict already failed)."""
    try:
        return sum(o.attempts - 1 for o in parse_junit(junit_text).outcomes)
    except JunitError:
        return 0


def merged_junit(junit_texts: Sequence[str]) -> str:
    """One JUnit report holding every test suite of `junit_texts` (unreadable ones left out)."""
    merged = ET.Element("testsuites", name="pytest tests")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    seconds = 0.0
    for text in junit_texts:
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            continue
        for suite in root.iter("testsuite"):
            merged.append(suite)
            for name in totals:
                totals[name] += int(suite.get(name, "0"))
            seconds += float(suite.get("time", "0"))
    for name, total in totals.items():
        merged.set(name, str(total))
    merged.set("time", f"{seconds:.3f}")
    return ET.tostring(merged, encoding="unicode", xml_declaration=True)
