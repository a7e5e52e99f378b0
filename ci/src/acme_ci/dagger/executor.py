"""The Dagger shell's StepExecutor: a step's argv, verbatim, in its package container."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import dagger

from acme_ci.core.plan import Step
from acme_ci.core.scheduler import RunResult, StepResult
from acme_ci.core.summary import summary_text
from acme_ci.core.verdict import judge_test_step
from acme_ci.dagger.containers import SRC, in_container
from acme_ci.dagger.junit_echo import failure_verdict, split_report
from acme_ci.dagger.remote_cache import RemoteStepCache

TAIL_LINES = 40


class PipelineFailedError(Exception):
    """One or more steps failed: the message lists every failed and blocked step, then the
    summary and `notes` (lines about the run itself, such as where its report went)."""

    def __init__(self, run: RunResult, notes: Sequence[str] = ()) -> None:
        failed = ", ".join(r.step_id for r in run.failed)
        text = "\n".join([summary_text(run), *notes])
        super().__init__(f"{len(run.failed)} step(s) failed: {failed}\n{text}")
        self.run = run


def check_run(run: RunResult, notes: Sequence[str] = ()) -> str:
    """The run's summary and `notes`, or PipelineFailedError (one error for every failure,
    with them) if any step failed."""
    if not run.ok:
        raise PipelineFailedError(run, notes)
    return "\n".join([summary_text(run), *notes])


@dataclass
class ContainerExecutor:
    """Runs each step in `container_for(step)`; keeps the final containers (for outputs).

    With a remote cache, a step whose entry is found is not run: its outputs come from the
    entry; a step that passed is stored.
    """

    container_for: Callable[[Step], dagger.Container]
    finished: dict[str, dagger.Container] = field(default_factory=dict)
    remote: RemoteStepCache | None = None

    async def run(self, step: Step) -> StepResult:
        if self.remote is None:
            return await self._execute(step)
        key = await self.remote.key(step)
        if key is None:
            return await self._execute(step)
        hit = await self.remote.lookup(step, key)
        if hit is not None:
            self.finished[step.id] = hit.outputs
            return hit.result
        result = await self._execute(step)
        if result.status == "passed":
            sent = await self.remote.store(step, key, result, self.finished[step.id])
            result = replace(result, cache_bytes=sent)
        return replace(result, cache_key=key)

    async def _execute(self, step: Step) -> StepResult:
        started = time.monotonic()
        ctr = self.container_for(step).with_workdir(in_container(step.workdir))
        for name, value in step.env:
            ctr = ctr.with_env_variable(name, value)
        log: list[str] = []
        code = 0
        echoed: str | None = None
        for argv in step.commands:
            log.append(f"$ (cd {step.workdir} && {' '.join(argv)})")
            # expect=SUCCESS (the default): a failure is an engine error, which the engine
            # never caches (acme_ci.dagger.junit_echo), so a flaky failure is not replayed.
            try:
                ctr = await ctr.with_exec(list(argv)).sync()
            except dagger.ExecError as error:
                code = error.exit_code
                stderr, echoed = split_report(error.stderr)
                log.extend([*error.stdout.splitlines(), *stderr.splitlines()])
                log.append(f"exit code {code}")
                break
            log.extend([*(await ctr.stdout()).splitlines(), *(await ctr.stderr()).splitlines()])
        if code == 0:
            self.finished[step.id] = ctr
        result = StepResult(
            step.id,
            "passed" if code == 0 else "failed",
            duration=time.monotonic() - started,
            output="\n".join(log[-TAIL_LINES:]),
        )
        if step.task != "test":
            return result
        if code != 0:
            return failure_verdict(step, code, echoed).applied_to(result, code)
        return judge_test_step(step, code, await _junit_text(step, ctr)).applied_to(result, code)


async def _junit_text(step: Step, ctr: dagger.Container) -> str | None:
    """The step's JUnit report from the container, or None when pytest wrote none."""
    if step.junit_path is None:
        return None
    try:
        return await ctr.file(f"{SRC}/{step.junit_path}").contents()
    except dagger.QueryError:
        return None
