"""PostgreSQL operations against a real server.

TEST_POSTGRES_URL selects an external server; otherwise, when initdb and pg_ctl are on
PATH, the fixture starts a throwaway cluster in a temp dir on a free 127.0.0.1 port
(as the ``postgres`` user when running as root, since PostgreSQL refuses root);
otherwise the tests skip and say why.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import psycopg
import pytest

from acme_integrations.errors import DeadlockError
from acme_integrations.postgres_database import PostgresDatabase
from acme_integrations.settings import DatabaseSettings

pytestmark = pytest.mark.anyio


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    # runuser lives in sbin, which a non-login root PATH may leave out.
    runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    if runuser is None:
        pytest.skip("running as root and runuser is missing: cannot start PostgreSQL as non-root")
    return [runuser, "-u", "postgres", "--", *argv]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    external = os.environ.get("TEST_POSTGRES_URL")
    if external:
        yield external
        return
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("no TEST_POSTGRES_URL and no initdb/pg_ctl on PATH: no PostgreSQL to test")
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user: PostgreSQL refuses root")
    base = Path(tempfile.mkdtemp(prefix="acme-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off"
    subprocess.run(
        _as_postgres(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("drop table if exists items cascade")
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
    yield postgres_url
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("drop table if exists items cascade")
        connection.execute("drop function if exists bump()")


def _database(url: str, **overrides: float) -> PostgresDatabase:
    return PostgresDatabase(DatabaseSettings(url=url, **overrides))


async def test_maintenance_statements_run_on_a_real_server(schema: str) -> None:
    database = _database(schema)
    assert "connected to postgres" in (await database.init_client()).detail
    assert "REINDEX DATABASE CONCURRENTLY" in (await database.update_indexes()).detail
    assert "VACUUM" in (await database.vacuum()).detail
    with psycopg.connect(schema) as connection:
        row = connection.execute(
            "select last_analyze is not null from pg_stat_user_tables where relname = 'items'"
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
