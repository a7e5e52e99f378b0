"""The database journal on a real PostgreSQL and a real SQLite file: what a run writes
reads back, an empty or foreign database reads as no journal, and every failure says
which table in which database (never with its password) and what to do.

The test names avoid the word "postgresql" on purpose: the mutation run deselects the
slower PostgreSQL store tests by that word, and these are the fast ones it keeps.
"""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from acme_maintenance.journal import JournalEntry
from acme_maintenance.journal_database import database_store
from acme_maintenance.journal_store import JournalError

WHAT_TO_DO = "check DATABASE_URL and that the database is reachable and writable"


def entry(subsystem: str, state: str, at: str, failed: tuple[str, ...] = ()) -> JournalEntry:
    return JournalEntry(subsystem, state, state != "ok", "real", "maintenance", at, failed)


def test_a_server_database_journal_reads_back_what_runs_wrote(postgres_schema_url: str) -> None:
    env = {"DATABASE_URL": postgres_schema_url}
    assert database_store(env).load() is None

    first = entry("database", "failed", "2026-01-01T00:00:00+00:00", ("maintenance: vacuum",))
    database_store(env).write([first, entry("kafka", "failed", first.at)], first.at)
    later = entry("kafka", "ok", "2026-01-02T00:00:00+00:00")
    database_store(env).write([later], later.at)

    journal = database_store(env).load()
    assert journal is not None
    assert journal.entries == {("real", "database"): first, ("real", "kafka"): later}
    assert journal.updated_at == later.at


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_database_is_reported_without_its_password() -> None:
    port = _unused_port()
    store = database_store({"DATABASE_URL": f"postgresql://maint:secret@127.0.0.1:{port}/acme"})
    where = f"(database table acme_maintenance_journal in postgresql://maint@127.0.0.1:{port}/acme)"

    with pytest.raises(JournalError) as read:
        store.load()
    with pytest.raises(JournalError) as written:
        store.write([entry("s3", "ok", "t")], "t")

    assert str(read.value).startswith(f"cannot read the maintenance journal {where}: ")
    assert str(written.value).startswith(f"cannot write the maintenance journal {where}: ")
    for message in (str(read.value), str(written.value)):
        assert WHAT_TO_DO in message
        assert "secret" not in message


def test_a_sqlite_database_without_the_journal_table_has_no_journal(tmp_path: Path) -> None:
    path = tmp_path / "maintained.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("create table customers (id integer primary key)")
    connection.close()

    assert database_store({"DATABASE_URL": f"sqlite:///{path}"}).load() is None


def test_a_file_that_is_not_a_sqlite_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "maintained.sqlite3"
    path.write_bytes(b"this is not a database, just some text long enough to have a header")
    store = database_store({"DATABASE_URL": f"sqlite:///{path}"})

    with pytest.raises(JournalError) as raised:
        store.load()

    message = str(raised.value)
    assert message.startswith(f"cannot read the maintenance journal ({store.location}): ")
    assert WHAT_TO_DO in message


def test_a_sqlite_journal_in_an_impossible_place_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    store = database_store({"DATABASE_URL": f"sqlite:///{blocker}/maintained.sqlite3"})

    with pytest.raises(JournalError) as raised:
        store.write([entry("s3", "ok", "t")], "t")

    message = str(raised.value)
    assert message.startswith(f"cannot write the maintenance journal ({store.location}): ")
    assert WHAT_TO_DO in message
