"""The journal and ``--cleanup``: clean only what the last run left failed or unfinished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from acme_integrations.errors import MissingResourceError
from acme_integrations.faults import FaultPlan
from acme_maintenance.cli import main

SIMULATED = ["--backend", "simulated", "--time-scale", "0.001", "--seed", "5"]


def needing_cleanup(journal: Path, backend: str = "simulated") -> set[str]:
    data = json.loads(journal.read_text())
    return {name for name, e in data["backends"].get(backend, {}).items() if e["needs_cleanup"]}


def test_without_a_journal_cleanup_says_there_is_nothing_to_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.json"
    faults = FaultPlan()
    code = main([*SIMULATED, "--cleanup", "--journal", str(journal)], faults=faults)
    out = capsys.readouterr().out
    assert code == 0
    assert f"no journal at file {journal}" in out
    assert f"journal: read from file {journal}" in out
    assert "nothing to clean" in out
    assert not faults.calls


def test_cleanup_cleans_only_what_failed_and_was_not_cleaned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.json"
    # kafka fails and so does its immediate cleanup; s3 fails but cleans up fine.
    failing = FaultPlan(
        always={
            ("kafka", "validate cleaned"): lambda: MissingResourceError("gone"),
            ("kafka", "stop consumers"): lambda: MissingResourceError("no coordinator"),
            ("s3", "init client"): lambda: MissingResourceError("NoSuchBucket"),
        }
    )
    assert main([*SIMULATED, "--journal", str(journal)], faults=failing) == 1
    assert needing_cleanup(journal) == {"kafka"}
    capsys.readouterr()

    later = FaultPlan()
    code = main([*SIMULATED, "--cleanup", "--json", "--journal", str(journal)], faults=later)
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    assert [s["name"] for s in report["subsystems"]] == ["kafka"]
    assert "cleaning only kafka" in report["notes"][0]
    assert "validate cleaned" in report["notes"][0]
    assert "s3 failed but already cleaned up in that run" in report["notes"][0]
    assert later.calls[("kafka", "cleanup topics")] == 1
    assert later.calls[("s3", "stop hung uploads")] == 0
    assert later.calls[("database", "stop hung queries")] == 0
    assert needing_cleanup(journal) == set()

    assert main([*SIMULATED, "--cleanup", "--journal", str(journal)]) == 0
    assert "nothing to clean" in capsys.readouterr().out


def test_cleanup_with_only_ignores_the_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = FaultPlan()
    code = main(
        [*SIMULATED, "--cleanup", "--only", "s3,db", "--journal", str(tmp_path / "j.json")],
        faults=faults,
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "cleaning database, s3 as named with --only" in out
    assert faults.calls[("s3", "stop hung uploads")] == 1
    assert faults.calls[("database", "stop hung queries")] == 1
    assert faults.calls[("kafka", "cleanup topics")] == 0


def test_a_simulated_run_never_hides_a_real_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.json"
    # "nope" is a file, so the database directory cannot be created: a permanent failure.
    locked_env = {"DATABASE_URL": f"sqlite:///{tmp_path}/nope/db.sqlite3"}
    (tmp_path / "nope").write_text("a file where a directory should be")
    assert main(["--only", "db", "--journal", str(journal)], env=locked_env) == 1
    assert needing_cleanup(journal, "real") == {"database"}
    assert main([*SIMULATED, "--journal", str(journal)]) == 0
    assert needing_cleanup(journal, "real") == {"database"}
    capsys.readouterr()


def test_an_unreadable_journal_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.json"
    journal.write_text("{not json")
    assert main([*SIMULATED, "--cleanup", "--journal", str(journal)]) == 2
    assert "cannot read the maintenance journal" in capsys.readouterr().err


def test_the_journal_path_comes_from_maintenance_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "from-env.json"
    assert main([*SIMULATED, "--only", "s3"], env={"MAINTENANCE_JOURNAL": str(journal)}) == 0
    assert journal.exists()
    capsys.readouterr()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_run_records_unfinished_work_for_cleanup(
    tmp_path: Path, signum: signal.Signals, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.json"
    command = [
        sys.executable,
        "-c",
        "import sys; from acme_maintenance.cli import main; sys.exit(main())",
        "--backend",
        "simulated",
        "--time-scale",
        "0.5",
        "--seed",
        "5",
        "--verbose",
        "--journal",
        str(journal),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert process.stderr is not None
    # Wait until the first operations have finished, so the run is well under way.
    for line in process.stderr:
        if "init client: done" in line:
            break
    process.send_signal(signum)
    out, _ = process.communicate(timeout=60)

    assert process.returncode == 1
    assert f"INTERRUPTED by {signum.name}" in out
    assert "interrupted" in out
    assert needing_cleanup(journal) == {"database", "kafka", "s3"}

    code = main(
        ["--backend", "simulated", "--time-scale", "0.001", "--cleanup", "--journal", str(journal)]
    )
    cleanup_out = capsys.readouterr().out
    assert code == 0
    assert "cleaning only database, kafka, s3" in cleanup_out
    assert needing_cleanup(journal) == set()
