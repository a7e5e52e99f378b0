"""The run report as data: per subsystem and operation, with the exit code it implies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OpStatus = Literal["ok", "not applicable", "failed", "skipped", "interrupted"]
SubsystemStatus = Literal["ok", "failed", "not configured", "unfinished"]
CleanupStatus = Literal["not needed", "not run", "ok", "failed", "interrupted"]
Phase = Literal["maintenance", "cleanup"]
Mode = Literal["maintenance", "cleanup"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


@dataclass(frozen=True)
class OperationReport:
    """What happened to one operation, over all its attempts."""

    subsystem: str
    phase: Phase
    operation: str
    status: OpStatus
    attempts: int = 0
    duration_s: float = 0.0
    detail: str = ""
    error: str | None = None
    error_type: str | None = None
    retried: tuple[str, ...] = ()
    simulated: bool = False


@dataclass(frozen=True)
class SubsystemReport:
    """One subsystem's outcome; ``cleanup`` says whether its cleanup ran and how it went."""

    name: str
    status: SubsystemStatus
    cleanup: CleanupStatus = "not needed"
    operations: tuple[OperationReport, ...] = ()
    duration_s: float = 0.0
    missing: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class RunReport:
    """The whole run: one entry per selected subsystem, plus notes on how they were chosen."""

    mode: Mode
    backend: Literal["real", "simulated"]
    subsystems: tuple[SubsystemReport, ...]
    duration_s: float
    notes: tuple[str, ...] = ()
    interrupted: str | None = None
    time_scale: float | None = None
    seed: int | None = None
    journal: str | None = None
    journal_read_from: str | None = None
    journal_written_to: str | None = None
    journal_error: str | None = None
    started_at: str = ""

    @property
    def exit_code(self) -> int:
        """0 all succeeded, 2 some subsystem not configured or the journal unwritable, else 1."""
        statuses = {s.status for s in self.subsystems}
        if "not configured" in statuses or self.journal_error:
            return EXIT_CONFIG
        if self.interrupted or statuses & {"failed", "unfinished"}:
            return EXIT_FAILED
        if any(s.cleanup in ("failed", "interrupted") for s in self.subsystems):
            return EXIT_FAILED
        return EXIT_OK
