"""Run subsystem plans concurrently with local retries, immediate per-subsystem cleanup,
and a record of everything that happened, even when interrupted."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import anyio
from tenacity import RetryCallState

from acme_integrations.errors import MaintenanceError
from acme_integrations.outcome import Outcome
from acme_maintenance.plans import BoundOperation, SubsystemPlan
from acme_maintenance.progress import ProgressEvent
from acme_maintenance.report import (
    CleanupStatus,
    Mode,
    OperationReport,
    Phase,
    SubsystemReport,
)
from acme_maintenance.retry_policy import RetryPolicy, bounded

Stages = tuple[tuple[BoundOperation, ...], ...]


@dataclass(frozen=True)
class RunSettings:
    """How to run: maintenance or cleanup, the retry policy, and where progress goes."""

    mode: Mode = "maintenance"
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_scale: float = 1.0
    simulated: bool = False
    progress: Callable[[ProgressEvent], None] | None = None


@dataclass(frozen=True)
class MaintenanceRun:
    """The subsystem reports of a run, and the signal that interrupted it, if any."""

    subsystems: tuple[SubsystemReport, ...]
    duration_s: float
    interrupted: str | None


class _Tracker:
    """What has finished and what is in flight, so an interruption can still be reported."""

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self.started = time.monotonic()
        self.done: dict[str, list[OperationReport]] = {}
        self.running: dict[str, dict[tuple[Phase, str], float]] = {}
        self.phase: dict[str, Phase] = {}
        self.final: dict[str, SubsystemReport] = {}
        self.interrupted: str | None = None

    def emit(self, event: ProgressEvent) -> None:
        if self.settings.progress is not None:
            self.settings.progress(event)

    def event(
        self, subsystem: str, phase: Phase, operation: str, kind: str, message: str = ""
    ) -> ProgressEvent:
        return ProgressEvent(
            elapsed_s=time.monotonic() - self.started,
            subsystem=subsystem,
            phase=phase,
            operation=operation,
            kind=kind,
            message=message,
            simulated=self.settings.simulated,
        )

    def unfinished(self, name: str) -> SubsystemReport:
        now = time.monotonic()
        in_flight = [
            OperationReport(
                subsystem=name,
                phase=phase,
                operation=operation,
                status="interrupted",
                duration_s=now - started,
                error=f"interrupted by {self.interrupted or 'cancellation'}",
                simulated=self.settings.simulated,
            )
            for (phase, operation), started in self.running.get(name, {}).items()
        ]
        in_cleanup = self.phase.get(name) == "cleanup"
        return SubsystemReport(
            name=name,
            status="unfinished",
            cleanup="interrupted" if in_cleanup else "not run",
            operations=tuple(self.done.get(name, [])) + tuple(in_flight),
            duration_s=now - self.started,
            note=f"interrupted by {self.interrupted or 'cancellation'} before it finished",
        )


async def _run_operation(op: BoundOperation, phase: Phase, tracker: _Tracker) -> OperationReport:
    settings = tracker.settings
    started = time.monotonic()
    tracker.running.setdefault(op.subsystem, {})[(phase, op.name)] = started
    tracker.emit(tracker.event(op.subsystem, phase, op.name, "start"))
    retried: list[str] = []
    attempts = 0

    def on_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        retried.append(f"attempt {state.attempt_number}: {type(error).__name__}: {error}")
        tracker.emit(
            tracker.event(
                op.subsystem,
                phase,
                op.name,
                "retry",
                f"attempt {state.attempt_number} failed ({type(error).__name__}: {error}); "
                f"retrying in {delay:.3g} s",
            )
        )

    def report(**fields: object) -> OperationReport:
        return OperationReport(
            subsystem=op.subsystem,
            phase=phase,
            operation=op.name,
            attempts=attempts,
            duration_s=time.monotonic() - started,
            retried=tuple(retried),
            simulated=settings.simulated,
            **fields,  # type: ignore[arg-type]
        )

    timeout = op.timeout_s * settings.timeout_scale
    what = f"{op.subsystem} {op.name}"

    async def attempt() -> Outcome:
        nonlocal attempts
        attempts += 1
        return await bounded(op.call, timeout, what)

    try:
        outcome: Outcome = await settings.policy.retrying(on_retry)(attempt)
        result = report(
            status="ok" if outcome.applicable else "not applicable", detail=outcome.detail
        )
    except MaintenanceError as error:
        result = report(status="failed", error=str(error), error_type=type(error).__name__)
    except Exception as error:
        # Not a typed error: most likely a bug. It is reported in full, not hidden.
        result = report(
            status="failed", error=_describe(error), error_type=f"unexpected {type(error).__name__}"
        )
    del tracker.running[op.subsystem][(phase, op.name)]
    tracker.done.setdefault(op.subsystem, []).append(result)
    tracker.emit(
        tracker.event(
            op.subsystem,
            phase,
            op.name,
            "done",
            f"{result.status} after {attempts} attempt(s), {result.duration_s:.3g} s"
            + (f": {result.error}" if result.error else ""),
        )
    )
    return result


def _describe(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        inner = "; ".join(_describe(e) for e in error.exceptions)
        return f"{error.message}: [{inner}]"
    return f"{type(error).__name__}: {error}"


async def _run_stages(
    name: str, phase: Phase, stages: Stages, tracker: _Tracker, *, stop_on_failure: bool
) -> bool:
    """Run stages in order, each stage's operations concurrently; True if all succeeded."""
    tracker.phase[name] = phase
    ok = True
    for index, stage in enumerate(stages):
        results: list[OperationReport] = []

        async def run_one(op: BoundOperation, into: list[OperationReport]) -> None:
            into.append(await _run_operation(op, phase, tracker))

        async with anyio.create_task_group() as group:
            for op in stage:
                group.start_soon(run_one, op, results)
        if any(r.status == "failed" for r in results):
            ok = False
            if stop_on_failure:
                _skip(name, phase, stages[index + 1 :], tracker)
                break
    return ok


