"""The CLI end to end on real backends: a SQLite file and an S3 server (moto or bound)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acme_integrations.testing import S3Endpoint, unique_name
from acme_maintenance.cli import main


def test_database_and_s3_maintenance_through_the_cli(
    tmp_path: Path, s3: S3Endpoint, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", **s3.env(bucket)}
    client = s3.client()
    client.put_object(Bucket=bucket, Key="large", Body=b"x" * 2048)
    client.put_object(Bucket=bucket, Key="small", Body=b"x" * 10)
    client.create_multipart_upload(Bucket=bucket, Key="stale-upload")
    journal = ["--journal", str(tmp_path / "j.json")]

    code = main(["--only", "db,s3", "--json", "--glacier-min-size", "1KiB", *journal], env=env)
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    assert [s["status"] for s in report["subsystems"]] == ["ok", "ok"]
    assert not any(op["simulated"] for s in report["subsystems"] for op in s["operations"])
    classes = {
        o["Key"]: o.get("StorageClass", "STANDARD")
        for o in client.list_objects_v2(Bucket=bucket)["Contents"]
    }
    assert classes == {"large": "GLACIER", "small": "STANDARD"}

    # Cleanup on demand aborts the upload: with a zero age, every pending upload is stale.
    cleanup = ["--cleanup", "--only", "s3", "--upload-max-age-hours", "0", *journal]
    assert main(cleanup, env=env) == 0
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    capsys.readouterr()


def test_a_missing_bucket_fails_s3_only_and_runs_its_cleanup(
    tmp_path: Path, s3: S3Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", **s3.env(unique_name("absent"))}
    code = main(["--only", "db,s3", "--journal", str(tmp_path / "j.json")], env=env)
    out = capsys.readouterr().out
    assert code == 1
    assert "database: OK" in out
    assert "s3: FAILED, cleanup failed" in out
    assert "MissingResourceError" in out
