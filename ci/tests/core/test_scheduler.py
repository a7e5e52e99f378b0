"""The scheduler with a fake executor: order, blocking, bounded concurrency, no leaked groups."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acme_ci.core.affected import select_all
from acme_ci.core.plan import Plan, Step, make_plan
from acme_ci.core.scheduler import Event, StepResult, run_plan
from acme_ci.core.workspace import parse_workspace

from .graphs import dag_manifests


class Recorder:
    """Runs nothing; records start/finish order and the peak number of running steps."""

    def __init__(
        self, failing: frozenset[str] = frozenset(), crashing: frozenset[str] = frozenset()
    ):
        self.failing = failing
        self.crashing = crashing
        self.log: list[tuple[str, str]] = []
        self.running = 0
        self.peak = 0

    async def run(self, step: Step) -> StepResult:
        self.log.append(("start", step.id))
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await anyio.lowlevel.checkpoint()
            await anyio.lowlevel.checkpoint()
            if step.id in self.crashing:
                raise RuntimeError("executor broke")
            if step.id in self.failing:
                return StepResult(step.id, "failed")
            return StepResult(step.id, "passed")
        finally:
            self.running -= 1
            self.log.append(("finish", step.id))


def _plan(graph: dict[str, tuple[str, ...]]) -> Plan:
    manifests = {
        name: f'[project]\nname = "{name}"\ndependencies = [{", ".join(repr(d) for d in deps)}]\n'
        for name, deps in graph.items()
    }
    ws = parse_workspace({k: v.replace("'", '"') for k, v in manifests.items()})
    return make_plan(ws, select_all(ws))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(dag_manifests(max_size=6), st.integers(min_value=1, max_value=4), st.data())
def test_a_step_never_starts_before_what_it_needs_finished(
    graph: dict[str, tuple[str, ...]], jobs: int, data: st.DataObject
) -> None:
    plan = _plan(graph)
    failing = data.draw(st.frozensets(st.sampled_from([s.id for s in plan.steps])))
    recorder = Recorder(failing=failing)
    result = anyio.run(lambda: run_plan(plan, recorder, jobs=jobs))

    position = {entry: i for i, entry in enumerate(recorder.log)}
    for step in plan.steps:
        if ("start", step.id) in position and step.reads_needs:
            for need in step.needs:
                assert position[("finish", need)] < position[("start", step.id)]
    assert recorder.peak <= jobs
    by_id = {r.step_id: r for r in result.results}
    for step in plan.steps:
        needs_ok = all(by_id[n].ok for n in step.needs)
        # A step is blocked iff something it needs did not pass; a step that reads its needs
        # runs iff they all passed (one that does not may have run early, and still be blocked).
        assert (by_id[step.id].status == "blocked") == (not needs_ok)
        if step.reads_needs:
            assert (("start", step.id) in position) == needs_ok
        else:
            assert needs_ok <= (("start", step.id) in position)
    assert result.ok == (not failing)


@pytest.mark.anyio
async def test_an_executor_crash_fails_that_step_and_blocks_only_its_dependents() -> None:
    plan = _plan({"a": (), "b": ("a",), "c": ()})
    events: list[Event] = []
    recorder = Recorder(crashing=frozenset({"a:test"}))
    result = await run_plan(plan, recorder, jobs=2, on_event=events.append)
    status = {r.step_id: r.status for r in result.results}
    assert status["a:test"] == "failed"
    assert "RuntimeError: executor broke" in result.results[1].output
    assert status["a:build"] == status["b:build"] == "blocked"
    assert status["c:build"] == status["b:test"] == "passed"
    assert {e.step.id for e in events if e.kind == "blocked"} == {"a:build", "b:build"}
    assert [r.step_id for r in result.failed] == ["a:test"]


@pytest.mark.anyio
async def test_unknown_needs_cycles_and_bad_jobs_are_rejected() -> None:
    step = Step("x:test", "x", "test", (), ".", (), (), ("ghost",), (), "r")
    with pytest.raises(ValueError, match="needs ghost"):
        await run_plan(Plan((step,)), Recorder(), jobs=1)
    a = Step("a", "x", "test", (), ".", (), (), ("b",), (), "r")
    b = Step("b", "x", "test", (), ".", (), (), ("a",), (), "r")
    c = Step("c", "x", "test", (), ".", (), (), (), (), "r")
    for steps in ((c, a, b), (a, b, c)):
        with pytest.raises(ValueError, match=r"form a cycle: no step can start \(a, b\)"):
            await run_plan(Plan(steps), Recorder(), jobs=2)
    # Needs freed in different rounds are no cycle: d needs c (round 1) and e (round 2).
    d = Step("d", "x", "test", (), ".", (), (), ("c", "e"), (), "r")
    e = Step("e", "x", "test", (), ".", (), (), ("c",), (), "r")
    result = await run_plan(Plan((c, e, d)), Recorder(), jobs=2)
    assert result.ok
    with pytest.raises(ValueError, match="jobs"):
        await run_plan(Plan(()), Recorder(), jobs=0)


def _chain_plan() -> Plan:
    """Plan order puts the short independent steps first and the long chain last."""

    def step(step_id: str, *needs: str) -> Step:
        return Step(step_id, step_id, "test", (), ".", (), (), needs, (), "r")

    return Plan(
        (step("a"), step("b"), step("c1"), step("c2", "c1"), step("c3", "c2"), step("d", "a"))
    )


@pytest.mark.anyio
async def test_the_ready_step_with_the_longest_remaining_chain_starts_first() -> None:
    plan = _chain_plan()
    expected = {"a": 1.0, "b": 2.0, "c1": 1.0, "c2": 1.0, "c3": 1.0, "d": 0.5}
    assert plan.remaining_chains(expected) == {
        "a": 1.5, "b": 2.0, "c1": 3.0, "c2": 2.0, "c3": 1.0, "d": 0.5
    }  # fmt: skip
    recorder = Recorder()
    await run_plan(plan, recorder, jobs=1, expected=expected)
    starts = [step_id for kind, step_id in recorder.log if kind == "start"]
    # c1 heads the 3 s chain; then c2 (2 s left) ties with b, and plan order breaks the tie.
    assert starts == ["c1", "b", "c2", "a", "c3", "d"]


@pytest.mark.anyio
async def test_steps_never_seen_keep_plan_order() -> None:
    plan = _chain_plan()
    recorder = Recorder()
    result = await run_plan(plan, recorder, jobs=1)
    starts = [step_id for kind, step_id in recorder.log if kind == "start"]
    assert starts == ["a", "b", "c1", "c2", "c3", "d"]
    assert result.expected_critical_path() == (("a",), 0.0)

    recorder = Recorder()  # durations known, but plan order asked for (--schedule plan-order)
    expected = {"c1": 9.0}
    await run_plan(plan, recorder, jobs=1, expected=expected, longest_chain_first=False)
    assert [step_id for kind, step_id in recorder.log if kind == "start"][:3] == ["a", "b", "c1"]


@pytest.mark.anyio
async def test_steps_never_seen_go_in_the_shells_preferred_order_then_plan_order() -> None:
    plan = _chain_plan()
    recorder = Recorder()
    await run_plan(plan, recorder, jobs=1, unseen_first=("c1", "b"))
    starts = [step_id for kind, step_id in recorder.log if kind == "start"]
    # c1 and b first, as preferred; then plan order for the rest (c2 is ready after c1).
    assert starts == ["c1", "b", "a", "c2", "c3", "d"]

    recorder = Recorder()  # a step with a known chain still goes before every unseen one
    await run_plan(plan, recorder, jobs=1, expected={"a": 1.0}, unseen_first=("c1", "b"))
    assert [step_id for kind, step_id in recorder.log if kind == "start"][:3] == ["a", "c1", "b"]

    recorder = Recorder()  # plan order asked for: the preference is ignored too
    await run_plan(plan, recorder, jobs=1, unseen_first=("c1",), longest_chain_first=False)
    assert [step_id for kind, step_id in recorder.log if kind == "start"][:2] == ["a", "b"]


class Released:
    """Each step runs until the test releases it; records starts and ends in order."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.failing = failing
        self.log: list[tuple[str, str]] = []
        self.release: dict[str, anyio.Event] = {}

    async def run(self, step: Step) -> StepResult:
        self.log.append(("start", step.id))
        await self.release.setdefault(step.id, anyio.Event()).wait()
        self.log.append(("finish", step.id))
        return StepResult(step.id, "failed" if step.id in self.failing else "passed")

    async def finish(self, step_id: str) -> None:
        """Let `step_id` end, then let the scheduler react."""
        self.release.setdefault(step_id, anyio.Event()).set()
        for _ in range(20):
            await anyio.lowlevel.checkpoint()

    def started(self) -> list[str]:
        return [step_id for kind, step_id in self.log if kind == "start"]


