"""The runner against the simulated backend at a tiny time scale, with injected faults."""

from __future__ import annotations

import pytest
from builders import run_settings, simulated_plans

from acme_integrations.errors import DeadlockError, MissingResource, ThrottledError
from acme_integrations.faults import FaultPlan
from acme_integrations.outcome import Outcome
from acme_maintenance.plans import BoundOperation, SubsystemPlan
from acme_maintenance.report import SubsystemReport
from acme_maintenance.runner import RunSettings, run

pytestmark = pytest.mark.anyio


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
        always={("s3", "clean up old blobs"): lambda: MissingResource("NoSuchBucket")}
    )

    result = await run(simulated_plans(faults), run_settings())

    reports = by_name(result.subsystems)
    s3 = reports["s3"]
    assert (s3.status, s3.cleanup) == ("failed", "ok")
    failed = next(op for op in s3.operations if op.operation == "clean up old blobs")
    assert (failed.status, failed.attempts, failed.error_type) == ("failed", 1, "MissingResource")
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
            ("database", "update indexes"): lambda: MissingResource("no such database"),
            ("kafka", "clean topic"): lambda: MissingResource("no such topic"),
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
            ("database", "check for deadlocks"): lambda: MissingResource("gone"),
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
    assert (init.status, init.attempts, init.error_type) == ("failed", 2, "OperationTimeout")


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
