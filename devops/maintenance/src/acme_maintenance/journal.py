"""The journal of the last run: which subsystems failed or were left unfinished.

Pure functions derive the next journal from the last one and a run's reports; only
``load_journal`` and ``save_journal`` touch the file system.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from acme_maintenance.report import Mode, SubsystemReport

DEFAULT_JOURNAL = Path(".acme/maintenance/journal.json")
VERSION = 1


class JournalError(Exception):
    """The journal file exists but cannot be read: fix or delete it."""


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


def journal_path(explicit: str | None, env: Mapping[str, str]) -> Path:
    """--journal, else MAINTENANCE_JOURNAL, else .acme/maintenance/journal.json in the cwd."""
    return Path(explicit or env.get("MAINTENANCE_JOURNAL") or DEFAULT_JOURNAL)


def load_journal(path: Path) -> Journal | None:
    """The journal at ``path``, or None when no run has written one yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = {
            (backend, name): JournalEntry(
                **{**entry, "failed_operations": tuple(entry["failed_operations"])}
            )
            for backend, subsystems in data["backends"].items()
            for name, entry in subsystems.items()
        }
        return Journal(entries=entries, updated_at=str(data["updated_at"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise JournalError(
            f"cannot read the maintenance journal {path}: {error}; fix it or delete it "
            "(then name what to clean with --cleanup --only)"
        ) from error


def save_journal(path: Path, journal: Journal) -> None:
    """Replace the journal atomically, so an interrupted write never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backends: dict[str, dict[str, object]] = {}
    for (backend, name), entry in sorted(journal.entries.items()):
        backends.setdefault(backend, {})[name] = asdict(entry)
    data = {"version": VERSION, "updated_at": journal.updated_at, "backends": backends}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".journal-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=2)
        file.write("\n")
    os.replace(temporary, path)


def mark_started(
    journal: Journal, targets: Iterable[str], backend: str, mode: Mode, at: str
) -> Journal:
    """Before work starts, every target is unfinished: a killed run leaves exactly that."""
    entries = dict(journal.entries)
    for name in targets:
        entries[(backend, name)] = JournalEntry(name, "unfinished", True, backend, mode, at)
    return Journal(entries=entries, updated_at=at)


def record_finished(
    journal: Journal, reports: Iterable[SubsystemReport], backend: str, mode: Mode, at: str
) -> Journal:
    """The journal after a run; a subsystem that was not configured keeps its old entry."""
    entries = dict(journal.entries)
    for report in reports:
        if report.status != "not configured":
            entries[(backend, report.name)] = _entry(report, backend, mode, at)
    return Journal(entries=entries, updated_at=at)


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
    journal: Journal | None, backend: str, path: Path
) -> tuple[tuple[str, ...], str]:
    """What ``--cleanup`` without ``--only`` cleans, and a sentence saying why."""
    if journal is None:
        return (), (
            f"no journal at {path}: no run recorded a failure, so there is nothing to clean "
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
            f"journal {path} (updated {journal.updated_at}) shows no {backend} subsystem "
            f"left failed or unfinished{aside}: nothing to clean"
        )
    reasons = ", ".join(
        f"{e.subsystem} {e.state}"
        + (f" ({'; '.join(e.failed_operations)})" if e.failed_operations else "")
        for e in needing
    )
    targets = tuple(e.subsystem for e in needing)
    return targets, (
        f"journal {path} (updated {journal.updated_at}): {reasons}; "
        f"cleaning only {', '.join(targets)}{aside}"
    )
