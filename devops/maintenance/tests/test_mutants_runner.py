"""The runner's record of a run, as --verbose and the report show it: progress events in
order, each operation's attempts, retries, outcome and timing, skipped and cleanup steps,
and what an interrupted run leaves. Hand-built plans make every step deterministic.
Written from mutation testing (bench/mutation.py) survivors.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable

import anyio
import pytest

from acme_integrations.errors import DeadlockError, MissingResource
from acme_integrations.outcome import Outcome, not_applicable
from acme_maintenance.plans import BoundOperation, SubsystemPlan
from acme_maintenance.progress import ProgressEvent
from acme_maintenance.retry_policy import RetryPolicy
from acme_maintenance.runner import RunSettings, run

pytestmark = pytest.mark.anyio

Call = Callable[[], Awaitable[Outcome]]


def ok(detail: str = "done", pause: float = 0.002) -> Call:
    async def call() -> Outcome:
        await anyio.sleep(pause)
        return Outcome(detail)

    return call


def failing(error: Exception) -> Call:
    async def call() -> Outcome:
        await anyio.sleep(0.001)
        raise error

    return call


def flaky(first: Exception) -> Call:
    calls = 0

    async def call() -> Outcome:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise first
        return Outcome("recovered")

    return call


def hanging() -> Call:
    async def call() -> Outcome:
        await anyio.sleep(30)
        return Outcome("never")

    return call


class Plan:
    """A one-subsystem plan whose aclose is recorded."""

    def __init__(
        self,
        maintenance: list[list[tuple[str, Call]]],
        cleanup: list[list[tuple[str, Call]]] | None = None,
        name: str = "database",
    ) -> None:
        self.closed = 0

        def stages(spec: list[list[tuple[str, Call]]]) -> tuple[tuple[BoundOperation, ...], ...]:
            return tuple(
                tuple(BoundOperation(name, op, op, call, 10.0) for op, call in stage)
                for stage in spec
            )

        async def aclose() -> None:
            self.closed += 1

        self.plan = SubsystemPlan(name, stages(maintenance), stages(cleanup or []), (), (), aclose)


def settings(events: list[ProgressEvent], **kwargs: object) -> RunSettings:
    return RunSettings(
        policy=RetryPolicy(attempts=3, scale=0.001),
        simulated=True,
        progress=events.append,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_a_failed_step_skips_the_rest_runs_cleanup_and_every_step_is_reported() -> None:
    plan = Plan(
        [
            [("update indexes", ok("indexed")), ("analyze", ok(pause=0.004))],
            [("vacuum", failing(MissingResource("no such table")))],
            [("reindex", ok()), ("stats", ok())],
            [("report", ok())],
        ],
        [[("stop hung queries", ok("stopped"))], [("release locks", ok())]],
    )
    events: list[ProgressEvent] = []
    result = await run([plan.plan], settings(events))

    (database,) = result.subsystems
    assert (database.name, database.status, database.cleanup) == ("database", "failed", "ok")
    assert plan.closed == 1
    ops = {(op.phase, op.operation): op for op in database.operations}
    assert [(op.phase, op.operation, op.status) for op in database.operations][2:] == [
        ("maintenance", "vacuum", "failed"),
        ("maintenance", "reindex", "skipped"),
        ("maintenance", "stats", "skipped"),
        ("maintenance", "report", "skipped"),
        ("cleanup", "stop hung queries", "ok"),
        ("cleanup", "release locks", "ok"),
    ]
    indexed = ops[("maintenance", "update indexes")]
    assert (indexed.status, indexed.attempts, indexed.detail) == ("ok", 1, "indexed")
    assert indexed.subsystem == "database"
    assert indexed.simulated is True
    assert indexed.error is None
    assert indexed.retried == ()
    assert 0.0 < indexed.duration_s <= database.duration_s <= result.duration_s
    vacuum = ops[("maintenance", "vacuum")]
    assert (vacuum.error, vacuum.error_type, vacuum.attempts) == (
        "no such table",
        "MissingResource",
        1,
    )
    skipped = ops[("maintenance", "reindex")]
    assert (skipped.detail, skipped.simulated, skipped.attempts) == (
        "an earlier step failed",
        True,
        0,
    )
    assert result.interrupted is None

    seen = [(e.kind, e.phase, e.operation) for e in events]
    assert seen[:2] == [
        ("start", "maintenance", "update indexes"),
        ("start", "maintenance", "analyze"),
    ]
    assert ("failed", "cleanup", "") in seen
    assert seen.index(("failed", "cleanup", "")) < seen.index(
        ("start", "cleanup", "stop hung queries")
    )
    assert seen[-1] == ("done", "cleanup", "release locks")
    assert all(e.subsystem == "database" and e.simulated for e in events)
    announce = next(e for e in events if e.kind == "failed")
    assert announce.message == "running this subsystem's cleanup now"
    done = {e.operation: e.message for e in events if e.kind == "done"}
    assert done["vacuum"].startswith("failed after 1 attempt(s), ")
    assert done["vacuum"].endswith(" s: no such table")
    assert done["update indexes"].startswith("ok after 1 attempt(s), ")
    assert done["update indexes"].endswith(" s")
    elapsed = [e.elapsed_s for e in events]
    assert elapsed == sorted(elapsed)
    assert elapsed[0] >= 0.0
    assert elapsed[-1] <= result.duration_s


async def test_a_retried_step_says_why_and_when_it_retries() -> None:
    plan = Plan([[("vacuum", flaky(DeadlockError("Deadlock detected")))]])
    events: list[ProgressEvent] = []
    result = await run([plan.plan], settings(events))

    (database,) = result.subsystems
    (vacuum,) = database.operations
    assert (database.status, database.cleanup) == ("ok", "not needed")
    assert (vacuum.status, vacuum.attempts, vacuum.detail) == ("ok", 2, "recovered")
    assert vacuum.retried == ("attempt 1: DeadlockError: Deadlock detected",)
    (retry,) = [e for e in events if e.kind == "retry"]
    assert (retry.phase, retry.operation) == ("maintenance", "vacuum")
    assert retry.message.startswith(
        "attempt 1 failed (DeadlockError: Deadlock detected); retrying in "
    )
    assert retry.message.endswith(" s")
    done = next(e for e in events if e.kind == "done")
    assert done.message.startswith("ok after 2 attempt(s), ")


async def test_a_step_with_nothing_to_do_here_is_not_applicable_and_not_a_failure() -> None:
    async def nothing() -> Outcome:
        return not_applicable("SQLite has no server-side queries")

    plan = Plan([[("stop hung queries", nothing)]])
    result = await run([plan.plan], RunSettings(policy=RetryPolicy(attempts=1)))
    (database,) = result.subsystems
    (op,) = database.operations
    assert (database.status, op.status, op.detail) == (
        "ok",
        "not applicable",
        "SQLite has no server-side queries",
    )
    assert op.simulated is False


async def test_a_failing_cleanup_runs_every_cleanup_step_and_says_failed() -> None:
    plan = Plan(
        [],
        [[("a", failing(MissingResource("gone")))], [("b", ok())]],
    )
    result = await run([plan.plan], settings([], mode="cleanup"))
    (database,) = result.subsystems
    assert (database.status, database.cleanup) == ("failed", "failed")
    assert [(op.operation, op.status) for op in database.operations] == [
        ("a", "failed"),
        ("b", "ok"),
    ]
    assert {op.phase for op in database.operations} == {"cleanup"}


async def test_nested_unexpected_errors_are_reported_in_full() -> None:
    async def broken() -> Outcome:
        inner = ExceptionGroup("inner", [KeyError("k")])
        raise ExceptionGroup("outer", [ValueError("v"), inner])

    plan = Plan([[("vacuum", broken)]])
    result = await run([plan.plan], RunSettings(policy=RetryPolicy(attempts=1)))
    (op,) = result.subsystems[0].operations
    assert op.error == "outer: [ValueError: v; inner: [KeyError: 'k']]"
    assert op.error_type == "unexpected ExceptionGroup"


async def test_an_interrupted_run_reports_what_finished_and_what_was_in_flight() -> None:
    slow = Plan([[("analyze", ok("fast", pause=0.001))], [("vacuum", hanging())]])
    cleaning = Plan([[("drop", failing(MissingResource("x")))]], [[("stop", hanging())]], "s3")
    events: list[ProgressEvent] = []

    async def interrupt() -> None:
        await anyio.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    async with anyio.create_task_group() as group:
        group.start_soon(interrupt)
        result = await run([slow.plan, cleaning.plan], settings(events), handle_signals=True)

    assert result.interrupted == "SIGINT"
    database, s3 = result.subsystems
    assert (database.name, database.status, database.cleanup) == (
        "database",
        "unfinished",
        "not run",
    )
    assert database.note == "interrupted by SIGINT before it finished"
    assert [(op.operation, op.status) for op in database.operations] == [
        ("analyze", "ok"),
        ("vacuum", "interrupted"),
    ]
    vacuum = database.operations[1]
    assert vacuum.error == "interrupted by SIGINT"
    assert vacuum.phase == "maintenance"
    assert vacuum.simulated is True
    assert 0.2 <= vacuum.duration_s <= database.duration_s <= result.duration_s
    assert (s3.status, s3.cleanup) == ("unfinished", "interrupted")
    assert [(op.phase, op.operation, op.status) for op in s3.operations] == [
        ("maintenance", "drop", "failed"),
        ("cleanup", "stop", "interrupted"),
    ]
    assert (slow.closed, cleaning.closed) == (1, 1)