async def _drive(
    plan: Plan, executor: Released, jobs: int, order: list[str], events: list[Event]
) -> list[tuple[list[str], tuple[str, ...]]]:
    """Run `plan`, ending steps in `order`; what had started, and settled, before each end."""
    seen: list[tuple[list[str], tuple[str, ...]]] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: run_plan(plan, executor, jobs=jobs, on_event=events.append))
        for step_id in order:
            for _ in range(20):
                await anyio.lowlevel.checkpoint()
            settled = tuple(e.step.id for e in events if e.kind != "start")
            seen.append((executor.started(), settled))
            await executor.finish(step_id)
    return seen


@pytest.mark.anyio
async def test_a_build_starts_early_in_a_free_worker_and_passes_once_its_needs_pass() -> None:
    plan = _plan({"a": ()})
    events: list[Event] = []
    executor = Released()
    seen = await _drive(plan, executor, 2, ["a:lint", "a:build", "a:test"], events)
    # Lint ends while the test runs: the build takes the free worker at once...
    assert seen[1][0] == ["a:lint", "a:test", "a:build"]
    # ...but its result is held until the test, which gates it, has passed.
    assert seen[2][1] == ("a:lint",)
    assert [(e.kind, e.step.id) for e in events if e.kind != "start"] == [
        ("passed", "a:lint"), ("passed", "a:test"), ("passed", "a:build")
    ]  # fmt: skip
    assert [e.step.id for e in events if e.early] == ["a:build"]


