"""The Dagger shell's StepExecutor: a step's argv, verbatim, in its package container."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dagger

from acme_ci.console import summary_text
from acme_ci.dagger_containers import SRC, in_container
from acme_ci.junit import JunitError, parse_junit
from acme_ci.plan import Step
from acme_ci.scheduler import Flake, RunResult, Status, StepResult

TAIL_LINES = 40
# pytest's exit code when it collected no test: a test step that tests nothing is a failure
# (the native executor decides the same).
PYTEST_NO_TESTS = 5


class PipelineFailedError(Exception):
    """One or more steps failed: the message lists every failed and blocked step."""

    def __init__(self, run: RunResult) -> None:
        failed = ", ".join(r.step_id for r in run.failed)
        super().__init__(f"{len(run.failed)} step(s) failed: {failed}\n{summary_text(run)}")
        self.run = run


def check_run(run: RunResult) -> str:
    """The run's summary, or PipelineFailedError (one error for every failure) if any failed."""
    if not run.ok:
        raise PipelineFailedError(run)
    return summary_text(run)


@dataclass
class ContainerExecutor:
    """Runs each step in `container_for(step)`; keeps the final containers (for outputs)."""

    container_for: Callable[[Step], dagger.Container]
    finished: dict[str, dagger.Container] = field(default_factory=dict)

    async def run(self, step: Step) -> StepResult:
        started = time.monotonic()
        ctr = self.container_for(step).with_workdir(in_container(step.workdir))
        for name, value in step.env:
            ctr = ctr.with_env_variable(name, value)
        log: list[str] = []
        code = 0
        for argv in step.commands:
            log.append(f"$ (cd {step.workdir} && {' '.join(argv)})")
            # ANY: a failing command is a result to report, not an engine error that would
            # hide the other steps' outcomes.
            ctr = await ctr.with_exec(list(argv), expect=dagger.ReturnType.ANY).sync()
            code = await ctr.exit_code()
            log.extend([*(await ctr.stdout()).splitlines(), *(await ctr.stderr()).splitlines()])
            if code != 0:
                log.append(f"exit code {code}")
                break
        self.finished[step.id] = ctr
        status: Status = "passed" if code == 0 else "failed"
        attempts = 1
        flakes: tuple[Flake, ...] = ()
        failed_tests: tuple[str, ...] = ()
        if step.task == "test":
            attempts, flakes, failed_tests, note = await _test_outcome(step, ctr, code)
            if note:
                log.append(note)
                status = "failed"
        return StepResult(
            step.id,
            status,
            duration=time.monotonic() - started,
            output="\n".join(log[-TAIL_LINES:]),
            attempts=attempts,
            flakes=flakes,
            failed_tests=failed_tests,
        )


async def _test_outcome(
    step: Step, ctr: dagger.Container, code: int
) -> tuple[int, tuple[Flake, ...], tuple[str, ...], str]:
    """Attempts, flakes, failing tests and a failure note, from the step's JUnit report."""
    note = f"{step.package}: pytest collected no tests" if code == PYTEST_NO_TESTS else ""
    junit = step.junit_path
    if junit is None:
        return 1, (), (), note
    try:
        summary = parse_junit(await ctr.file(f"{SRC}/{junit}").contents())
    except dagger.QueryError:
        return 1, (), (), note or ("no JUnit report written" if code else "")
    except JunitError as error:
        return 1, (), (), f"{junit}: {error}"
    attempts = max((o.attempts for o in summary.outcomes), default=1)
    flakes = tuple(Flake(o.test_id, step.package, o.attempts) for o in summary.flaky)
    return attempts, flakes, tuple(o.test_id for o in summary.failed), note
