"""The runner against the simulated backend at a tiny time scale, with injected faults."""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable

import anyio
import pytest
from builders import run_settings, simulated_plans

from acme_integrations.errors import DeadlockError, MissingResourceError, ThrottledError
from acme_integrations.faults import FaultPlan
from acme_integrations.outcome import Outcome, not_applicable
from acme_maintenance.plans import BoundOperation, SubsystemPlan
from acme_maintenance.progress import ProgressEvent
from acme_maintenance.report import SubsystemReport
from acme_maintenance.retry_policy import RetryPolicy
from acme_maintenance.runner import RunSettings, run


def by_name(reports: tuple[SubsystemReport, ...]) -> dict[str, SubsystemReport]:
    return {report.name: report for report in reports}


def phases(report: SubsystemReport) -> set[str]:
    return {op.phase for op in report.operations}


async def test_all_subsystems_succeed_without_cleanup() -> None:
    result = await run(simulated_plans(), run_settings())
    reports = by_name(result.subsystems)
    assert {name: r.status for name, r in reports.items()} == {
        "database": "ok",
        "kafka": "ok",
        "s3": "ok",
    }
    assert all(r.cleanup == "not needed" for r in reports.values())
    assert all(op.simulated for r in reports.values() for op in r.operations)
    kafka_ops = [op.operation for op in reports["kafka"].operations]
    assert sum(name.startswith("clean topic ") for name in kafka_ops) == 5


async def test_a_transient_fault_is_retried_in_place_and_the_run_succeeds() -> None:
    faults = FaultPlan(
        script={("database", "vacuum"): [lambda: DeadlockError("Deadlock detected"), None]}
    )

    result = await run(simulated_plans(faults), run_settings())

    database = by_name(result.subsystems)["database"]
    assert database.status == "ok"
    vacuum = next(op for op in database.operations if op.operation == "vacuum")
    assert vacuum.attempts == 2
    assert vacuum.retried == ("attempt 1: DeadlockError: Deadlock detected",)
    # Only vacuum was repeated: the steps before it ran once.
    assert faults.calls[("database", "update indexes")] == 1
    assert phases(database) == {"maintenance"}


async def test_a_transient_fault_that_never_clears_fails_after_the_attempt_budget() -> None:
    faults = FaultPlan(always={("kafka", "validate cleaned"): lambda: ThrottledError("slow down")})

    result = await run(simulated_plans(faults), run_settings(attempts=3))

    kafka = by_name(result.subsystems)["kafka"]
    validate = next(op for op in kafka.operations if op.operation == "validate cleaned")
    assert (kafka.status, validate.status, validate.attempts) == ("failed", "failed", 3)
    assert validate.error_type == "ThrottledError"
    assert kafka.cleanup == "ok"


async def test_a_permanent_fault_fails_only_its_subsystem_and_runs_only_its_cleanup() -> None:
    faults = FaultPlan(
        always={("s3", "clean up old blobs"): lambda: MissingResourceError("NoSuchBucket")}
    )

    result = await run(simulated_plans(faults), run_settings())

    reports = by_name(result.subsystems)
    s3 = reports["s3"]
    assert (s3.status, s3.cleanup) == ("failed", "ok")
    failed = next(op for op in s3.operations if op.operation == "clean up old blobs")
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.error_type == "MissingResourceError"
    statuses = {(op.phase, op.operation): op.status for op in s3.operations}
    assert statuses[("maintenance", "move large blobs to glacier")] == "skipped"
    assert statuses[("cleanup", "stop hung uploads")] == "ok"
    assert reports["database"].status == reports["kafka"].status == "ok"
    assert phases(reports["database"]) == phases(reports["kafka"]) == {"maintenance"}
    assert faults.calls[("s3", "stop hung uploads")] == 1
    assert faults.calls[("database", "stop hung queries")] == 0
    assert faults.calls[("kafka", "cleanup topics")] == 0