@pytest.mark.anyio
async def test_an_early_build_is_blocked_when_a_need_fails_after_it_ended() -> None:
    plan = _plan({"a": ()})
    events: list[Event] = []
    executor = Released(failing=frozenset({"a:test"}))
    await _drive(plan, executor, 2, ["a:lint", "a:build", "a:test"], events)
    result = {e.step.id: e.result for e in events if e.result is not None}
    assert set(result) == {"a:lint", "a:test", "a:build"}
    assert result["a:test"].status == "failed"
    assert result["a:build"].status == "blocked"
    assert result["a:build"].blocked_by == ("a:test",)


@pytest.mark.anyio
async def test_an_early_build_still_running_when_a_need_fails_is_blocked_when_it_ends() -> None:
    plan = _plan({"a": ()})
    events: list[Event] = []
    executor = Released(failing=frozenset({"a:test"}))
    seen = await _drive(plan, executor, 2, ["a:lint", "a:test", "a:build"], events)
    assert "a:build" not in seen[2][1]  # not judged while it still runs
    statuses = [(e.kind, e.step.id) for e in events if e.kind != "start"]
    assert statuses == [("passed", "a:lint"), ("failed", "a:test"), ("blocked", "a:build")]


@pytest.mark.anyio
async def test_no_early_start_takes_a_worker_a_ready_step_could_use_or_follows_a_failure() -> None:
    plan = _plan({"a": (), "b": ()})
    events: list[Event] = []
    executor = Released(failing=frozenset({"b:lint"}))
    order = ["a:lint", "b:lint", "a:test", "b:test", "a:build"]
    seen = await _drive(plan, executor, 2, order, events)
    # Four steps are ready at the start: no build starts early while one of them waits.
    assert seen[2][0] == ["a:lint", "a:test", "b:lint", "b:test"]
    # a:build starts only after its needs passed, b:build never (its lint failed).
    assert not any(e.early for e in events)
    assert "b:build" not in executor.started()
    assert {e.step.id: e.kind for e in events if e.kind != "start"}["b:build"] == "blocked"


