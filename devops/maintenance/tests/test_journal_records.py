"""What the journal records after each kind of run, how its file reads, and which store
each setting picks and why (the reason ``--dry-run`` shows).
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path

import pytest

from acme_maintenance.journal import JournalEntry, dumps, finished_entries, merge
from acme_maintenance.journal_choice import JournalChoice, choose_journal, open_store
from acme_maintenance.journal_file import FileJournal
from acme_maintenance.journal_store import JournalError
from acme_maintenance.report import CleanupStatus, Mode, SubsystemReport, SubsystemStatus

AT = "2026-01-02T03:04:05+00:00"


@pytest.mark.parametrize(
    ("status", "cleanup", "mode", "state", "needs_cleanup"),
    [
        ("ok", "not needed", "maintenance", "ok", False),
        ("ok", "ok", "cleanup", "cleaned", False),
        ("failed", "ok", "maintenance", "failed", False),
        ("failed", "failed", "maintenance", "failed", True),
        ("failed", "failed", "cleanup", "cleanup failed", True),
        ("unfinished", "ok", "maintenance", "unfinished", True),
        ("unfinished", "interrupted", "cleanup", "unfinished", True),
    ],
    ids=[
        "maintained",
        "cleaned",
        "failed-cleaned-up-at-once",
        "failed-cleanup-failed",
        "cleanup-run-failed",
        "interrupted",
        "cleanup-interrupted",
    ],
)
def test_a_finished_run_records_each_subsystems_state(
    status: SubsystemStatus,
    cleanup: CleanupStatus,
    mode: Mode,
    state: str,
    needs_cleanup: bool,
) -> None:
    report = SubsystemReport(name="kafka", status=status, cleanup=cleanup)

    (recorded,) = finished_entries([report], "real", mode, AT)

    assert recorded == JournalEntry("kafka", state, needs_cleanup, "real", mode, AT)


def test_the_journal_file_is_versioned_indented_json() -> None:
    journal = merge(None, [JournalEntry("s3", "ok", False, "real", "maintenance", AT)], AT)

    text = dumps(journal)

    assert json.loads(text)["version"] == 1
    assert text.splitlines()[1] == '  "version": 1,'
    assert text.endswith("}\n")


@pytest.mark.parametrize(
    ("env", "choice"),
    [
        (
            {"MAINTENANCE_JOURNAL": "j.json", "DATABASE_URL": "sqlite:///x.sqlite3"},
            JournalChoice("file", "j.json", "from MAINTENANCE_JOURNAL"),
        ),
        (
            {"DATABASE_URL": "sqlite:///x.sqlite3", "S3_BUCKET": "b"},
            JournalChoice("database", "", "default: DATABASE_URL is set"),
        ),
        (
            {"S3_BUCKET": "b", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
            JournalChoice(
                "s3",
                "s3://b/.acme/maintenance/journal.json",
                "default: S3_BUCKET and AWS credentials are set",
            ),
        ),
        (
            {},
            JournalChoice(
                "file",
                ".acme/maintenance/journal.json",
                "default: no DATABASE_URL or S3 configured, local file",
            ),
        ),
    ],
    ids=["environment", "database", "bucket", "local"],
)
def test_each_setting_picks_its_store_and_says_why(
    env: dict[str, str], choice: JournalChoice
) -> None:
    assert choose_journal(None, env) == choice


def test_a_bad_journal_setting_names_where_it_came_from() -> None:
    with pytest.raises(JournalError, match=r"^MAINTENANCE_JOURNAL=s3://b is not an S3 object"):
        choose_journal(None, {"MAINTENANCE_JOURNAL": "s3://b"})


@pytest.mark.parametrize("value", ["s3:///a/b", "s3://bucket/dir/"])
def test_an_s3_journal_is_one_object_in_a_named_bucket(value: str) -> None:
    with pytest.raises(JournalError, match="s3://BUCKET/KEY"):
        choose_journal(value, {})


def test_an_s3_choice_opens_the_s3_object_not_a_local_file() -> None:
    choice = choose_journal("s3://b/k.json", {})
    assert open_store(choice, {}).location == "s3://b/k.json"


def test_an_unreadable_journal_file_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "j.json"
    path.write_text("{not json", encoding="utf-8")

    with pytest.raises(JournalError) as raised:
        FileJournal(path).load()

    message = str(raised.value)
    assert message.startswith(f"cannot read the maintenance journal file {path}: ")
    assert message.endswith("; fix it or delete it (then name what to clean with --cleanup --only)")


def test_an_unwritable_journal_place_says_how_to_recover(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    path = blocker / "j.json"

    with pytest.raises(JournalError) as raised:
        FileJournal(path).write([JournalEntry("s3", "ok", False, "real", "maintenance", AT)], AT)

    message = str(raised.value)
    assert message.startswith(f"cannot write the maintenance journal file {path}: ")
    assert message.endswith("; make its directory writable or choose another place with --journal")


def test_a_write_that_fails_before_its_rename_leaves_the_journal_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.json"
    store = FileJournal(path)
    store.write([JournalEntry("s3", "failed", True, "real", "maintenance", AT)], AT)
    before = store.load()

    def fail(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    later = "2026-02-03T04:05:06+00:00"
    with pytest.raises(JournalError, match="No space left on device"):
        store.write([JournalEntry("s3", "ok", False, "real", "maintenance", later)], later)
    monkeypatch.undo()

    assert store.load() == before
    # Beside the journal and its lock, only the documented hidden leftover, safe to delete.
    others = {p.name for p in tmp_path.iterdir()} - {"journal.json", ".journal.json.lock"}
    assert len(others) == 1
    assert fnmatch.fnmatchcase(others.pop(), ".journal-*.json")
