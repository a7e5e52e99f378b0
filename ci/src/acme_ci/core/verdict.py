"""How a test step is judged: pytest's exit code plus what its JUnit report says.

Both shells call `judge_test_step` with the report's text (or None when there is none), so a
flake, a failing test or a suite that tested nothing is judged the same natively and on Dagger.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from acme_ci.core.junit import JunitError, parse_junit
from acme_ci.core.plan import Step
from acme_ci.core.scheduler import Flake, StepResult

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
