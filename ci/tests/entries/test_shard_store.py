"""Shard reports and the run history in a real S3 (moto), as both shells store them: through
acme_ci.entries.shard_store on the host, and through the entries CLI's actions in a
container. Signed objects, the newest attempt of a run, a tampered or foreign object
refused and named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mypy_boto3_s3 import S3Client

from acme_ci.core.remote_cache import parse_cache_url
from acme_ci.core.scheduler import Flake, StepResult
from acme_ci.core.shard_history import history_document, history_object_key
from acme_ci.core.shard_report import ShardReport, report_document, report_object_key
from acme_ci.core.shards import History, ShardId
from acme_ci.core.test_groups import SuiteTiming
from acme_ci.entries import cli
from acme_ci.entries.s3 import s3_client
from acme_ci.entries.shard_store import (
    RunIdentity,
    get_history,
    get_reports,
    put_history,
    put_report,
)

from .conftest import BUCKET, URL

LOCATION = parse_cache_url(URL)
SECRET = b"signing key"
ONE, TWO = ShardId(1, 2), ShardId(2, 2)


def report(shard: ShardId, attempt: int = 1, status: str = "passed") -> ShardReport:
    result = StepResult(
        f"acme-logger:test[{shard}]",
        status,  # type: ignore[arg-type]  # a Status, given as text
        duration=2.5,
        flakes=(Flake("tests/test_a.py::test_flaky", "acme-logger", 2),),
    )
    return ShardReport(shard, "d" * 64, "77", attempt, (result,), 2.5, runner="dagger")


def test_a_report_is_stored_signed_and_read_back_as_written(s3: S3Client) -> None:
    key = put_report(s3_client(), LOCATION, "feature/x", RunIdentity("77", 1), report(ONE), SECRET)
    assert key == "ci/feature%2Fx/runs/77/attempt-1/shard-1-of-2.json"
    assert set(s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]) == {
        "acme-sha256",
        "acme-signature",
    }
    found, problems = get_reports(
        s3_client(), LOCATION, "feature/x", RunIdentity("77", 1), [ONE, TWO], SECRET
    )
    assert found == [report(ONE)]
    assert problems == {}  # shard 2 has no report yet: the verdict names it missing


def test_each_shard_comes_from_the_newest_attempt_that_has_its_report(s3: S3Client) -> None:
    """GitHub's re-run of failed jobs: attempt 2 re-runs shard 2 only."""
    for shard, attempt, status in ((ONE, 1, "passed"), (TWO, 1, "failed"), (TWO, 2, "passed")):
        identity = RunIdentity("77", attempt)
        put_report(s3_client(), LOCATION, "main", identity, report(shard, attempt, status), None)
    found, _ = get_reports(s3_client(), LOCATION, "main", RunIdentity("77", 2), [ONE, TWO], None)
    assert {(r.shard, r.attempt, r.results[0].status) for r in found} == {
        (ONE, 1, "passed"),
        (TWO, 2, "passed"),
    }
    # Another run's reports are never taken.
    other, _ = get_reports(s3_client(), LOCATION, "main", RunIdentity("78", 2), [ONE, TWO], None)
    assert other == []


def test_a_changed_or_moved_report_is_refused_naming_it(s3: S3Client) -> None:
    put_report(s3_client(), LOCATION, "main", RunIdentity("77", 1), report(ONE), SECRET)
    first = report_object_key(LOCATION, "main", "77", 1, ONE)
    second = report_object_key(LOCATION, "main", "77", 1, TWO)
    stored = s3.get_object(Bucket=BUCKET, Key=first)
    body = stored["Body"].read()
    # Shard 1's signed report copied as shard 2's: the signature binds it to its name.
    s3.put_object(Bucket=BUCKET, Key=second, Body=body, Metadata=stored["Metadata"])
    changed = body.replace(b'"passed"', b'"cached"')
    s3.put_object(Bucket=BUCKET, Key=first, Body=changed, Metadata=stored["Metadata"])
    found, problems = get_reports(
        s3_client(), LOCATION, "main", RunIdentity("77", 1), [ONE, TWO], SECRET
    )
    assert found == []
    assert problems == {
        ONE: f"its report {first} is not used: wrong signature (tampered, or signed with "
        "another key)",
        TWO: f"its report {second} is not used: wrong signature (tampered, or signed with "
        "another key)",
    }


def test_a_store_that_cannot_be_read_leaves_each_shard_a_reason(s3: S3Client) -> None:
    nowhere = parse_cache_url("s3://no-such-bucket/ci")
    found, problems = get_reports(s3_client(), nowhere, "main", RunIdentity("7", 1), [ONE], None)
    assert found == []
    assert "NoSuchBucket" in problems[ONE]


