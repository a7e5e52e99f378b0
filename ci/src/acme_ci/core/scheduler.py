"""Engine-neutral async execution of a plan: needs first, bounded concurrency, every outcome kept.

Both shells use it: the native runner with a subprocess executor, the Dagger module with an
executor that runs the same argv in a container.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import anyio

from acme_ci.core.plan import Plan, Step

Status = Literal["passed", "failed", "cached", "blocked"]
EventKind = Literal["start", "passed", "failed", "cached", "blocked"]
OK_STATUSES: frozenset[str] = frozenset({"passed", "cached"})


@dataclass(frozen=True)
class Flake:
    """A test that failed, then passed on a rerun."""

    test_id: str
    package: str
    attempts: int


@dataclass(frozen=True)
class StepResult:
    """What happened to one step."""

    step_id: str
    status: Status
    duration: float = 0.0
    output: str = ""
    attempts: int = 1
    flakes: tuple[Flake, ...] = ()
    failed_tests: tuple[str, ...] = ()
    passed_tests: int = 0
    skipped_tests: int = 0
    log_path: str | None = None
    cache_key: str | None = None
    blocked_by: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES


@dataclass(frozen=True)
class RunResult:
    """Every step's result in plan order, and the wall-clock time of the run."""

    plan: Plan
    results: tuple[StepResult, ...]
    duration: float
    engine: str = "native"
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> tuple[StepResult, ...]:
        return tuple(r for r in self.results if r.status == "failed")

    @property
    def flakes(self) -> tuple[Flake, ...]:
        return tuple(f for r in self.results for f in r.flakes)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    def critical_path(self) -> tuple[tuple[str, ...], float]:
        """This run's critical path: measured durations, a cache hit costing nothing."""
        return self.plan.critical_path(
            {r.step_id: 0.0 if r.status == "cached" else r.duration for r in self.results}
        )


@dataclass(frozen=True)
class Event:
    """Progress: a step started (`result` None) or ended with `result`."""

    kind: EventKind
    step: Step
    result: StepResult | None = None


class StepExecutor(Protocol):
    """Runs one step; a shell implements this (subprocesses, containers...)."""

    async def run(self, step: Step) -> StepResult: ...


EventHandler = Callable[[Event], None]


async def run_plan(
    plan: Plan,
    executor: StepExecutor,
    *,
    jobs: int,
    on_event: EventHandler | None = None,
    engine: str = "native",
) -> RunResult:
    """Run every step once its needs passed, at most `jobs` at a time.

    A failed step blocks only its dependents. An executor exception becomes that step's
    failure (never an ExceptionGroup out of here); cancellation still propagates.
    """
    if jobs < 1:
        raise ValueError("jobs must be >= 1")
    known = {step.id for step in plan.steps}
    for step in plan.steps:
        unknown = sorted(set(step.needs) - known)
        if unknown:
            raise ValueError(f"step {step.id} needs {', '.join(unknown)}, not in the plan")
    emit = on_event or (lambda event: None)
    limiter = anyio.CapacityLimiter(jobs)
    done = {step.id: anyio.Event() for step in plan.steps}
    results: dict[str, StepResult] = {}
    started = time.monotonic()

    async def one(step: Step) -> None:
        try:
            for need in step.needs:
                await done[need].wait()
            blockers = tuple(n for n in step.needs if not results[n].ok)
            if blockers:
                result = StepResult(step.id, "blocked", blocked_by=blockers)
            else:
                async with limiter:
                    emit(Event("start", step))
                    result = await _guarded(executor, step)
            results[step.id] = result
            emit(Event(result.status, step, result))
        finally:
            done[step.id].set()

    async with anyio.create_task_group() as tg:
        for step in plan.steps:
            tg.start_soon(one, step)
    return RunResult(
        plan=plan,
        results=tuple(results[s.id] for s in plan.steps),
        duration=time.monotonic() - started,
        engine=engine,
    )


async def _guarded(executor: StepExecutor, step: Step) -> StepResult:
    started = time.monotonic()
    try:
        return await executor.run(step)
    except anyio.get_cancelled_exc_class():
        raise
    except Exception as error:  # the run goes on; this step reports why it broke
        return StepResult(
            step.id,
            "failed",
            duration=time.monotonic() - started,
            output=f"executor error: {type(error).__name__}: {error}",
        )
