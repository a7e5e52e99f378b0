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
        if ("start", step.id) in position:
            for need in step.needs:
                assert position[("finish", need)] < position[("start", step.id)]
    assert recorder.peak <= jobs
    by_id = {r.step_id: r for r in result.results}
    for step in plan.steps:
        needs_ok = all(by_id[n].ok for n in step.needs)
        # A step runs iff everything it needs passed; otherwise it is blocked, never run.
        assert (("start", step.id) in position) == needs_ok
        assert (by_id[step.id].status == "blocked") == (not needs_ok)
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
async def test_unknown_needs_and_bad_jobs_are_rejected() -> None:
    step = Step("x:test", "x", "test", (), ".", (), (), ("ghost",), (), "r")
    with pytest.raises(ValueError, match="needs ghost"):
        await run_plan(Plan((step,)), Recorder(), jobs=1)
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
