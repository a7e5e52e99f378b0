"""The journal as `--cleanup` and `--dry-run` read it: what a run records, what cleanup says
and cleans, which store a setting picks, and that reports never show a password.
Pure functions and a SQLite file; written from mutation testing (bench/mutation.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from acme_maintenance.journal import (
    Journal,
    JournalEntry,
    cleanup_targets,
    finished_entries,
    merge,
    started_entries,
)
from acme_maintenance.journal_choice import JournalChoice, choose_journal
from acme_maintenance.journal_database import database_store, redact
from acme_maintenance.journal_store import JournalError
from acme_maintenance.report import OperationReport, SubsystemReport

AT = "2026-01-02T03:04:05+00:00"


def entry(subsystem: str, state: str, needs: bool, failed: tuple[str, ...] = ()) -> JournalEntry:
    return JournalEntry(subsystem, state, needs, "real", "maintenance", AT, failed)


def test_a_started_run_marks_every_target_unfinished() -> None:
    assert started_entries(("db", "s3"), "real", "cleanup", AT) == (
        JournalEntry("db", "unfinished", True, "real", "cleanup", AT),
        JournalEntry("s3", "unfinished", True, "real", "cleanup", AT),
    )


def test_a_finished_run_records_failed_and_interrupted_operations_with_its_time() -> None:
    report = SubsystemReport(
        name="kafka",
        status="unfinished",
        cleanup="not run",
        operations=(
            OperationReport("kafka", "maintenance", "init client", "ok"),
            OperationReport("kafka", "maintenance", "clean topic a", "failed"),
            OperationReport("kafka", "maintenance", "clean topic b", "interrupted"),
            OperationReport("kafka", "maintenance", "validate", "skipped"),
        ),
    )
    (recorded,) = finished_entries([report], "real", "maintenance", AT)
    assert recorded.at == AT
    assert recorded.failed_operations == (
        "maintenance: clean topic a",
        "maintenance: clean topic b",
    )
    assert (recorded.state, recorded.needs_cleanup) == ("unfinished", True)


def test_no_journal_says_there_is_nothing_to_clean_and_how_to_clean_anyway() -> None:
    assert cleanup_targets(None, "real", "/var/j.json") == (
        (),
        "no journal at /var/j.json: no run recorded a failure, so there is nothing to clean "
        "(use --cleanup --only db,kafka,s3 to clean explicitly)",
    )


def test_cleanup_names_what_it_cleans_and_why_and_what_it_leaves() -> None:
    journal = merge(
        None,
        [
            entry("database", "failed", True, ("maintenance: vacuum", "cleanup: stop")),
            entry("kafka", "unfinished", True),
            entry("s3", "failed", False),
            entry("zeta", "failed", False),
            entry("other", "ok", False),
        ],
        AT,
    )
    targets, why = cleanup_targets(journal, "real", "db://j")
    assert targets == ("database", "kafka")
    assert why == (
        f"journal db://j (updated {AT}): database failed (maintenance: vacuum; cleanup: stop), "
        "kafka unfinished; cleaning only database, kafka (s3, zeta failed but already cleaned "
        "up in that run; --cleanup --only s3,zeta cleans again)"
    )


def test_nothing_left_to_clean_is_said_with_or_without_settled_failures() -> None:
    clean = merge(None, [entry("database", "ok", False)], AT)
    assert cleanup_targets(clean, "real", "f") == (
        (),
        f"journal f (updated {AT}) shows no real subsystem left failed or unfinished: "
        "nothing to clean",
    )
    settled = merge(None, [entry("s3", "failed", False)], AT)
    assert cleanup_targets(settled, "real", "f")[1].endswith(
        "left failed or unfinished (s3 failed but already cleaned up in that run; "
        "--cleanup --only s3 cleans again): nothing to clean"
    )
    simulated = merge(None, [entry("s3", "failed", True)], AT)
    assert cleanup_targets(simulated, "simulated", "f")[0] == ()


@pytest.mark.parametrize(
    ("setting", "choice"),
    [
        ("database", JournalChoice("database", "", "from --journal")),
        ("s3://b/k.json", JournalChoice("s3", "s3://b/k.json", "from --journal")),
        ("j.json", JournalChoice("file", "j.json", "from --journal")),
    ],
)
def test_an_explicit_journal_setting_picks_its_store(setting: str, choice: JournalChoice) -> None:
    assert choose_journal(setting, {}) == choice


def test_a_database_journal_needs_a_usable_database_url() -> None:
    with pytest.raises(JournalError, match=r"^cannot keep the journal in the database: "):
        database_store({"DATABASE_URL": "mysql://x/y"})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/ops", "postgresql://app@db:5432/ops"),
        ("postgresql://:s3cret@db/ops", "postgresql://db/ops"),
        ("postgresql://app:p%40ss@w@rd@db/ops", "postgresql://app@db/ops"),
        ("postgresql://app@db/ops", "postgresql://app@db/ops"),
        ("sqlite:///var/db.sqlite3", "sqlite:///var/db.sqlite3"),
    ],
    # Ids without the URLs: the mutation run deselects ids that contain "postgresql".
    ids=["password", "password-only", "at-sign-in-password", "no-password", "sqlite"],
)
def test_reports_never_show_a_database_password(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_the_sqlite_journal_creates_its_directories_and_reads_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/deep/er/maintained.sqlite3"
    store = database_store({"DATABASE_URL": url})
    assert store.load() is None
    store.write([entry("database", "failed", True, ("maintenance: vacuum",))], AT)
    later = "2026-02-01T00:00:00+00:00"
    store.write([JournalEntry("s3", "ok", False, "real", "maintenance", later)], later)
    loaded = database_store({"DATABASE_URL": url}).load()
    assert isinstance(loaded, Journal)
    assert loaded.updated_at == later
    assert loaded.entries[("real", "database")].failed_operations == ("maintenance: vacuum",)
    assert str(tmp_path) in store.location
