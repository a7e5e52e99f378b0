"""Every journal store on real parts: a file, a SQLite file, PostgreSQL, an S3 server.

The same contract for each: nothing recorded reads as None, what a run writes reads
back, and concurrent runs touching different subsystems keep each other's entries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from acme_integrations.testing import S3Endpoint
from acme_maintenance.journal import JournalEntry
from acme_maintenance.journal_choice import DEFAULT_S3_KEY, choose_journal, open_store
from acme_maintenance.journal_store import JournalError, JournalStore
from acme_maintenance.procedures import SUBSYSTEMS

STORES = ("file", "sqlite", "postgresql", "s3")
S3_ENV_NAMES = ("S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def entry(
    subsystem: str, state: str = "failed", at: str = "2026-01-01T00:00:00+00:00"
) -> JournalEntry:
    return JournalEntry(
        subsystem=subsystem,
        state=state,
        needs_cleanup=state != "ok",
        backend="real",
        mode="maintenance",
        at=at,
        failed_operations=("maintenance: vacuum",) if state == "failed" else (),
    )


@pytest.fixture(params=STORES)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], JournalStore]:
    """A way to open the same store again, as another run would."""
    kind = request.param
    if kind == "file":
        return lambda: open_store(choose_journal(str(tmp_path / "j.json"), {}), {})
    if kind == "sqlite":
        env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db/maintained.sqlite3"}
    elif kind == "postgresql":
        env = {"DATABASE_URL": request.getfixturevalue("postgres_schema_url")}
    else:
        s3: S3Endpoint = request.getfixturevalue("s3")
        env = s3.env(request.getfixturevalue("bucket"))
    choice = choose_journal(None, env)
    assert choice.kind == ("s3" if kind == "s3" else "database")
    return lambda: open_store(choice, env)


def test_a_store_with_nothing_recorded_reads_as_no_journal(
    store_factory: Callable[[], JournalStore],
) -> None:
    assert store_factory().load() is None


def test_what_a_run_writes_another_run_reads(store_factory: Callable[[], JournalStore]) -> None:
    store_factory().write([entry("database"), entry("s3", "ok")], "t1")

    journal = store_factory().load()

    assert journal is not None
    assert journal.entries[("real", "database")] == entry("database")
    assert journal.entries[("real", "s3")] == entry("s3", "ok")


def test_a_later_run_replaces_only_the_subsystems_it_touched(
    store_factory: Callable[[], JournalStore],
) -> None:
    store_factory().write([entry("database"), entry("s3")], "t1")
    store_factory().write([entry("database", "ok", at="2026-01-02T00:00:00+00:00")], "t2")

    journal = store_factory().load()

    assert journal is not None
    assert journal.entries[("real", "database")].state == "ok"
    assert journal.entries[("real", "s3")] == entry("s3")


def write_at_once(writes: list[tuple[JournalStore, JournalEntry]], at: str) -> list[BaseException]:
    """Each store writes its entry in its own thread, all released at the same moment."""
    start = threading.Barrier(len(writes))
    errors: list[BaseException] = []

    def writer(store: JournalStore, change: JournalEntry) -> None:
        start.wait()
        try:
            store.write([change], at)
        except BaseException as error:  # returned, with the other writers' outcomes
            errors.append(error)

    threads = [threading.Thread(target=writer, args=write) for write in writes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_concurrent_writers_for_different_subsystems_all_survive(
    store_factory: Callable[[], JournalStore],
) -> None:
    # Six runs (three subsystems, real and simulated) write at the same moment, each its
    # own entry, five times over: after every round each entry is that round's.
    keys = [(backend, name) for backend in ("real", "simulated") for name in SUBSYSTEMS]
    stores = [store_factory() for _ in keys]
    for round_ in range(5):
        at = f"2026-01-01T00:00:{round_:02}+00:00"
        writes = [
            (store, replace(entry(name, at=at), backend=backend))
            for store, (backend, name) in zip(stores, keys, strict=True)
        ]

        assert write_at_once(writes, at) == []

        journal = store_factory().load()
        assert journal is not None
        assert {key: journal.entries[key].at for key in keys} == dict.fromkeys(keys, at)


def test_the_default_is_the_database_when_database_url_is_set() -> None:
    env = {"DATABASE_URL": "postgresql://u:secret@db.example/app", "S3_BUCKET": "b"}
    env |= {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    choice = choose_journal(None, env)
    assert choice.kind == "database"
    store = open_store(choice, env)
    assert (
        store.location == "database table acme_maintenance_journal in postgresql://u@db.example/app"
    )


def test_without_a_database_url_the_default_is_the_s3_bucket() -> None:
    env = {"S3_BUCKET": "data", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    choice = choose_journal(None, env)
    assert (choice.kind, choice.target) == ("s3", f"s3://data/{DEFAULT_S3_KEY}")


@pytest.mark.parametrize("left_out", S3_ENV_NAMES)
def test_with_nothing_shared_configured_the_default_is_the_local_file(left_out: str) -> None:
    env = {name: "x" for name in S3_ENV_NAMES if name != left_out}
    choice = choose_journal(None, env)
    assert (choice.kind, choice.target) == ("file", ".acme/maintenance/journal.json")


def test_maintenance_journal_and_the_flag_override_the_default() -> None:
    env = {"DATABASE_URL": "sqlite:///x.sqlite3", "MAINTENANCE_JOURNAL": "s3://b/k.json"}
    assert choose_journal(None, env).target == "s3://b/k.json"
    assert choose_journal("/tmp/j.json", env).kind == "file"
    assert choose_journal("database", {}).kind == "database"


@pytest.mark.parametrize("value", ["s3://", "s3://bucket", "s3://bucket/", "s3:///key"])
def test_an_s3_journal_needs_a_bucket_and_a_key(value: str) -> None:
    with pytest.raises(JournalError, match="s3://BUCKET/KEY"):
        choose_journal(value, {})