HISTORY = History(
    {"acme-logger:lint": 1.25, "acme-logger:test[1/2]": 3.5},
    {"acme-logger": SuiteTiming({"tests/test_a.py": 2.0, "tests/test_b.py": 1.0}, 0.75)},
)


def test_the_history_comes_from_the_first_scope_that_has_a_usable_one(s3: S3Client) -> None:
    assert get_history(s3_client(), LOCATION, ["feature/x", "main"], SECRET) == (None, None, [])
    key = put_history(s3_client(), LOCATION, "main", HISTORY, SECRET)
    assert key == history_object_key(LOCATION, "main") == "ci/main/history.json"
    assert get_history(s3_client(), LOCATION, ["feature/x", "main"], SECRET) == (
        HISTORY,
        "main",
        [],
    )
    # An unsigned one in the branch's scope is passed over, saying why.
    put_history(s3_client(), LOCATION, "feature/x", History({"x": 1.0}), None)
    history, scope, problems = get_history(s3_client(), LOCATION, ["feature/x", "main"], SECRET)
    assert (history, scope) == (HISTORY, "main")
    assert problems == [
        "the history ci/feature%2Fx/history.json is not used: no signature "
        "(ACME_CACHE_SIGNING_KEY is set: unsigned entries are not used)"
    ]


# ---------------------------------------------------------------- the CLI's actions


def run_cli(tmp_path: Path, *argv: str, inputs: dict[str, Any] | None = None) -> Any:
    """One action of the entries CLI, its inputs under its directory; its answer."""
    directory = tmp_path / argv[0]
    directory.mkdir(parents=True, exist_ok=True)
    for name, document in (inputs or {}).items():
        (directory / name).write_text(json.dumps(document), encoding="utf-8")
    assert cli.main([*argv, "--dir", str(directory)]) == 0
    return json.loads((directory / cli.ANSWER_FILES[argv[0]]).read_text(encoding="utf-8"))


def test_the_cli_stores_and_gathers_reports_for_a_container(
    s3: S3Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_CACHE_SIGNING_KEY", SECRET.decode())
    run = ("--scope", "main", "--run-id", "77", "--attempt", "1")
    stored = run_cli(
        tmp_path, "put-report", *run, inputs={cli.REPORT_FILE: report_document(report(ONE))}
    )
    assert stored == {"key": "ci/main/runs/77/attempt-1/shard-1-of-2.json", "problem": None}
    gathered = run_cli(tmp_path, "get-reports", *run, "--shard", "1/2", "--shard", "2/2")
    assert gathered == {"reports": [report_document(report(ONE))], "problems": {}}
    # Read with another key: shard 1's report is refused, named by its shard.
    monkeypatch.setenv("ACME_CACHE_SIGNING_KEY", "another key")
    refused = run_cli(tmp_path, "get-reports", *run, "--shard", "1/2")
    assert refused["reports"] == []
    assert "wrong signature" in refused["problems"]["1/2"]


def test_the_cli_says_why_a_report_was_not_stored(
    s3: S3Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_CACHE_URL", "s3://no-such-bucket/ci")
    run = ("--scope", "main", "--run-id", "77")
    stored = run_cli(
        tmp_path, "put-report", *run, inputs={cli.REPORT_FILE: report_document(report(ONE))}
    )
    assert stored["key"] is None
    assert "NoSuchBucket" in stored["problem"]
    not_a_report = run_cli(tmp_path, "put-report", *run, inputs={cli.REPORT_FILE: {"x": 1}})
    assert "not a shard report" in not_a_report["problem"]


def test_the_cli_keeps_the_history_of_a_scope(s3: S3Client, tmp_path: Path) -> None:
    assert run_cli(tmp_path, "get-history", "--scope", "feature/x", "--scope", "main") == {
        "history": None,
        "scope": None,
        "problems": [],
    }
    stored = run_cli(
        tmp_path,
        "put-history",
        "--scope",
        "main",
        inputs={cli.HISTORY_FILE: history_document(HISTORY)},
    )
    assert stored == {"key": "ci/main/history.json", "problem": None}
    found = run_cli(tmp_path, "get-history", "--scope", "feature/x", "--scope", "main")
    assert found == {"history": history_document(HISTORY), "scope": "main", "problems": []}


def test_the_cli_refuses_an_action_without_what_it_needs(s3: S3Client, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        cli.main(["put-report", "--scope", "main", "--dir", str(tmp_path)])
    with pytest.raises(SystemExit):
        cli.main(["fetch", "--scope", "main", "--dir", str(tmp_path)])
