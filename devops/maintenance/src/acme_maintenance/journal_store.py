"""What a journal store is: the protocol every store implements, and the error it raises.

The stores themselves are ``journal_file.py`` (a file on this machine),
``journal_database.py`` (a table in the maintained database) and ``journal_s3.py`` (an
S3 object); ``journal_choice.py`` picks one from ``--journal`` and the environment.

Every store merges a run's entries per (backend, subsystem) into what it holds, under
its own concurrency control, so concurrent runs never corrupt it or lose each other's
entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from acme_maintenance.journal import Journal, JournalEntry


class JournalError(Exception):
    """The journal store cannot be read or written; the message says which and what to do."""


class JournalStore(Protocol):
    """A place that keeps the journal and merges a run's entries into it."""

    @property
    def location(self) -> str:
        """Where the journal is, for people (never a password)."""
        ...

    def load(self) -> Journal | None:
        """The journal, or None when no run has recorded anything there yet."""
        ...

    def write(self, entries: Sequence[JournalEntry], at: str) -> None:
        """Replace these entries' (backend, subsystem) rows, keeping every other one."""
        ...
