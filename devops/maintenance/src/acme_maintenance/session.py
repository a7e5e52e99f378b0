"""One maintenance invocation: choose the targets, run them, keep the journal, build the report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Literal

import anyio

from acme_integrations.settings import NotConfigured
from acme_maintenance.journal import (
    Journal,
    cleanup_targets,
    finished_entries,
    started_entries,
)
from acme_maintenance.journal_store import JournalError, JournalStore
from acme_maintenance.plans import SubsystemPlan
from acme_maintenance.procedures import SUBSYSTEMS
from acme_maintenance.progress import ProgressEvent
from acme_maintenance.report import Mode, RunReport, SubsystemReport
from acme_maintenance.retry_policy import RetryPolicy
from acme_maintenance.runner import RunSettings, run


@dataclass(frozen=True)
class Request:
    """What the user asked for, after parsing."""

    mode: Mode
    only: tuple[str, ...] | None
    backend: Literal["real", "simulated"]
    journal: JournalStore
    time_scale: float = 1.0
    seed: int | None = None


def reads_journal(request: Request) -> bool:
    """Only ``--cleanup`` without ``--only`` decides its targets from the journal."""
    return request.mode == "cleanup" and request.only is None


def select_targets(
    request: Request, journal: Journal | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The subsystems to run, and notes that explain the choice."""
    if request.only is not None:
        targets = tuple(name for name in SUBSYSTEMS if name in request.only)
        if request.mode == "cleanup":
            return targets, (
                f"cleaning {', '.join(targets)} as named with --only (journal not consulted)",
            )
        return targets, ()
    if request.mode == "maintenance":
        return SUBSYSTEMS, ()
    targets, note = cleanup_targets(journal, request.backend, request.journal.location)
    return targets, (note,)


def not_configured(missing: dict[str, NotConfigured]) -> list[SubsystemReport]:
    """Reports for subsystems that cannot run, naming the variables to set."""
    return [
        SubsystemReport(
            name=name,
            status="not configured",
            missing=reason.variables,
            note=f"{reason.reason}; set {', '.join(reason.variables)}",
        )
        for name, reason in missing.items()
    ]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def execute(
    request: Request,
    plans: Sequence[SubsystemPlan],
    missing: dict[str, NotConfigured],
    notes: Sequence[str],
    progress: Callable[[ProgressEvent], None] | None = None,
) -> RunReport:
    """Run the plans (recording them in the journal first) and build the report.

    Raises JournalError, before anything runs, when the journal cannot record the start.
    """
    simulated = request.backend == "simulated"
    started_at = now_iso()
    names = [plan.name for plan in plans]
    if names:
        request.journal.write(
            started_entries(names, request.backend, request.mode, started_at), started_at
        )
    settings = RunSettings(
        mode=request.mode,
        # The simulation shrinks backoff and timeouts with its time scale, keeping their shape.
        policy=RetryPolicy(scale=request.time_scale if simulated else 1.0),
        timeout_scale=request.time_scale if simulated else 1.0,
        simulated=simulated,
        progress=progress,
    )
    result = anyio.run(partial(run, plans, settings, handle_signals=True))
    reports = sorted(
        [*result.subsystems, *not_configured(missing)], key=lambda r: SUBSYSTEMS.index(r.name)
    )
    journal_error = None
    if names:
        finished_at = now_iso()
        try:
            request.journal.write(
                finished_entries(reports, request.backend, request.mode, finished_at), finished_at
            )
        except JournalError as error:
            journal_error = str(error)
    return RunReport(
        mode=request.mode,
        backend=request.backend,
        subsystems=tuple(reports),
        duration_s=result.duration_s,
        notes=tuple(notes),
        interrupted=result.interrupted,
        time_scale=request.time_scale if simulated else None,
        seed=request.seed if simulated else None,
        journal=request.journal.location,
        journal_read_from=request.journal.location if reads_journal(request) else None,
        journal_written_to=request.journal.location if names and not journal_error else None,
        journal_error=journal_error,
        started_at=started_at,
    )
