"""The journal of the last run: which subsystems failed or were left unfinished.

Pure functions: a run derives the entries it changes (``started_entries``,
``finished_entries``), a store merges them per (backend, subsystem) into what it holds
(``merge``), and ``cleanup_targets`` reads what ``--cleanup`` should clean. The stores
themselves (a database table, an S3 object, a file) live in ``journal_database.py``,
``journal_s3.py`` and ``journal_file.py``; ``journal_choice.py`` picks one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from acme_maintenance.report import Mode, SubsystemReport

VERSION = 1


@dataclass(frozen=True)
class JournalEntry:
    """A subsystem's state after the last run that touched it."""

    subsystem: str
    state: str
    needs_cleanup: bool
    backend: str
    mode: str
    at: str
    failed_operations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Journal:
    """The last known state of every subsystem a run has touched, per backend.

    Keys are ``(backend, subsystem)``: a simulated run never hides a real failure.
    """

    entries: Mapping[tuple[str, str], JournalEntry]
    updated_at: str = ""


EMPTY = Journal(entries={})


def merge(journal: Journal | None, changes: Iterable[JournalEntry], at: str) -> Journal:
    """``journal`` with ``changes`` replacing their own (backend, subsystem) entries only.

    Entries a run does not mention stay as they were, so two runs that touch different
    subsystems never lose each other's entries.
    """
    entries = dict((journal or EMPTY).entries)
    for entry in changes:
        entries[(entry.backend, entry.subsystem)] = entry
    return Journal(entries=entries, updated_at=at)


def to_document(journal: Journal) -> dict[str, Any]:
    """The JSON document of the file and S3 stores."""
    backends: dict[str, dict[str, object]] = {}
    for (backend, name), entry in sorted(journal.entries.items()):
        backends.setdefault(backend, {})[name] = asdict(entry)
    return {"version": VERSION, "updated_at": journal.updated_at, "backends": backends}


def dumps(journal: Journal) -> str:
    return json.dumps(to_document(journal), indent=2) + "\n"


def loads(text: str) -> Journal:
    """Parse a journal document; ValueError, KeyError or TypeError when it is not one."""
    data = json.loads(text)
    entries = {
        (backend, name): JournalEntry(
            **{**entry, "failed_operations": tuple(entry["failed_operations"])}
        )
        for backend, subsystems in data["backends"].items()
        for name, entry in subsystems.items()
    }
    return Journal(entries=entries, updated_at=str(data["updated_at"]))


def started_entries(
    targets: Iterable[str], backend: str, mode: Mode, at: str
) -> tuple[JournalEntry, ...]:
    """Before work starts, every target is unfinished: a killed run leaves exactly that."""
    return tuple(JournalEntry(name, "unfinished", True, backend, mode, at) for name in targets)


def finished_entries(
    reports: Iterable[SubsystemReport], backend: str, mode: Mode, at: str
) -> tuple[JournalEntry, ...]:
    """The entries a finished run changes; a subsystem that was not configured keeps its own."""
    return tuple(
        _entry(report, backend, mode, at) for report in reports if report.status != "not configured"
    )


def _entry(report: SubsystemReport, backend: str, mode: Mode, at: str) -> JournalEntry:
    failed = tuple(
        f"{op.phase}: {op.operation}"
        for op in report.operations
        if op.status in ("failed", "interrupted")
    )
    entry = JournalEntry(report.name, report.status, True, backend, mode, at, failed)
    if report.status == "ok":
        return replace(entry, state="cleaned" if mode == "cleanup" else "ok", needs_cleanup=False)
    if report.status == "failed" and mode == "maintenance":
        # The failing run already cleaned up right away; only a failed cleanup is left over.
        return replace(entry, needs_cleanup=report.cleanup != "ok")
    if report.status == "failed":
        return replace(entry, state="cleanup failed")
    return entry


def cleanup_targets(
    journal: Journal | None, backend: str, location: str
) -> tuple[tuple[str, ...], str]:
    """What ``--cleanup`` without ``--only`` cleans, and a sentence saying why."""
    if journal is None:
        return (), (
            f"no journal at {location}: no run recorded a failure, so there is nothing to clean "
            "(use --cleanup --only db,kafka,s3 to clean explicitly)"
        )
    mine = sorted(
        (e for e in journal.entries.values() if e.backend == backend), key=lambda e: e.subsystem
    )
    needing = [e for e in mine if e.needs_cleanup]
    # A subsystem that failed but cleaned up right away in that run has nothing left over.
    settled = [e.subsystem for e in mine if e.state == "failed" and not e.needs_cleanup]
    aside = (
        f" ({', '.join(settled)} failed but already cleaned up in that run; "
        f"--cleanup --only {','.join(settled)} cleans again)"
        if settled
        else ""
    )
    if not needing:
        return (), (
            f"journal {location} (updated {journal.updated_at}) shows no {backend} subsystem "
            f"left failed or unfinished{aside}: nothing to clean"
        )
    reasons = ", ".join(
        f"{e.subsystem} {e.state}"
        + (f" ({'; '.join(e.failed_operations)})" if e.failed_operations else "")
        for e in needing
    )
    targets = tuple(e.subsystem for e in needing)
    return targets, (
        f"journal {location} (updated {journal.updated_at}): {reasons}; "
        f"cleaning only {', '.join(targets)}{aside}"
    )
