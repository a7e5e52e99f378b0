"""Shard reports through the shared remote cache, against a real moto S3 server: each shard
on a fresh checkout of its own, the verdict on another; signed reports, GitHub's re-run of
failed jobs, and a tampered report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mypy_boto3_s3 import S3Client

from acme_ci.native.cli import main

from ..conftest import Repo, copy_workspace
from .test_remote_cache import BUCKET, URL, endpoint, objects, s3  # noqa: F401  (fixtures)


def acme(root: Path, *args: str) -> int:
    return main(["-C", str(root), *args])


def statuses(report: Path) -> dict[str, str]:
    return {s["id"]: s["status"] for s in json.loads(report.read_text())["steps"]}


def runner(repo: Repo, tmp_path: Path, name: str, bytecode_cache: Path) -> Path:
    """A fresh checkout of the commit, as a CI job gets: no .acme/, no outputs."""
    checkout = copy_workspace(repo.root, tmp_path / name, bytecode_cache)
    return checkout.root


def test_shards_on_their_own_runners_report_to_the_remote_and_the_verdict_gathers_them(
    repo: Repo,
    s3: S3Client,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    bytecode_cache: Path,
) -> None:
    monkeypatch.setenv("ACME_CACHE_SIGNING_KEY", "secret")
    monkeypatch.setenv("GITHUB_RUN_ID", "777")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "1")
    alone = tmp_path / "alone.json"
    assert acme(repo.root, "ci", "--runner", "native", "--no-cache", "--report", str(alone)) == 0
    capsys.readouterr()
    assert acme(repo.root, "plan", "--shards", "2", "--format", "json") == 0
    plan = tmp_path / "plan.json"
    plan.write_text(capsys.readouterr().out)
    remote = ["--cache-url", URL, "--cache-scope", "main"]
    for k in (1, 2):
        root = runner(repo, tmp_path, f"shard{k}", bytecode_cache)
        assert acme(root, "ci", "--shard", f"{k}/2", "--shard-plan", str(plan), *remote) == 0
        assert f"shard {k}/2: report stored as ci/main/runs/777/attempt-1/shard-{k}-of-2.json" in (
            capsys.readouterr().out
        )
    reports = sorted(key for key in objects(s3) if "/runs/" in key)
    assert reports == [f"ci/main/runs/777/attempt-1/shard-{k}-of-2.json" for k in (1, 2)]
    head = s3.head_object(Bucket=BUCKET, Key=reports[0])
    assert set(head["Metadata"]) == {"acme-sha256", "acme-signature"}

    judge = runner(repo, tmp_path, "verdict", bytecode_cache)
    merged = tmp_path / "merged.json"
    verdict = ["verdict", "--shard-plan", str(plan), "--report", str(merged), *remote]
    assert acme(judge, *verdict) == 0
    assert statuses(merged) == statuses(alone)
    # The verdict keeps what the shards measured, for the next plan.
    durations = json.loads((judge / ".acme/durations.json").read_text())
    assert set(durations) == set(statuses(alone))
    assert (judge / ".acme/reports/core/junit.xml").is_file()

    # GitHub's "re-run failed jobs": attempt 2 runs only shard 2 (here, from the cache); the
    # verdict takes shard 1's report from attempt 1.
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    root = runner(repo, tmp_path, "rerun2", bytecode_cache)
    assert acme(root, "ci", "--shard", "2/2", "--shard-plan", str(plan), *remote) == 0
    assert "ci/main/runs/777/attempt-2/shard-2-of-2.json" in objects(s3)
    capsys.readouterr()
    assert acme(judge, *verdict) == 0
    assert "Shards (2):" in capsys.readouterr().out

    # A report changed after it was signed is refused, and its shard named.
    key = reports[0]
    body = s3.get_object(Bucket=BUCKET, Key=key)
    text = body["Body"].read().replace(b'"status": "passed"', b'"status": "cached"', 1)
    s3.put_object(Bucket=BUCKET, Key=key, Body=text, Metadata=body["Metadata"])
    capsys.readouterr()
    assert acme(judge, *verdict) == 1
    out = capsys.readouterr().out
    assert f"shard 1/2: its report {key} is not used: wrong signature" in out
    assert "; its steps (" in out


def test_a_shard_with_a_remote_cache_needs_a_run_id_and_somewhere_to_write(
    repo: Repo,
    s3: S3Client,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote = ["--cache-url", URL, "--cache-scope", "main"]
    assert acme(repo.root, "ci", "--shard", "1/2", *remote) == 2
    assert "needs --run-id (or GITHUB_RUN_ID)" in capsys.readouterr().err
    # Read-only (a fork's pull request): the report needs a directory, the workflow's artifact.
    argv = ["ci", "--shard", "1/2", "--run-id", "5", "--cache-read-only", *remote]
    assert acme(repo.root, *argv) == 2
    assert "nowhere to put its report" in capsys.readouterr().err
    reports = tmp_path / "reports"
    assert acme(repo.root, *argv, "--shard-report-dir", str(reports)) == 0
    assert (reports / "shard-1-of-2.json").is_file()
    assert not [key for key in objects(s3) if "/runs/" in key]
    assert acme(repo.root, "verdict", "--shards", "2", *remote) == 2
    assert "need --run-id (or GITHUB_RUN_ID)" in capsys.readouterr().err
