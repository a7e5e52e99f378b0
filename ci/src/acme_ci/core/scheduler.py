"""A plan executed, shell-neutral and async: needs first, bounded concurrency, every outcome kept.

Both runners use it: the native runner with a subprocess executor, the Dagger runner (the
module) with an executor that runs the same argv in a container.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

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
    # Where a hit came from ("local" or "remote"), and the bytes moved to or from the remote.
    cache_source: str | None = None
    cache_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES


@dataclass(frozen=True)
class RunResult:
    """Every step's result in plan order, and the wall-clock time of the run."""

    plan: Plan
    results: tuple[StepResult, ...]
    duration: float
    # Which runner ran it: "native" or "dagger".
    runner: str = "native"
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # Expected step durations from earlier runs (empty: never measured).
    expected: Mapping[str, float] = field(default_factory=dict)
    # The remote cache's location and scopes, when one is configured.
    remote_cache: str | None = None

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

    def expected_critical_path(self) -> tuple[tuple[str, ...], float]:
        """The critical path the earlier runs' durations predicted (all steps running)."""
        return self.plan.critical_path(self.expected)


@dataclass(frozen=True)
class Event:
    """Progress: a step started (`result` None; `early`: ahead of needs it does not read)
    or ended with `result`."""

    kind: EventKind
    step: Step
    result: StepResult | None = None
    early: bool = False


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
    runner: str = "native",
    expected: Mapping[str, float] | None = None,
    longest_chain_first: bool = True,
    unseen_first: Sequence[str] = (),
) -> RunResult:
    """Run every step once its needs passed, at most `jobs` at a time.

    Of the steps ready to start, the one with the longest remaining chain (its `expected`
    duration plus the longest path of its dependents) goes first; ties, and steps never
    seen (no expected duration), go in the order of `unseen_first` (step ids; the shell's
    prior, such as the biggest package first), then in plan order. Without
    `longest_chain_first`, every step keeps plan order. When no step is ready and a worker
    is free, a step that does not read its needs' outputs (`Step.reads_needs` False)
    starts early; its result is held until its needs end, and it is blocked like any
    other if one of them fails. A failed step blocks only its dependents. An executor
    exception becomes that step's failure (never an ExceptionGroup out of here);
    cancellation still propagates.
    """
    import anyio  # here: a run served whole from the cache never starts an event loop

    if jobs < 1:
        raise ValueError("jobs must be >= 1")
    _check_needs(plan)
    emit = on_event or (lambda event: None)
    expected = dict(expected or {})
    walk = _Walk(plan, _start_ranks(plan, expected, longest_chain_first, unseen_first))
    started = time.monotonic()
    send, receive = anyio.create_memory_object_stream[tuple[Step, StepResult]](len(plan.steps) or 1)

    async def visit(step: Step) -> None:
        await send.send((step, await _guarded(executor, step)))

    async with send, receive, anyio.create_task_group() as tg:
        running = 0
        while not walk.done:
            while running < jobs and (start := walk.next_start()) is not None:
                emit(start)
                tg.start_soon(visit, start.step)
                running += 1
            step, result = await receive.receive()
            running -= 1
            for event in walk.finished(step, result):
                emit(event)
    return RunResult(
        plan=plan,
        results=tuple(walk.results[s.id] for s in plan.steps),
        duration=time.monotonic() - started,
        runner=runner,
        expected=expected,
    )


def _start_ranks(
    plan: Plan,
    expected: Mapping[str, float],
    longest_chain_first: bool,
    unseen_first: Sequence[str],
) -> dict[str, tuple[float, int]]:
    """Each step's rank among those that may start (lowest first): the longest remaining
    chain, then the shell's preferred order, then plan order (run_plan says when)."""
    chains = plan.remaining_chains(expected if longest_chain_first else {})
    preferred = {
        step_id: i for i, step_id in enumerate(unseen_first if longest_chain_first else ())
    }
    by_preference = sorted(plan.steps, key=lambda step: preferred.get(step.id, len(preferred)))
    return {step.id: (-chains[step.id], i) for i, step in enumerate(by_preference)}


