"""The ``maintenance`` command: flags, exit codes, --json, --dry-run, configuration errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acme_integrations.errors import MissingResourceError
from acme_integrations.faults import FaultPlan
from acme_maintenance.cli import main

SIMULATED = ["--backend", "simulated", "--time-scale", "0.001", "--seed", "5"]


def test_help_lists_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--cleanup",
        "--verbose",
        "--only",
        "--backend",
        "--time-scale",
        "--seed",
        "--json",
        "--dry-run",
        "--journal",
        "--glacier-min-size",
        "--retention-days",
        "--upload-max-age-hours",
        "--hung-query-seconds",
    ):
        assert flag in out
    assert "KAFKA_BOOTSTRAP_SERVERS" in out


def test_simulated_run_succeeds_and_labels_every_operation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*SIMULATED, "--journal", str(tmp_path / "j.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert "SIMULATION" in out
    operation_lines = [line for line in out.splitlines() if line.startswith("  maintenance ")]
    assert len(operation_lines) == 5 + 7 + 3
    assert all(line.endswith("[simulated]") for line in operation_lines)


def test_permanent_fault_exits_1_and_json_names_the_failure_and_the_cleanup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = FaultPlan(always={("s3", "init client"): lambda: MissingResourceError("NoSuchBucket")})
    code = main([*SIMULATED, "--json", "--journal", str(tmp_path / "j.json")], faults=faults)
    report = json.loads(capsys.readouterr().out)
    assert code == report["exit_code"] == 1
    subsystems = {s["name"]: s for s in report["subsystems"]}
    assert (subsystems["s3"]["status"], subsystems["s3"]["cleanup"]) == ("failed", "ok")
    assert subsystems["database"]["status"] == subsystems["kafka"]["status"] == "ok"
    cleanup_ran = {
        s["name"]
        for s in report["subsystems"]
        for op in s["operations"]
        if op["phase"] == "cleanup"
    }
    assert cleanup_ran == {"s3"}
    error = next(op for op in subsystems["s3"]["operations"] if op["status"] == "failed")
    assert (error["operation"], error["error_type"]) == ("init client", "MissingResourceError")


def test_verbose_prints_labelled_progress_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([*SIMULATED, "--verbose", "--only", "kafka", "--journal", str(tmp_path / "j.json")])
    err = capsys.readouterr().err.splitlines()
    assert any("kafka/maintenance clean topic trade-events: start" in line for line in err)
    assert all(line.endswith("[simulated]") for line in err)


def test_real_backend_without_s3_and_kafka_settings_exits_2_naming_the_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "S3_BUCKET": "b"}
    code = main(["--journal", str(tmp_path / "j.json")], env=env)
    out = capsys.readouterr().out
    assert code == 2
    assert "database: OK" in out
    assert "s3: NOT CONFIGURED" in out
    assert "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY" in out
    assert "kafka: NOT CONFIGURED" in out
    assert "KAFKA_BOOTSTRAP_SERVERS" in out
    assert "stop hung queries" not in out


def test_only_runs_just_the_named_subsystems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    code = main(["--only", "db", "--json", "--journal", str(tmp_path / "j.json")], env=env)
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [s["name"] for s in report["subsystems"]] == ["database"]
    not_applicable = [
        op["operation"]
        for op in report["subsystems"][0]["operations"]
        if op["status"] == "not applicable"
    ]
    assert not_applicable == ["modify index triggers"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--only", "db,redis"],
        ["--time-scale", "0.1"],
        ["--seed", "3"],
        ["--backend", "simulated", "--time-scale", "0"],
        ["--backend", "mainframe"],
        ["--backend", "simulated", "--retention-days", "3"],
    ],
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_dry_run_prints_order_and_concurrency_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.json"
    faults = FaultPlan()
    code = main(["--backend", "simulated", "--dry-run", "--journal", str(journal)], faults=faults)
    out = capsys.readouterr().out
    assert code == 0
    assert "subsystems run concurrently: database, kafka, s3" in out
    assert "concurrently (5): clean topic user-events" in out
    assert "the run takes about the longest chain, 21 s" in out
    assert not faults.calls
    assert not journal.exists()


def test_dry_run_of_an_unconfigured_subsystem_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--dry-run", "--only", "s3"], env={})
    assert code == 2
    assert "s3: NOT CONFIGURED" in capsys.readouterr().out


def test_dry_run_shows_where_the_journal_is_and_every_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "MAINTENANCE_RETENTION_DAYS": "30",
        "MAINTENANCE_GLACIER_MIN_SIZE": "1GB",
    }
    code = main(["--dry-run", "--only", "db", "--retention-days", "7"], env=env)
    out = capsys.readouterr().out
    assert code == 0
    assert (
        f"journal: written to database table acme_maintenance_journal in {env['DATABASE_URL']} "
        "(default: DATABASE_URL is set)" in out
    )
    assert "MAINTENANCE_RETENTION_DAYS: 7 days" in out  # the flag beats the variable
    assert "(from --retention-days)" in out
    assert "MAINTENANCE_GLACIER_MIN_SIZE: 1000000000 bytes" in out
    assert "(from MAINTENANCE_GLACIER_MIN_SIZE)" in out
    assert "MAINTENANCE_UPLOAD_MAX_AGE_HOURS: 24 hours" in out
    assert "MAINTENANCE_HUNG_QUERY_SECONDS: 300 seconds" in out
    assert not (tmp_path / "db.sqlite3").exists()


def test_dry_run_of_a_cleanup_says_the_journal_is_read_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.json"
    main([*SIMULATED, "--dry-run", "--cleanup", "--journal", str(journal)])
    assert f"journal: read from and written to file {journal} (from --journal)" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAINTENANCE_GLACIER_MIN_SIZE", "-1MB"),
        ("MAINTENANCE_RETENTION_DAYS", "-1"),
        ("MAINTENANCE_UPLOAD_MAX_AGE_HOURS", "a day"),
        ("MAINTENANCE_HUNG_QUERY_SECONDS", "-30"),
    ],
)
def test_an_unusable_threshold_variable_exits_2_naming_it(
    variable: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = FaultPlan()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", variable: value}
    code = main(["--only", "db"], env=env, faults=faults)
    captured = capsys.readouterr()
    assert code == 2
    assert f"{variable}={value} is invalid" in captured.err
    assert captured.out == ""
    assert not (tmp_path / "db.sqlite3").exists()


def test_an_unusable_threshold_flag_exits_2_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    assert main(["--dry-run", "--glacier-min-size", "big"], env=env) == 2
    assert "--glacier-min-size=big is invalid" in capsys.readouterr().err


def test_the_text_report_says_where_the_journal_was_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.json"
    assert main([*SIMULATED, "--only", "s3", "--journal", str(journal)]) == 0
    assert f"journal: written to file {journal}" in capsys.readouterr().out
