"""Database maintenance on a SQLite file (the embedded default)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from acme_integrations.blocking import in_thread
from acme_integrations.error_mapping import from_sqlite
from acme_integrations.outcome import Outcome, not_applicable
from acme_integrations.settings import DatabaseSettings


class SqliteDatabase:
    """REINDEX, VACUUM/ANALYZE and write-lock detection on one SQLite file.

    Every operation opens its own connection inside its worker thread: sqlite3
    connections must not cross threads, and maintenance issues few statements.
    """

    def __init__(self, settings: DatabaseSettings) -> None:
        self._settings = settings
        self._path = settings.sqlite_path

    @contextlib.contextmanager
    def _connect(self, busy_timeout_s: float | None = None) -> Iterator[sqlite3.Connection]:
        timeout = self._settings.sqlite_busy_timeout_s if busy_timeout_s is None else busy_timeout_s
        # isolation_level=None: we issue BEGIN ourselves; VACUUM refuses to run in a transaction.
        connection = sqlite3.connect(self._path, timeout=timeout, isolation_level=None)
        try:
            yield connection
        finally:
            connection.close()

    async def init_client(self) -> Outcome:
        def run() -> str:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as connection:
                (version,) = connection.execute("select sqlite_version()").fetchone()
                (check,) = connection.execute("pragma quick_check").fetchone()
            return f"SQLite {version} at {self._path}, quick_check: {check}"

        return Outcome(await in_thread(run, from_sqlite))

    async def modify_index_triggers(self) -> Outcome:
        return not_applicable(
            "SQLite triggers cannot be disabled or re-enabled, so there is nothing to repair"
        )

    async def update_indexes(self) -> Outcome:
        def run() -> str:
            with self._connect() as connection:
                (count,) = connection.execute(
                    "select count(*) from sqlite_master where type = 'index'"
                ).fetchone()
                connection.execute("reindex")
            return f"REINDEX rebuilt {count} indexes"

        return Outcome(await in_thread(run, from_sqlite))

    async def vacuum(self) -> Outcome:
        def run() -> str:
            with self._connect() as connection:
                before = _size(connection)
                connection.execute("vacuum")
                connection.execute("analyze")
                after = _size(connection)
            return f"VACUUM and ANALYZE: {before} -> {after} bytes"

        return Outcome(await in_thread(run, from_sqlite))

    async def check_for_deadlocks(self) -> Outcome:
        # SQLite has one writer at a time: a writer lock held past the busy timeout
        # is what a deadlock looks like here, and from_sqlite turns it into DeadlockError.
        def run() -> str:
            with self._connect() as connection:
                connection.execute("begin immediate")
                connection.execute("rollback")
            return (
                "write lock acquired within "
                f"{self._settings.sqlite_busy_timeout_s:g} s: no lock contention"
            )

        return Outcome(await in_thread(run, from_sqlite))

    async def stop_hung_queries(self) -> Outcome:
        return not_applicable(
            "SQLite runs inside each client process: there is no server-side query "
            "another connection could cancel"
        )

    async def aclose(self) -> None:
        return None


def _size(connection: sqlite3.Connection) -> int:
    (pages,) = connection.execute("pragma page_count").fetchone()
    (page_size,) = connection.execute("pragma page_size").fetchone()
    return int(pages) * int(page_size)