@pytest.mark.anyio
async def test_with_one_worker_a_build_waits_for_its_needs() -> None:
    plan = _plan({"a": ()})
    events: list[Event] = []
    executor = Released()
    await _drive(plan, executor, 1, ["a:lint", "a:test", "a:build"], events)
    assert executor.log == [
        ("start", "a:lint"), ("finish", "a:lint"), ("start", "a:test"), ("finish", "a:test"),
        ("start", "a:build"), ("finish", "a:build"),
    ]  # fmt: skip
    assert not any(e.early for e in events)


def test_the_critical_path_counts_a_step_that_does_not_read_its_needs_alongside_them() -> None:
    plan = _plan({"a": ()})
    short = {"a:lint": 2.0, "a:test": 10.0, "a:build": 1.0}
    assert plan.critical_path(short) == (("a:test",), 10.0)
    long = {"a:lint": 2.0, "a:test": 1.0, "a:build": 5.0}
    assert plan.critical_path(long) == (("a:build",), 5.0)


def _gated_plan() -> Plan:
    """Two tests, each gating a build that does not read it."""

    def step(step_id: str, *needs: str, reads: bool = True) -> Step:
        return Step(step_id, step_id, "t", (), ".", (), (), needs, (), "r", reads_needs=reads)

    return Plan(
        (step("t1"), step("t2"), step("b1", "t1", reads=False), step("b2", "t2", reads=False))
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("expected", "first"),
    [({"b1": 1.0, "b2": 5.0}, "b2"), ({"b1": 5.0, "b2": 1.0}, "b1"), ({}, "b1")],
)
async def test_of_two_early_candidates_the_longest_chain_starts_first(
    expected: dict[str, float], first: str
) -> None:
    executor = Released()
    events: list[Event] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: run_plan(
                _gated_plan(), executor, jobs=3, on_event=events.append, expected=expected
            )
        )
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        # t1 and t2 run; the third worker takes one build early: never both.
        started = executor.started()
        assert (sorted(started[:2]), started[2:]) == (["t1", "t2"], [first])
        for step_id in ("t1", "t2", "b1", "b2"):
            await executor.finish(step_id)
    assert next(e.step.id for e in events if e.early) == first
    assert {e.step.id: e.kind for e in events if e.kind != "start"} == dict.fromkeys(
        ("t1", "t2", "b1", "b2"), "passed"
    )


def test_on_a_tie_the_critical_path_keeps_the_need_an_early_step_ran_beside() -> None:
    def step(step_id: str, *needs: str, reads: bool = True) -> Step:
        return Step(step_id, step_id, "t", (), ".", (), (), needs, (), "r", reads_needs=reads)

    plan = Plan((step("a"), step("x", "a", reads=False), step("y", "x")))
    assert plan.critical_path({"a": 5.0, "x": 5.0, "y": 1.0}) == (("a", "x", "y"), 6.0)
    assert plan.critical_path({"a": 5.0, "x": 6.0, "y": 1.0}) == (("x", "y"), 7.0)
