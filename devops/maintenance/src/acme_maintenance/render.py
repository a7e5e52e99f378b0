"""Render a run report as text (default) or JSON (--json)."""

from __future__ import annotations

import json
from dataclasses import asdict

from acme_maintenance.report import OperationReport, RunReport, SubsystemReport

SIMULATION_LABEL = "SIMULATION of the original scripts' timings and faults; no real system touched"


def report_json(report: RunReport) -> str:
    """The report as data, with the exit code it implies."""
    data = asdict(report)
    data["exit_code"] = report.exit_code
    return json.dumps(data, indent=2)


def backend_line(report: RunReport) -> str:
    if report.backend == "simulated":
        return (
            f"backend: simulated (time scale {report.time_scale:g}, seed {report.seed}) "
            f"- {SIMULATION_LABEL}"
        )
    return "backend: real"


def journal_line(report: RunReport) -> str:
    """Where the journal was read from and written to (or why it was not)."""
    parts = []
    if report.journal_read_from:
        parts.append(f"read from {report.journal_read_from}")
    if report.journal_written_to:
        parts.append(f"written to {report.journal_written_to}")
    if report.journal_error:
        parts.append(f"NOT WRITTEN - {report.journal_error}")
    if not parts:
        parts.append(f"{report.journal} (not read or written: nothing ran)")
    return "journal: " + "; ".join(parts)


def report_text(report: RunReport) -> str:
    """A human report: header, notes, one block per subsystem, then a one-line summary."""
    lines = [
        f"maintenance: {report.mode} run started {report.started_at}, "
        f"{report.duration_s:.2f} s, exit {report.exit_code}",
        backend_line(report),
        journal_line(report),
    ]
    if report.interrupted:
        lines.append(f"INTERRUPTED by {report.interrupted}: unfinished work is in the journal")
    lines.extend(f"note: {note}" for note in report.notes)
    for subsystem in report.subsystems:
        lines.extend(_subsystem(subsystem))
    lines.append(_summary(report))
    return "\n".join(lines)


def _subsystem(report: SubsystemReport) -> list[str]:
    if report.status == "not configured":
        return [f"{report.name}: NOT CONFIGURED - {report.note}"]
    cleanup = "" if report.cleanup == "not needed" else f", cleanup {report.cleanup}"
    lines = [f"{report.name}: {report.status.upper()}{cleanup} ({report.duration_s:.2f} s)"]
    if report.note:
        lines.append(f"  {report.note}")
    lines.extend(_operation(op) for op in report.operations)
    return lines


def _operation(op: OperationReport) -> str:
    label = " [simulated]" if op.simulated else ""
    attempts = f"{op.attempts} attempt{'s' if op.attempts != 1 else ''}"
    text = (
        f"  {op.phase:<11} {op.operation:<32} {op.status:<14} {attempts:<10} "
        f"{op.duration_s:7.3f} s{label}"
    )
    if op.error:
        text += f"\n      error ({op.error_type}): {op.error}"
    elif op.detail:
        text += f"\n      {op.detail}"
    text += "".join(f"\n      retried after {retry}" for retry in op.retried)
    return text


def _summary(report: RunReport) -> str:
    groups: dict[str, list[str]] = {}
    for s in report.subsystems:
        key = s.status if s.status != "failed" else f"failed (cleanup {s.cleanup})"
        groups.setdefault(key, []).append(s.name)
    if not groups:
        return "summary: nothing to do"
    return "summary: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items())
