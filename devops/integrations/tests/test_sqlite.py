"""SQLite operations against a real database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from acme_integrations.errors import DeadlockError
from acme_integrations.settings import DatabaseSettings
from acme_integrations.sqlite_database import SqliteDatabase

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    path = tmp_path / "var" / "app.sqlite3"
    path.parent.mkdir()
    with sqlite3.connect(path) as connection:
        connection.execute("create table items (id integer primary key, name text)")
        connection.execute("create index items_name on items (name)")
        connection.executemany(
            "insert into items (name) values (?)", [(f"n{i}",) for i in range(2000)]
        )
        connection.execute("delete from items where id % 2 = 0")
    return path


def _database(path: Path, **overrides: float) -> SqliteDatabase:
    return SqliteDatabase(DatabaseSettings(url=f"sqlite:///{path}", **overrides))


def test_url_with_three_slashes_is_relative_and_four_is_absolute() -> None:
    assert DatabaseSettings(url="sqlite:///var/x.sqlite3").sqlite_path == Path("var/x.sqlite3")
    assert DatabaseSettings(url="sqlite:////tmp/x.sqlite3").sqlite_path == Path("/tmp/x.sqlite3")


async def test_init_client_creates_the_directory_of_a_new_file(tmp_path: Path) -> None:
    outcome = await _database(tmp_path / "new" / "db.sqlite3").init_client()
    assert (tmp_path / "new" / "db.sqlite3").exists()
    assert "quick_check: ok" in outcome.detail


async def test_reindex_and_vacuum_shrink_a_file_with_deleted_rows(database_file: Path) -> None:
    before = (await anyio.Path(database_file).stat()).st_size
    database = _database(database_file)
    assert "rebuilt 1 indexes" in (await database.update_indexes()).detail
    await database.vacuum()
    assert (await anyio.Path(database_file).stat()).st_size < before
    with sqlite3.connect(database_file) as connection:
        stats = connection.execute("select count(*) from sqlite_stat1").fetchone()
    assert stats == (1,)


async def test_a_held_write_lock_is_a_transient_deadlock(database_file: Path) -> None:
    holder = sqlite3.connect(database_file, isolation_level=None)
    holder.execute("begin immediate")
    try:
        # What the operator is told (our wording, not sqlite3's "database is locked").
        with pytest.raises(DeadlockError, match="another connection holds the write lock"):
            await _database(database_file, sqlite_busy_timeout_s=0.05).check_for_deadlocks()
    finally:
        holder.execute("rollback")
        holder.close()
    assert "no lock contention" in (await _database(database_file).check_for_deadlocks()).detail


async def test_operations_without_meaning_on_sqlite_say_so(database_file: Path) -> None:
    database = _database(database_file)
    for outcome in (await database.stop_hung_queries(), await database.modify_index_triggers()):
        assert not outcome.applicable
        assert "SQLite" in outcome.detail
