"""Progress events of a running maintenance, and their one-line rendering for --verbose."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """An event: ``kind`` is start, retry, done (an operation) or failed (a subsystem)."""

    elapsed_s: float
    subsystem: str
    phase: str
    operation: str
    kind: str
    message: str = ""
    simulated: bool = False


def progress_line(event: ProgressEvent) -> str:
    """``[  1.23s] database/maintenance vacuum: done ok ...`` plus a simulation label."""
    label = " [simulated]" if event.simulated else ""
    what = f"{event.subsystem}/{event.phase}" + (f" {event.operation}" if event.operation else "")
    message = f" {event.message}" if event.message else ""
    return f"[{event.elapsed_s:8.3f}s] {what}: {event.kind}{message}{label}"
