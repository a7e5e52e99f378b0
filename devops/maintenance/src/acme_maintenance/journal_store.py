"""Where the journal lives: choose the store, and the local file store.

``--journal`` (else ``MAINTENANCE_JOURNAL``) names the store: ``database`` (a table in
the database at DATABASE_URL), ``s3://BUCKET/KEY`` (an object), or a file path. With
neither, the journal goes where every runner of maintenance can see it: the database
when DATABASE_URL is set, else the S3 bucket when S3 is configured, else the local file
``.acme/maintenance/journal.json``.

Every store merges a run's entries per (backend, subsystem) into what it holds, under
its own concurrency control, so concurrent runs never corrupt it or lose each other's
entries.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from acme_maintenance.journal import Journal, JournalEntry, dumps, loads, merge

DEFAULT_FILE = Path(".acme/maintenance/journal.json")
DEFAULT_S3_KEY = ".acme/maintenance/journal.json"
TABLE = "acme_maintenance_journal"
S3_REQUIRED = ("S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

Kind = Literal["database", "s3", "file"]


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


@dataclass(frozen=True)
class JournalChoice:
    """The store the user chose, and how it was chosen (shown by --dry-run)."""

    kind: Kind
    target: str
    why: str


def choose_journal(explicit: str | None, env: Mapping[str, str]) -> JournalChoice:
    """--journal, else MAINTENANCE_JOURNAL, else the shared default (see the module doc)."""
    if explicit:
        return _parse(explicit, "--journal")
    if env.get("MAINTENANCE_JOURNAL"):
        return _parse(env["MAINTENANCE_JOURNAL"], "MAINTENANCE_JOURNAL")
    if env.get("DATABASE_URL"):
        return JournalChoice("database", "", "default: DATABASE_URL is set")
    if all(env.get(name) for name in S3_REQUIRED):
        return JournalChoice(
            "s3",
            f"s3://{env['S3_BUCKET']}/{DEFAULT_S3_KEY}",
            "default: S3_BUCKET and AWS credentials are set",
        )
    return JournalChoice(
        "file", str(DEFAULT_FILE), "default: no DATABASE_URL or S3 configured, local file"
    )


def _parse(value: str, source: str) -> JournalChoice:
    if value == "database":
        return JournalChoice("database", "", f"from {source}")
    if value.startswith("s3://"):
        bucket, _, key = value.removeprefix("s3://").partition("/")
        if not bucket or not key or key.endswith("/"):
            raise JournalError(
                f"{source}={value} is not an S3 object: write s3://BUCKET/KEY, "
                f"for example s3://my-bucket/{DEFAULT_S3_KEY}"
            )
        return JournalChoice("s3", value, f"from {source}")
    return JournalChoice("file", value, f"from {source}")


def open_store(choice: JournalChoice, env: Mapping[str, str]) -> JournalStore:
    """The store for a choice; the database and S3 settings come from ``env``."""
    if choice.kind == "database":
        from acme_maintenance.journal_database import database_store

        return database_store(env)
    if choice.kind == "s3":
        from acme_maintenance.journal_s3 import s3_store

        return s3_store(choice.target, env)
    return FileJournal(Path(choice.target))


class FileJournal:
    """A JSON file on this machine: replaced atomically, updated under an exclusive lock."""

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
