"""PostgreSQL operations against a real server.

The server is TEST_POSTGRES_URL (any server and database, e.g. the one bound by the
Dagger module) or a throwaway cluster (see ``acme_integrations.testing``). Every test
works in its own schema, dropped afterwards, so a shared server stays clean.
"""

from __future__ import annotations

import contextlib
import threading
import time

import anyio
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from acme_integrations.errors import DeadlockError
from acme_integrations.postgres_database import PostgresDatabase
from acme_integrations.settings import DatabaseSettings

pytestmark = pytest.mark.anyio


@pytest.fixture
def schema(postgres_schema_url: str) -> str:
    """A table with an index and a trigger, in the test's own schema."""
    with psycopg.connect(postgres_schema_url, autocommit=True) as connection:
        connection.execute("create table items (id serial primary key, name text, touched int)")
        connection.execute("create index items_name on items (name)")
        connection.execute(
            "insert into items (name, touched) select 'n' || g, 0 from generate_series(1, 500) g"
        )
        connection.execute(
            "create function bump() returns trigger language plpgsql as "
            "$$ begin new.touched := new.touched + 1; return new; end $$"
        )
        connection.execute(
            "create trigger items_bump before update on items for each row execute function bump()"
        )
    return postgres_schema_url


def _database(url: str, **overrides: float) -> PostgresDatabase:
    return PostgresDatabase(DatabaseSettings(url=url, **overrides))


async def test_maintenance_statements_run_on_a_real_server(schema: str) -> None:
    database = _database(schema)
    # The database the URL names, whichever server this is (a throwaway one or a bound one).
    dbname = conninfo_to_dict(schema)["dbname"]
    assert f"connected to {dbname}:" in (await database.init_client()).detail
    assert "REINDEX DATABASE CONCURRENTLY" in (await database.update_indexes()).detail
    assert "VACUUM" in (await database.vacuum()).detail
    with psycopg.connect(schema) as connection:
        row = connection.execute(
            "select last_analyze is not null from pg_stat_user_tables "
            "where relname = 'items' and schemaname = current_schema()"
        ).fetchone()
    assert row == (True,)


async def test_disabled_triggers_are_re_enabled(schema: str) -> None:
    with psycopg.connect(schema, autocommit=True) as connection:
        connection.execute("alter table items disable trigger items_bump")

    outcome = await _database(schema).modify_index_triggers()

    assert "items_bump" in outcome.detail
    with psycopg.connect(schema, autocommit=True) as connection:
        connection.execute("update items set name = name where id = 1")
        row = connection.execute("select touched from items where id = 1").fetchone()
    assert row == (1,)


async def test_a_session_waiting_on_a_lock_is_a_transient_deadlock(schema: str) -> None:
    holder = psycopg.connect(schema)
    holder.execute("lock table items in access exclusive mode")
    waiter_done = threading.Event()

    def wait_for_lock() -> None:
        with psycopg.connect(schema, autocommit=True) as waiter:
            waiter.execute("set lock_timeout = '20s'")
            with contextlib.suppress(psycopg.errors.LockNotAvailable):
                waiter.execute("select count(*) from items")
        waiter_done.set()

    thread = threading.Thread(target=wait_for_lock)
    thread.start()
    try:
        _wait_until(schema, "select count(*) from pg_stat_activity where wait_event_type = 'Lock'")
        with pytest.raises(DeadlockError, match="blocked by"):
            await _database(schema, lock_wait_threshold_s=0.0).check_for_deadlocks()
    finally:
        holder.rollback()
        holder.close()
        thread.join(timeout=30)
    assert waiter_done.is_set()
    assert "no session waits" in (await _database(schema).check_for_deadlocks()).detail


async def test_stop_hung_queries_cancels_a_long_query(schema: str) -> None:
    errors: list[BaseException] = []

    def long_query() -> None:
        with psycopg.connect(schema, autocommit=True) as connection:
            try:
                connection.execute("select pg_sleep(30)")
            except psycopg.Error as error:
                errors.append(error)

    thread = threading.Thread(target=long_query)
    thread.start()
    _wait_until(schema, "select count(*) from pg_stat_activity where query like 'select pg_sleep%'")
    await anyio.sleep(0.3)

    outcome = await _database(schema, hung_query_after_s=0.1).stop_hung_queries()

    thread.join(timeout=30)
    assert "cancelled" in outcome.detail
    assert len(errors) == 1
    assert isinstance(errors[0], psycopg.errors.QueryCanceled)


def _wait_until(url: str, count_query: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(url, autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(count_query).fetchone()
            if row is not None and int(row[0]) > 0:
                return
            time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {count_query}")
