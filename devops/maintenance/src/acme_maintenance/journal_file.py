"""The journal as a JSON file on this machine (the default when no shared store is set)."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from acme_maintenance.journal import Journal, JournalEntry, dumps, loads, merge
from acme_maintenance.journal_store import JournalError


class FileJournal:
    """A JSON file on this machine: replaced atomically, updated under an exclusive lock.

    A write that fails before its rename leaves the journal as it was, and may leave a
    hidden ``.journal-*.json`` beside it: safe to delete.
    """

    def __init__(self, path: Path) -> None:
        self._path = path

    @property
    def location(self) -> str:
        return f"file {self._path}"

    def load(self) -> Journal | None:
        try:
            return loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise JournalError(
                f"cannot read the maintenance journal {self.location}: {error}; fix it or "
                "delete it (then name what to clean with --cleanup --only)"
            ) from error

    def write(self, entries: Sequence[JournalEntry], at: str) -> None:
        try:
            with self._locked():
                self._replace(merge(self.load(), entries, at))
        except OSError as error:
            raise JournalError(
                f"cannot write the maintenance journal {self.location}: {error}; "
                "make its directory writable or choose another place with --journal"
            ) from error

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # A lock file beside the journal: the journal itself is replaced, not rewritten.
        self._path.parent.mkdir(parents=True, exist_ok=True)
        lock = self._path.with_name(f".{self._path.name}.lock")
        with open(lock, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _replace(self, journal: Journal) -> None:
        """Replace the file atomically, so an interrupted write never leaves half a file."""
        handle, temporary = tempfile.mkstemp(
            dir=self._path.parent, prefix=".journal-", suffix=".json"
        )
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(dumps(journal))
        os.replace(temporary, self._path)