def _skip(name: str, phase: Phase, stages: Stages, tracker: _Tracker) -> None:
    for stage in stages:
        for op in stage:
            tracker.done.setdefault(name, []).append(
                OperationReport(
                    subsystem=name,
                    phase=phase,
                    operation=op.name,
                    status="skipped",
                    detail="an earlier step failed",
                    simulated=tracker.settings.simulated,
                )
            )


async def _run_subsystem(plan: SubsystemPlan, tracker: _Tracker) -> None:
    started = time.monotonic()
    mode = tracker.settings.mode
    try:
        cleanup: CleanupStatus = "not needed"
        if mode == "maintenance":
            ok = await _run_stages(
                plan.name, "maintenance", plan.maintenance, tracker, stop_on_failure=True
            )
            if not ok:
                tracker.emit(
                    tracker.event(
                        plan.name, "cleanup", "", "failed", "running this subsystem's cleanup now"
                    )
                )
                cleaned = await _run_stages(
                    plan.name, "cleanup", plan.cleanup, tracker, stop_on_failure=False
                )
                cleanup = "ok" if cleaned else "failed"
        else:
            # Cleanup is best effort: every step runs even if an earlier one failed.
            ok = await _run_stages(
                plan.name, "cleanup", plan.cleanup, tracker, stop_on_failure=False
            )
            cleanup = "ok" if ok else "failed"
        tracker.final[plan.name] = SubsystemReport(
            name=plan.name,
            status="ok" if ok else "failed",
            cleanup=cleanup,
            operations=tuple(tracker.done.get(plan.name, [])),
            duration_s=time.monotonic() - started,
        )
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await plan.aclose()


async def _watch_signals(scope: anyio.CancelScope, tracker: _Tracker) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for received in signals:
            tracker.interrupted = signal.Signals(received).name
            scope.cancel()
            return


async def run(
    plans: Sequence[SubsystemPlan], settings: RunSettings, *, handle_signals: bool = False
) -> MaintenanceRun:
    """Run every plan concurrently; return one report per plan, finished or not.

    With ``handle_signals`` (the CLI, in the main thread) SIGINT and SIGTERM stop the
    run cleanly and the unfinished subsystems are reported as such.
    """
    tracker = _Tracker(settings)
    async with anyio.create_task_group() as outer:
        if handle_signals:
            outer.start_soon(_watch_signals, outer.cancel_scope, tracker)
        async with anyio.create_task_group() as work:
            for plan in plans:
                work.start_soon(_run_subsystem, plan, tracker)
        outer.cancel_scope.cancel()
    reports = tuple(tracker.final.get(p.name) or tracker.unfinished(p.name) for p in plans)
    return MaintenanceRun(
        subsystems=reports,
        duration_s=time.monotonic() - tracker.started,
        interrupted=tracker.interrupted,
    )
