"""Property tests for the journal's selection logic (what --cleanup will clean)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from acme_maintenance.journal import (
    Journal,
    JournalEntry,
    cleanup_targets,
    finished_entries,
    merge,
    started_entries,
)
from acme_maintenance.journal_file import FileJournal
from acme_maintenance.procedures import SUBSYSTEMS
from acme_maintenance.report import SubsystemReport

BACKENDS = ("real", "simulated")
LOCATION = "file journal.json"

entries = st.builds(
    JournalEntry,
    subsystem=st.sampled_from(SUBSYSTEMS),
    state=st.sampled_from(["ok", "failed", "unfinished", "cleaned", "cleanup failed"]),
    needs_cleanup=st.booleans(),
    backend=st.sampled_from(BACKENDS),
    mode=st.sampled_from(["maintenance", "cleanup"]),
    at=st.just("2026-01-01T00:00:00+00:00"),
    failed_operations=st.lists(
        st.sampled_from(["maintenance: vacuum", "cleanup: stop consumers"]), max_size=2
    ).map(tuple),
)
journals = st.lists(entries, max_size=6).map(
    lambda items: Journal(entries={(e.backend, e.subsystem): e for e in items}, updated_at="t0")
)
reports = st.lists(
    st.builds(
        SubsystemReport,
        name=st.sampled_from(SUBSYSTEMS),
        status=st.sampled_from(["ok", "failed", "not configured", "unfinished"]),
        cleanup=st.sampled_from(["not needed", "not run", "ok", "failed", "interrupted"]),
    ),
    max_size=3,
    unique_by=lambda r: r.name,
)


@given(journals, st.sampled_from(BACKENDS))
def test_cleanup_targets_are_exactly_the_entries_needing_cleanup(
    journal: Journal, backend: str
) -> None:
    targets, note = cleanup_targets(journal, backend, LOCATION)
    expected = {
        e.subsystem for (b, _), e in journal.entries.items() if b == backend and e.needs_cleanup
    }
    assert set(targets) == expected
    assert ("nothing to clean" in note) == (not expected)


@given(journals, reports, st.sampled_from(BACKENDS), st.sampled_from(["maintenance", "cleanup"]))
def test_a_run_never_changes_another_backends_entries(
    journal: Journal, run: list[SubsystemReport], backend: str, mode: str
) -> None:
    after = merge(journal, finished_entries(run, backend, mode, "t1"), "t1")  # type: ignore[arg-type]
    others = {k: v for k, v in journal.entries.items() if k[0] != backend}
    assert {k: v for k, v in after.entries.items() if k[0] != backend} == others


@given(journals, st.sets(st.sampled_from(SUBSYSTEMS), min_size=1), st.sampled_from(BACKENDS))
def test_a_run_killed_after_it_started_leaves_every_target_to_clean(
    journal: Journal, started: set[str], backend: str
) -> None:
    after = merge(journal, started_entries(started, backend, "maintenance", "t1"), "t1")
    targets, _ = cleanup_targets(after, backend, LOCATION)
    assert started <= set(targets)


@given(journals, st.sets(st.sampled_from(SUBSYSTEMS)), st.sampled_from(BACKENDS))
def test_a_successful_cleanup_leaves_nothing_of_its_targets_to_clean(
    journal: Journal, cleaned: set[str], backend: str
) -> None:
    run = [SubsystemReport(name=name, status="ok", cleanup="ok") for name in cleaned]
    after = merge(journal, finished_entries(run, backend, "cleanup", "t1"), "t1")
    targets, _ = cleanup_targets(after, backend, LOCATION)
    assert not (set(targets) & cleaned)


@given(journals, reports, st.sampled_from(BACKENDS))
def test_a_not_configured_subsystem_keeps_its_previous_entry(
    journal: Journal, run: list[SubsystemReport], backend: str
) -> None:
    after = merge(journal, finished_entries(run, backend, "maintenance", "t1"), "t1")
    for report in run:
        if report.status == "not configured":
            key = (backend, report.name)
            assert after.entries.get(key) == journal.entries.get(key)


@given(journals.filter(lambda j: bool(j.entries)))
def test_the_journal_file_round_trips(journal: Journal) -> None:
    # A fresh directory per example: hypothesis reuses function-scoped fixtures.
    with tempfile.TemporaryDirectory() as directory:
        store = FileJournal(Path(directory) / "nested" / "journal.json")
        store.write(list(journal.entries.values()), journal.updated_at)
        assert store.load() == journal
