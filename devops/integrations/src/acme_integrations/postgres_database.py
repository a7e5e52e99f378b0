"""Database maintenance on PostgreSQL (psycopg 3)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from acme_integrations.blocking import in_thread
from acme_integrations.error_mapping import from_psycopg
from acme_integrations.errors import DeadlockError
from acme_integrations.outcome import Outcome
from acme_integrations.settings import DatabaseSettings

_DISABLED_TRIGGERS = """
select n.nspname, c.relname, t.tgname
from pg_trigger t
join pg_class c on c.oid = t.tgrelid
join pg_namespace n on n.oid = c.relnamespace
where not t.tgisinternal and t.tgenabled = 'D'
  and n.nspname not in ('pg_catalog', 'information_schema')
order by 1, 2, 3
"""

_LOCK_WAITS = """
select pid, pg_blocking_pids(pid), extract(epoch from now() - query_start), left(query, 120)
from pg_stat_activity
where datname = current_database()
  and cardinality(pg_blocking_pids(pid)) > 0
  and now() - query_start > make_interval(secs => %s)
order by pid
"""

_CANCEL_LONG_QUERIES = """
select pid, extract(epoch from now() - query_start), left(query, 120), pg_cancel_backend(pid)
from pg_stat_activity
where datname = current_database()
  and backend_type = 'client backend'
  and state = 'active'
  and pid <> pg_backend_pid()
  and now() - query_start > make_interval(secs => %s)
order by pid
"""


class PostgresDatabase:
    """REINDEX, VACUUM ANALYZE, lock-wait detection and query cancellation on PostgreSQL.

    Each operation connects in its worker thread, in autocommit mode because VACUUM
    and REINDEX CONCURRENTLY refuse to run inside a transaction block.
    """

    def __init__(self, settings: DatabaseSettings) -> None:
        self._settings = settings

    def _connect(self) -> psycopg.Connection[Any]:
        timeout_ms = int(self._settings.statement_timeout_s * 1000)
        # Keep the URL's own options (a search_path, say): the keyword would replace them.
        given = str(conninfo_to_dict(self._settings.url).get("options") or "")
        return psycopg.connect(
            self._settings.url,
            autocommit=True,
            connect_timeout=10,
            application_name="acme-maintenance",
            options=f"{given} -c statement_timeout={timeout_ms}".strip(),
        )

    async def init_client(self) -> Outcome:
        def run() -> str:
            with self._connect() as connection:
                row = connection.execute("select current_database(), version()").fetchone()
            assert row is not None
            return f"connected to {row[0]}: {str(row[1]).split(',')[0]}"

        return Outcome(await in_thread(run, from_psycopg))

    async def modify_index_triggers(self) -> Outcome:
        # Meaning chosen for this operation: a user trigger left disabled (by a bulk
        # load or an interrupted maintenance) silently stops maintaining the derived
        # columns and tables our indexes cover, so it is re-enabled before reindexing.
        def run() -> str:
            with self._connect() as connection:
                rows = connection.execute(_DISABLED_TRIGGERS).fetchall()
                for schema, table, trigger in rows:
                    connection.execute(
                        sql.SQL("alter table {}.{} enable trigger {}").format(
                            sql.Identifier(str(schema)),
                            sql.Identifier(str(table)),
                            sql.Identifier(str(trigger)),
                        )
                    )
            if not rows:
                return "no disabled user triggers"
            names = ", ".join(f"{s}.{t}.{g}" for s, t, g in rows)
            return f"re-enabled {len(rows)} disabled triggers: {names}"

        return Outcome(await in_thread(run, from_psycopg))

    async def update_indexes(self) -> Outcome:
        def run() -> str:
            with self._connect() as connection:
                row = connection.execute("select current_database()").fetchone()
                assert row is not None
                # CONCURRENTLY keeps tables writable; it skips system catalogs by design.
                connection.execute(
                    sql.SQL("reindex database concurrently {}").format(sql.Identifier(str(row[0])))
                )
            return f"REINDEX DATABASE CONCURRENTLY {row[0]}"

        return Outcome(await in_thread(run, from_psycopg))

    async def vacuum(self) -> Outcome:
        def run() -> str:
            with self._connect() as connection:
                connection.execute("vacuum (analyze)")
            return "VACUUM (ANALYZE) on every table"

        return Outcome(await in_thread(run, from_psycopg))

    async def check_for_deadlocks(self) -> Outcome:
        threshold = self._settings.lock_wait_threshold_s

        def run() -> str:
            with self._connect() as connection:
                rows = connection.execute(_LOCK_WAITS, (threshold,)).fetchall()
            if rows:
                waits = "; ".join(
                    f"pid {pid} blocked by {list(blockers)} for {float(age):.1f} s: {query}"
                    for pid, blockers, age, query in rows
                )
                raise DeadlockError(
                    f"PostgreSQL: {len(rows)} sessions wait on locks longer than "
                    f"{threshold:g} s: {waits}"
                )
            return f"no session waits on a lock longer than {threshold:g} s"

        return Outcome(await in_thread(run, from_psycopg))

    async def stop_hung_queries(self) -> Outcome:
        threshold = self._settings.hung_query_after_s

        def run() -> str:
            with self._connect() as connection:
                rows = connection.execute(_CANCEL_LONG_QUERIES, (threshold,)).fetchall()
            if not rows:
                return f"no query running longer than {threshold:g} s"
            cancelled = "; ".join(
                f"pid {pid} after {float(age):.1f} s ({'cancelled' if ok else 'not cancelled'}): "
                f"{query}"
                for pid, age, query, ok in rows
            )
            return f"pg_cancel_backend on {len(rows)} queries: {cancelled}"

        return Outcome(await in_thread(run, from_psycopg))

    async def aclose(self) -> None:
        return None
