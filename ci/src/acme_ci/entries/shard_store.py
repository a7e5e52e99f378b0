"""Shard reports and the run history as objects of the shared store, signed like its entries.

Both shells go through here: the native shell on the host (acme_ci.native.shard_reports),
the Dagger shell through `python -m acme_ci.entries.cli put-report|get-reports|...` in its
container. A report is one JSON object under `PREFIX/<scope>/runs/<run id>/attempt-<A>/`
(acme_ci.core.shard_report names it), written once its shard's steps have ended, in one
PUT: it exists whole or not at all. The history is `PREFIX/<scope>/history.json`
(acme_ci.core.shard_history). Each object carries its digest, and its signature when a
signing key is set, over its object key and bytes (acme_ci.core.remote_cache): a report
moved to another shard's name, or changed, is refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from acme_ci.core.remote_cache import RemoteLocation, entry_metadata, entry_problem
from acme_ci.core.shard_history import (
    HistoryError,
    history_document,
    history_from_document,
    history_object_key,
)
from acme_ci.core.shard_report import (
    ShardReport,
    ShardReportError,
    report_document,
    report_from_document,
    report_object_key,
)
from acme_ci.core.shards import History, ShardId
from acme_ci.entries.s3 import is_missing

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class RunIdentity:
    """The run a shard belongs to, and which attempt of it (GitHub's re-runs)."""

    run_id: str
    attempt: int


def put_report(
    s3: S3Client,
    location: RemoteLocation,
    scope: str,
    identity: RunIdentity,
    report: ShardReport,
    secret: bytes | None,
) -> str:
    """Upload the report under this run and attempt in `scope`, signed; its object key.
    Raises what boto3 raises when the store fails."""
    key = report_object_key(location, scope, identity.run_id, identity.attempt, report.shard)
    _put(s3, location, key, json.dumps(report_document(report)).encode(), secret)
    return key


def get_reports(
    s3: S3Client,
    location: RemoteLocation,
    scope: str,
    identity: RunIdentity,
    shards: Sequence[ShardId],
    secret: bytes | None,
) -> tuple[list[ShardReport], dict[ShardId, str]]:
    """Each shard's report from the newest attempt of this run that has one (a re-run of
    failed jobs re-runs only those shards); and, by shard, why a report is not used. A
    shard with neither has no report yet."""
    reports: list[ShardReport] = []
    problems: dict[ShardId, str] = {}
    for shard in shards:
        try:
            found = _newest(s3, location, scope, identity, shard, secret)
        except ShardReportError as error:
            problems[shard] = str(error)
            continue
        except Exception as error:  # any store failure: this shard has no usable report
            problems[shard] = f"its report could not be read ({type(error).__name__}: {error})"
            continue
        if found is not None:
            reports.append(found)
    return reports, problems


def _newest(
    s3: S3Client,
    location: RemoteLocation,
    scope: str,
    identity: RunIdentity,
    shard: ShardId,
    secret: bytes | None,
) -> ShardReport | None:
    for attempt in range(identity.attempt, 0, -1):
        key = report_object_key(location, scope, identity.run_id, attempt, shard)
        found = _get(s3, location, key, secret)
        if found is None:
            continue
        content, problem = found
        if problem is not None:
            raise ShardReportError(f"its report {key} is not used: {problem}")
        try:
            return report_from_document(json.loads(content))
        except ValueError as error:
            raise ShardReportError(f"its report {key} cannot be read ({error})") from error
    return None


def put_history(
    s3: S3Client, location: RemoteLocation, scope: str, history: History, secret: bytes | None
) -> str:
    """Store `history` (durations and timings) as `scope`'s, signed; its object key."""
    key = history_object_key(location, scope)
    _put(s3, location, key, json.dumps(history_document(history)).encode(), secret)
    return key


def get_history(
    s3: S3Client, location: RemoteLocation, scopes: Sequence[str], secret: bytes | None
) -> tuple[History | None, str | None, list[str]]:
    """The first usable history among `scopes`, in order, and the scope it came from (None,
    None: no scope has one); and why a history found was not used. Raises what boto3
    raises when the store cannot be read."""
    problems: list[str] = []
    for scope in scopes:
        key = history_object_key(location, scope)
        found = _get(s3, location, key, secret)
        if found is None:
            continue
        content, problem = found
        try:
            if problem is not None:
                raise HistoryError(problem)
            return history_from_document(json.loads(content)), scope, problems
        except ValueError as error:  # HistoryError, or not JSON at all
            problems.append(f"the history {key} is not used: {error}")
    return None, None, problems


def _put(
    s3: S3Client, location: RemoteLocation, key: str, content: bytes, secret: bytes | None
) -> None:
    s3.put_object(
        Bucket=location.bucket,
        Key=key,
        Body=content,
        Metadata=entry_metadata(key, content, secret),
    )


def _get(
    s3: S3Client, location: RemoteLocation, key: str, secret: bytes | None
) -> tuple[bytes, str | None] | None:
    """The object's bytes and why it must not be used (None: its digest, or signature, is
    right); None when there is no such object."""
    try:
        answer = s3.get_object(Bucket=location.bucket, Key=key)
    except Exception as error:  # boto3's errors are built at run time: asked by their code
        if is_missing(error):
            return None
        raise
    content = answer["Body"].read()
    return content, entry_problem(key, content, dict(answer.get("Metadata", {})), secret)
