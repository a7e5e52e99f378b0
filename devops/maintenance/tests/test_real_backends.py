"""The CLI end to end on real backends: a SQLite file and a moto S3 server on 127.0.0.1."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from acme_maintenance.cli import main


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_database_and_s3_maintenance_through_the_cli(
    tmp_path: Path, s3_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = f"cli-{uuid.uuid4().hex[:12]}"
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_BUCKET": bucket,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=bucket)
    s3.create_multipart_upload(Bucket=bucket, Key="stale-upload")

    code = main(["--only", "db,s3", "--json", "--journal", str(tmp_path / "j.json")], env=env)
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    assert [s["status"] for s in report["subsystems"]] == ["ok", "ok"]
    assert not any(op["simulated"] for s in report["subsystems"] for op in s["operations"])

    # Cleanup on demand aborts the upload (moto dates every upload 2010, so it is stale).
    assert main(["--cleanup", "--only", "s3", "--journal", str(tmp_path / "j.json")], env=env) == 0
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    capsys.readouterr()


def test_a_missing_bucket_fails_s3_only_and_runs_its_cleanup(
    tmp_path: Path, s3_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_BUCKET": "no-such-bucket-anywhere",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    code = main(["--only", "db,s3", "--journal", str(tmp_path / "j.json")], env=env)
    out = capsys.readouterr().out
    assert code == 1
    assert "database: OK" in out
    assert "s3: FAILED, cleanup failed" in out
    assert "MissingResource" in out
