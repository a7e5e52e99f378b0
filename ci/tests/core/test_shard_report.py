"""A shard's report as JSON data, read back whole; where it is kept in the remote cache."""

from __future__ import annotations

import json
from typing import Any

import pytest

from acme_ci.core.remote_cache import RemoteLocation
from acme_ci.core.scheduler import Flake, StepResult
from acme_ci.core.shard_report import (
    REPORT_FORMAT,
    ShardLine,
    ShardReport,
    ShardReportError,
    report_document,
    report_from_document,
    report_name,
    report_object_key,
)
from acme_ci.core.shards import ShardId

FULL = StepResult(
    "user:test[1/2]",
    "passed",
    duration=3.25,
    output="2 passed",
    attempts=3,
    flakes=(Flake("tests.test_a::test_slow", "user", 3),),
    failed_tests=("tests.test_b::test_x",),
    passed_tests=7,
    skipped_tests=1,
    log_path=".acme/logs/r/user.test.log",
    cache_key="ab" * 32,
    blocked_by=("user:lint",),
    cache_source="remote",
    cache_bytes=1234,
)
REPORT = ShardReport(
    shard=ShardId(2, 3),
    digest="d" * 64,
    run_id="12345",
    attempt=2,
    results=(FULL, StepResult("user:lint", "failed")),
    duration=41.5,
    junit={"user:test[1/2]": "<testsuites/>"},
    runner="native",
    commit="c" * 40,
    warnings=("remote cache skipped",),
    remote_cache="s3://b/ci (reads main; writes main)",
)


def test_a_report_reads_back_as_it_was_written() -> None:
    document = json.loads(json.dumps(report_document(REPORT)))
    assert document["format"] == REPORT_FORMAT
    assert document["shard"] == "2/3"
    assert report_from_document(document) == REPORT
    bare = ShardReport(ShardId(1, 1), "d", "local", 1, (), 0.0)
    assert report_from_document(json.loads(json.dumps(report_document(bare)))) == bare


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("format"), 'not a shard report \\(no "format"'),
        (lambda d: d.update(format="other"), "not a shard report"),
        (lambda d: d.pop("digest"), "unreadable shard report \\(KeyError: 'digest'\\)"),
        (lambda d: d.update(shard="4/3"), "expected K/N"),
        (lambda d: d.update(attempt="first"), "ValueError"),
        (lambda d: d["results"][0].update(status="skipped"), "ValueError: status 'skipped'"),
        (lambda d: d["results"][0].pop("cache_bytes"), "KeyError: 'cache_bytes'"),
        (lambda d: d["results"][0].update(flakes=[["t", "p"]]), "ValueError"),
        (lambda d: d.update(junit=[]), "AttributeError"),
        (lambda d: d.update(results=None), "TypeError"),
        (lambda d: d.pop("runner"), "KeyError"),
        (lambda d: d.pop("commit"), "KeyError"),
        (lambda d: d.pop("warnings"), "KeyError"),
        (lambda d: d.pop("remote_cache"), "KeyError"),
        (lambda d: d.pop("duration"), "KeyError"),
        (lambda d: d.pop("run_id"), "KeyError"),
    ],
)
def test_a_document_that_is_not_a_report_is_refused(change: Any, message: str) -> None:
    document = report_document(REPORT)
    change(document)
    with pytest.raises(ShardReportError, match=message):
        report_from_document(document)


def test_a_report_without_a_commit_or_remote_keeps_none() -> None:
    document = report_document(REPORT)
    document.update(commit=None, remote_cache=None)
    document["results"][0].update(log_path=None, cache_key=None, cache_source=None)
    back = report_from_document(document)
    assert (back.commit, back.remote_cache) == (None, None)
    assert (back.results[0].log_path, back.results[0].cache_key) == (None, None)
    assert back.results[0].cache_source is None
    with pytest.raises(ShardReportError):
        report_from_document([document])


def test_reports_live_beside_the_entries_of_the_runs_scope_by_run_and_attempt() -> None:
    assert report_name(ShardId(3, 4)) == "shard-3-of-4.json"
    key = report_object_key(
        RemoteLocation("bucket", "acme/ci"), "feature/x", "99 1/b", 2, ShardId(3, 4)
    )
    assert key == "acme/ci/feature%2Fx/runs/99%201%2Fb/attempt-2/shard-3-of-4.json"
    bare = report_object_key(RemoteLocation("bucket", ""), "main", "7", 1, ShardId(1, 1))
    assert bare == "main/runs/7/attempt-1/shard-1-of-1.json"


def test_a_shard_line_is_reported_only_with_a_report() -> None:
    line = ShardLine(ShardId(1, 2), "passed", 3, 10.0)
    assert line.reported
    assert ShardLine(ShardId(1, 2), "failed", 3, 10.0).reported
    assert not ShardLine(ShardId(1, 2), "missing", 3, 10.0).reported
    assert not ShardLine(ShardId(1, 2), "refused", 3, 10.0).reported
    assert (line.duration, line.note) == (0.0, "")