async def test_several_failing_subsystems_are_all_reported() -> None:
    faults = FaultPlan(
        always={
            ("database", "update indexes"): lambda: MissingResourceError("no such database"),
            ("kafka", "clean topic"): lambda: MissingResourceError("no such topic"),
        }
    )

    result = await run(simulated_plans(faults), run_settings())

    reports = by_name(result.subsystems)
    assert {name: r.status for name, r in reports.items()} == {
        "database": "failed",
        "kafka": "failed",
        "s3": "ok",
    }
    # All five concurrent topic cleans ran and every failure is in the report.
    failed_cleans = [
        op
        for op in reports["kafka"].operations
        if op.operation.startswith("clean topic") and op.status == "failed"
    ]
    assert len(failed_cleans) == 5
    assert reports["database"].cleanup == reports["kafka"].cleanup == "ok"
    assert phases(reports["s3"]) == {"maintenance"}


async def test_a_failing_cleanup_is_reported_and_runs_every_cleanup_step() -> None:
    faults = FaultPlan(
        always={
            ("database", "check for deadlocks"): lambda: MissingResourceError("gone"),
        }
    )

    result = await run(simulated_plans(faults, targets=("database",)), run_settings())

    database = result.subsystems[0]
    assert (database.status, database.cleanup) == ("failed", "failed")
    cleanup = {op.operation: op.status for op in database.operations if op.phase == "cleanup"}
    assert cleanup == {"check for deadlocks": "failed", "stop hung queries": "ok"}


async def test_cleanup_mode_runs_only_cleanup_procedures() -> None:
    faults = FaultPlan()
    result = await run(simulated_plans(faults, targets=("kafka",)), run_settings(mode="cleanup"))

    kafka = result.subsystems[0]
    assert (kafka.status, kafka.cleanup) == ("ok", "ok")
    assert {op.operation for op in kafka.operations} == {"cleanup topics", "stop consumers"}
    assert faults.calls[("kafka", "init client")] == 0


async def test_an_operation_that_exceeds_its_timeout_is_a_retried_timeout() -> None:
    plans = simulated_plans(targets=("s3",))
    # Simulated durations are 1-10 ms here; 0.1 ms timeouts make every attempt time out.
    settings = RunSettings(policy=run_settings(attempts=2).policy, timeout_scale=1e-6)

    result = await run(plans, settings)

    s3 = result.subsystems[0]
    init = s3.operations[0]
    assert (init.status, init.attempts, init.error_type) == ("failed", 2, "OperationTimeoutError")


async def test_an_unexpected_exception_is_reported_not_swallowed() -> None:
    async def broken() -> Outcome:
        raise ExceptionGroup("two bugs", [ValueError("bad value"), KeyError("missing")])

    async def close() -> None:
        return None

    plan = SubsystemPlan(
        name="database",
        maintenance=((BoundOperation("database", "vacuum", "vacuum", broken, 10.0),),),
        cleanup=(),
        notes=("",),
        cleanup_notes=(),
        aclose=close,
    )

    result = await run([plan], RunSettings())

    vacuum = result.subsystems[0].operations[0]
    assert vacuum.status == "failed"
    assert vacuum.error_type == "unexpected ExceptionGroup"
    assert "ValueError: bad value" in (vacuum.error or "")
    assert "KeyError" in (vacuum.error or "")


async def test_the_original_deadlock_is_absorbed_by_local_retries() -> None:
    # With the original 1-in-3 "Deadlock detected", a seed whose first check fails: the
    # run is green only because the check was retried in place.
    plans = simulated_plans(targets=("database",), deadlock_probability=1 / 3)
    result = await run(plans, run_settings())
    database = result.subsystems[0]
    check = next(op for op in database.operations if op.operation == "check for deadlocks")
    assert database.status == "ok"
    assert check.attempts >= 2
    assert check.retried[0].startswith("attempt 1: DeadlockError: Deadlock detected")
    assert check.attempts == len(check.retried) + 1


# The runner's record of a run, as --verbose and the report show it: progress events in
# order, each operation's attempts, retries, outcome and timing, skipped and cleanup steps,
# and what an interrupted run leaves. Hand-built plans make every step deterministic.
# Written from mutation testing (bench/mutation.py) survivors.


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
            [("vacuum", failing(MissingResourceError("no such table")))],
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
        "MissingResourceError",
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
        [[("a", failing(MissingResourceError("gone")))], [("b", ok())]],
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
    cleaning = Plan([[("drop", failing(MissingResourceError("x")))]], [[("stop", hanging())]], "s3")
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