class _Walk:
    """One run's walk of the plan's graph: what each step still waits on, what is ready,
    what started early, and every settled result.

    It decides and records, and runs nothing: run_plan starts the steps it hands out and
    emits the events it returns, so every outcome is data.
    """

    def __init__(self, plan: Plan, ranks: Mapping[str, tuple[float, int]]) -> None:
        self.plan = plan
        self.results: dict[str, StepResult] = {}
        self._ranks = ranks
        self._waiting_on = {step.id: len(set(step.needs)) for step in plan.steps}
        self._users: dict[str, list[Step]] = {step.id: [] for step in plan.steps}
        for step in plan.steps:
            for need in set(step.needs):
                self._users[need].append(step)
        self._ready: list[tuple[tuple[float, int], Step]] = []
        # Steps started early (ahead of needs they do not read), and their results held
        # until every need has settled.
        self._early: set[str] = set()
        self._held: dict[str, StepResult] = {}
        for step in plan.steps:
            if self._waiting_on[step.id] == 0:
                heapq.heappush(self._ready, (ranks[step.id], step))

    @property
    def done(self) -> bool:
        return len(self.results) == len(self.plan.steps)

    def next_start(self) -> Event | None:
        """The next step to start, as its start event; None when none may start now.

        A ready step if there is one; else a step that may start early, so a worker that
        would otherwise wait does not.
        """
        if self._ready:
            _, step = heapq.heappop(self._ready)
            return Event("start", step)
        candidate = self._early_candidate()
        if candidate is None:
            return None
        self._early.add(candidate.id)
        return Event("start", candidate, early=True)

    def finished(self, step: Step, result: StepResult) -> list[Event]:
        """`step` ended with `result`: the events that settles, in order."""
        if step.id not in self._early:
            return list(self._settle(step, result))
        self._held[step.id] = result
        if self._waiting_on[step.id] == 0:
            return list(self._judge(step))
        return []  # its needs are still running: judged when the last one settles

    def _settle(self, step: Step, result: StepResult) -> Iterator[Event]:
        """Record a finished or blocked step; queue or block the dependents it frees."""
        self.results[step.id] = result
        yield Event(result.status, step, result)
        for user in self._users[step.id]:
            self._waiting_on[user.id] -= 1
            if self._waiting_on[user.id] == 0:
                yield from self._judge(user)

    def _judge(self, step: Step) -> Iterator[Event]:
        """Every need of `step` has settled: block it, queue it, or release its held result."""
        blockers = tuple(n for n in step.needs if not self.results[n].ok)
        if step.id in self._early and step.id not in self._held:
            return  # still running: judged again when it ends
        if blockers:
            yield from self._settle(step, StepResult(step.id, "blocked", blocked_by=blockers))
        elif step.id in self._held:
            yield from self._settle(step, self._held.pop(step.id))
        else:
            heapq.heappush(self._ready, (self._ranks[step.id], step))

    def _early_candidate(self) -> Step | None:
        """The step to start ahead of its needs in a worker that would otherwise wait."""
        candidates = [
            step
            for step in self.plan.steps
            if not step.reads_needs
            and self._waiting_on[step.id] > 0
            and step.id not in self._early
            and all(self.results[n].ok for n in step.needs if n in self.results)
        ]
        return min(candidates, key=lambda step: self._ranks[step.id], default=None)


def _check_needs(plan: Plan) -> None:
    """Every need is a step of the plan, and the needs form no cycle (else ValueError)."""
    known = {step.id for step in plan.steps}
    for step in plan.steps:
        unknown = sorted(set(step.needs) - known)
        if unknown:
            raise ValueError(f"step {step.id} needs {', '.join(unknown)}, not in the plan")
    done: set[str] = set()
    pending = list(plan.steps)
    while pending:
        free = {step.id for step in pending if set(step.needs) <= done}
        if not free:
            names = ", ".join(step.id for step in pending)
            raise ValueError(f"the plan's needs form a cycle: no step can start ({names})")
        done |= free
        pending = [step for step in pending if step.id not in free]


async def _guarded(executor: StepExecutor, step: Step) -> StepResult:
    import anyio

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
