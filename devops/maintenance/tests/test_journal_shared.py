"""The journal where every runner sees it: a cleanup from another machine knows what failed.

"Another machine" is another process in another working directory, sharing only the
database or the S3 bucket with the run that failed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from acme_integrations.backends import simulated_backends
from acme_integrations.errors import MissingResourceError
from acme_integrations.faults import FaultPlan
from acme_integrations.simulated import SimulationProfile
from acme_integrations.testing import S3Endpoint, unique_name
from acme_maintenance.cli import main
from acme_maintenance.journal import Journal, JournalEntry
from acme_maintenance.journal_store import JournalError
from acme_maintenance.plans import build_plans
from acme_maintenance.render import report_json, report_text
from acme_maintenance.session import Request, execute

SIMULATED = ["--backend", "simulated", "--time-scale", "0.001", "--seed", "5"]
# kafka fails and so does its immediate cleanup: the journal must say kafka needs cleaning.
KAFKA_LEFT_FAILED = {
    ("kafka", "validate cleaned"): lambda: MissingResourceError("gone"),
    ("kafka", "stop consumers"): lambda: MissingResourceError("no coordinator"),
}
SHARED = ("sqlite", "postgresql", "s3")


def shared_env(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The settings two machines share: a database or an S3 bucket, nothing local."""
    if kind == "sqlite":
        return {"DATABASE_URL": f"sqlite:///{tmp_path}/shared/maintained.sqlite3"}
    if kind == "postgresql":
        return {"DATABASE_URL": request.getfixturevalue("postgres_schema_url")}
    s3: S3Endpoint = request.getfixturevalue("s3")
    return s3.env(request.getfixturevalue("bucket"))


def another_machine(
    argv: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh process and directory, with only ``env`` configured."""
    cwd.mkdir(parents=True, exist_ok=True)
    ambient = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "S3_", "AWS_", "MAINTENANCE_", "KAFKA_"))
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from acme_maintenance.cli import main; sys.exit(main())",
            *argv,
        ],
        env={**ambient, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("kind", SHARED)
def test_cleanup_in_another_process_sees_what_the_first_run_left_failed(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = shared_env(kind, request, tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main([*SIMULATED, "--json"], env=env, faults=FaultPlan(always=KAFKA_LEFT_FAILED)) == 1
    first = json.loads(capsys.readouterr().out)

    laptop = another_machine([*SIMULATED, "--cleanup", "--json"], env, tmp_path / "laptop")

    assert laptop.returncode == 0, laptop.stderr
    report = json.loads(laptop.stdout)
    assert [s["name"] for s in report["subsystems"]] == ["kafka"]
    assert "cleaning only kafka" in report["notes"][0]
    # Both runs used the shared store, and each report says so.
    assert (
        report["journal_read_from"] == report["journal_written_to"] == first["journal_written_to"]
    )
    assert first["journal_read_from"] is None
    assert not (tmp_path / ".acme").exists()
    assert not (tmp_path / "laptop" / ".acme").exists()


def test_a_run_where_s3_is_not_configured_keeps_s3s_failure_for_cleanup(
    tmp_path: Path, s3: S3Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    database = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    # The bucket does not exist: s3 fails and so does its immediate cleanup.
    with_s3 = {**database, **s3.env(unique_name("absent"))}
    assert main(["--only", "db,s3"], env=with_s3) == 1
    assert "s3: FAILED, cleanup failed" in capsys.readouterr().out

    # A run on a machine without the S3 settings: s3 is not configured.
    assert main(["--only", "db,s3"], env=database) == 2
    assert "s3: NOT CONFIGURED" in capsys.readouterr().out

    code = main(["--cleanup", "--json"], env=with_s3)
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # the bucket is still missing, so s3's cleanup fails again
    # The note still names the failure the first run left, not the run in between.
    assert "s3 failed (maintenance: init client" in report["notes"][0]
    assert "cleaning only s3" in report["notes"][0]
    assert [s["name"] for s in report["subsystems"]] == ["s3"]


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("mode", [[], ["--cleanup"]])
def test_an_unreachable_database_journal_is_a_clear_configuration_error(
    mode: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://maint:secret@127.0.0.1:{_unused_port()}/acme"
    code = main([*SIMULATED, *mode, "--journal", "database"], env={"DATABASE_URL": url})
    captured = capsys.readouterr()
    assert code == 2
    where = f"database table acme_maintenance_journal in postgresql://maint@127.0.0.1:{url.split(':')[3]}"
    assert where in captured.err
    assert "--journal" in captured.err  # what to do instead
    assert "secret" not in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_an_s3_journal_in_a_missing_bucket_stops_the_run_before_anything_runs(
    s3: S3Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = FaultPlan()
    target = f"s3://{unique_name('absent')}/journal.json"
    env = s3.env(unique_name("data"))
    code = main([*SIMULATED, "--journal", target], env=env, faults=faults)
    err = capsys.readouterr().err
    assert code == 2
    assert "nothing was run" in err
    assert target in err
    assert "Traceback" not in err
    assert not faults.calls


class FailsAfterTheStart:
    """A store that records the start of a run, then becomes unreachable (injected fault)."""

    location = "s3://journal-bucket/journal.json"

    def __init__(self) -> None:
        self.writes = 0

    def load(self) -> Journal | None:
        return None

    def write(self, entries: Sequence[JournalEntry], at: str) -> None:
        self.writes += 1
        if self.writes > 1:
            raise JournalError(f"cannot write the maintenance journal {self.location}: gone")


def test_a_journal_lost_after_the_run_is_in_the_report_and_exits_2() -> None:
    store = FailsAfterTheStart()
    plans, missing = build_plans(
        simulated_backends(SimulationProfile(time_scale=0.001, seed=5)), ["s3"]
    )
    request = Request(mode="maintenance", only=("s3",), backend="simulated", journal=store)

    report = execute(request, plans, missing, ())

    assert report.exit_code == 2
    assert report.journal_written_to is None
    assert "NOT WRITTEN - cannot write the maintenance journal s3://journal-bucket" in (
        report_text(report)
    )
    assert json.loads(report_json(report))["journal_error"] is not None
