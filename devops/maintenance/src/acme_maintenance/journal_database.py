"""The journal as a table in the maintained database (SQLite or PostgreSQL).

One row per (backend, subsystem). A run upserts its own rows in one transaction, so
concurrent runs touching different subsystems keep each other's rows and a reader never
sees half a write. SQLite serializes writers with ``BEGIN IMMEDIATE``; PostgreSQL
serializes the table's creation with a transaction-scoped advisory lock, and the
primary key makes ``INSERT ... ON CONFLICT`` atomic per row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from acme_integrations.settings import DatabaseSettings, NotConfigured, database_from_env
from acme_maintenance.journal import Journal, JournalEntry
from acme_maintenance.journal_store import JournalError, JournalStore

TABLE = "acme_maintenance_journal"
COLUMNS = ("backend", "subsystem", "state", "needs_cleanup", "mode", "at", "failed_operations")
_CREATE = f"""
create table if not exists {TABLE} (
    backend text not null,
    subsystem text not null,
    state text not null,
    needs_cleanup boolean not null,
    mode text not null,
    at text not null,
    failed_operations text not null,
    primary key (backend, subsystem)
)
"""
_SELECT = f"select {', '.join(COLUMNS)} from {TABLE}"
_UPSERT = (
    f"insert into {TABLE} ({', '.join(COLUMNS)}) values ({{marks}}) "
    "on conflict (backend, subsystem) do update set "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[2:])
)
# Any constant works; it only has to be the same for every maintenance run.
_CREATE_LOCK = 0x4A4F55524E414C
_WHAT_TO_DO = (
    "check DATABASE_URL and that the database is reachable and writable, or keep the "
    "journal elsewhere with --journal s3://BUCKET/KEY or --journal PATH"
)


def database_store(env: Mapping[str, str]) -> JournalStore:
    """The journal table in the database at DATABASE_URL (default: the SQLite default)."""
    settings = database_from_env(env)
    if isinstance(settings, NotConfigured):
        raise JournalError(f"cannot keep the journal in the database: {settings.reason}")
    return SqliteJournal(settings) if settings.is_sqlite else PostgresJournal(settings.url)


def redact(url: str) -> str:
    """The URL without its password, for reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + netloc))


def _row(entry: JournalEntry) -> tuple[object, ...]:
    return (
        entry.backend,
        entry.subsystem,
        entry.state,
        entry.needs_cleanup,
        entry.mode,
        entry.at,
        json.dumps(list(entry.failed_operations)),
    )


def _journal(rows: Iterable[Sequence[Any]]) -> Journal | None:
    entries = {
        (str(backend), str(subsystem)): JournalEntry(
            subsystem=str(subsystem),
            state=str(state),
            needs_cleanup=bool(needs_cleanup),
            backend=str(backend),
            mode=str(mode),
            at=str(at),
            failed_operations=tuple(json.loads(str(failed))),
        )
        for backend, subsystem, state, needs_cleanup, mode, at, failed in rows
    }
    if not entries:
        return None
    return Journal(entries=entries, updated_at=max(e.at for e in entries.values()))


class SqliteJournal:
    """The journal table in the SQLite file that maintenance maintains."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self._url = settings.url
        self._path = settings.sqlite_path

    @property
    def location(self) -> str:
        return f"database table {TABLE} in {self._url}"

    def _connect(self) -> sqlite3.Connection:
        # A generous busy timeout: a concurrent run's journal write is short, wait for it.
        return sqlite3.connect(self._path, timeout=30.0, isolation_level=None)

    def load(self) -> Journal | None:
        if not self._path.exists():
            return None
        try:
            connection = self._connect()
            try:
                found = connection.execute(
                    "select 1 from sqlite_master where type = 'table' and name = ?", (TABLE,)
                ).fetchone()
                return _journal(connection.execute(_SELECT).fetchall()) if found else None
            finally:
                connection.close()
        except (sqlite3.Error, ValueError) as error:
            raise JournalError(
                f"cannot read the maintenance journal ({self.location}): {error}; {_WHAT_TO_DO}"
            ) from error

    def write(self, entries: Sequence[JournalEntry], at: str) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._connect()
            try:
                connection.execute("begin immediate")
                connection.execute(_CREATE)
                connection.executemany(
                    _UPSERT.format(marks=", ".join("?" * len(COLUMNS))),
                    [_row(entry) for entry in entries],
                )
                connection.execute("commit")
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as error:
            raise JournalError(
                f"cannot write the maintenance journal ({self.location}): {error}; {_WHAT_TO_DO}"
            ) from error


class PostgresJournal:
    """The journal table in the PostgreSQL database that maintenance maintains."""

    def __init__(self, url: str) -> None:
        self._url = url

    @property
    def location(self) -> str:
        return f"database table {TABLE} in {redact(self._url)}"

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self._url, connect_timeout=10, application_name="acme-maintenance-journal"
        )

    def load(self) -> Journal | None:
        try:
            with self._connect() as connection:
                found = connection.execute("select to_regclass(%s)", (TABLE,)).fetchone()
                if found is None or found[0] is None:
                    return None
                return _journal(connection.execute(_SELECT).fetchall())
        except (psycopg.Error, ValueError) as error:
            raise JournalError(
                f"cannot read the maintenance journal ({self.location}): {error}; {_WHAT_TO_DO}"
            ) from error

    def write(self, entries: Sequence[JournalEntry], at: str) -> None:
        try:
            with self._connect() as connection, connection.transaction():
                # Two runs creating the table at once would collide in the catalog.
                connection.execute("select pg_advisory_xact_lock(%s)", (_CREATE_LOCK,))
                connection.execute(_CREATE)
                with connection.cursor() as cursor:
                    cursor.executemany(
                        _UPSERT.format(marks=", ".join(["%s"] * len(COLUMNS))),
                        [_row(entry) for entry in entries],
                    )
        except psycopg.Error as error:
            raise JournalError(
                f"cannot write the maintenance journal ({self.location}): {error}; {_WHAT_TO_DO}"
            ) from error
