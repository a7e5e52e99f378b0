"""Shard reports where the verdict finds them: files in a directory (a CI artifact), and
objects in the remote cache, signed like its entries (acme_ci.core.shard_report names them,
acme_ci.entries.shard_store moves and checks them).

A report is written once its shard's steps have ended, so a report that exists is whole;
a shard that dies first leaves none, and the verdict names it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from acme_ci.core.remote_cache import parse_cache_url
from acme_ci.core.shard_report import (
    ShardReport,
    report_document,
    report_from_document,
    report_name,
)
from acme_ci.core.shards import ShardId
from acme_ci.entries.shard_store import RunIdentity, get_reports, put_report
from acme_ci.native.atomic import replace_text

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from acme_ci.native.remote_cache import RemoteSettings

REPORT_GLOB = "shard-*-of-*.json"


def run_identity(run_id: str | None, env: Mapping[str, str]) -> RunIdentity | None:
    """`--run-id`, else GITHUB_RUN_ID; the attempt from GITHUB_RUN_ATTEMPT (default 1).
    None when neither names a run."""
    found = run_id or env.get("GITHUB_RUN_ID")
    if not found:
        return None
    attempt = env.get("GITHUB_RUN_ATTEMPT", "1")
    return RunIdentity(found, int(attempt) if attempt.isdigit() and int(attempt) > 0 else 1)


def write_report_file(directory: Path, report: ShardReport) -> Path:
    """The report as `directory/shard-K-of-N.json`, replaced whole."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / report_name(report.shard)
    replace_text(path, json.dumps(report_document(report), indent=1))
    return path


def read_report_files(directory: Path) -> tuple[list[ShardReport], dict[ShardId, str]]:
    """Every shard report under `directory` (downloaded artifacts sit in subdirectories),
    the newest attempt of each shard; and, by shard, why a report file could not be read."""
    newest: dict[ShardId, ShardReport] = {}
    problems: dict[ShardId, str] = {}
    for path in sorted(directory.rglob(REPORT_GLOB)):
        try:
            report = report_from_document(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as error:
            shard = _shard_named(path.name)
            if shard is not None:
                problems[shard] = f"its report {path} cannot be read ({error})"
            continue
        kept = newest.get(report.shard)
        if kept is None or report.attempt > kept.attempt:
            newest[report.shard] = report
    return list(newest.values()), {s: p for s, p in problems.items() if s not in newest}


def _shard_named(name: str) -> ShardId | None:
    """The shard a report's file name names (shard-K-of-N.json), None for another name."""
    index, _, count = name.removeprefix("shard-").removesuffix(".json").partition("-of-")
    return ShardId(int(index), int(count)) if index.isdigit() and count.isdigit() else None


class RemoteReports:
    """Shard reports in the remote cache: this run's scope, under `runs/<run id>/` (the
    objects and their signatures are acme_ci.entries.shard_store's, the Dagger shell's too)."""

    def __init__(
        self, settings: RemoteSettings, identity: RunIdentity, client: S3Client | None = None
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.location = parse_cache_url(settings.url)
        policy = settings.policy()
        self.writable = policy.write is not None
        # Shards write their own scope; the verdict, on the same branch, reads it there.
        self.scope = policy.write if policy.write is not None else policy.read[0]
        self._client = client

    def client(self) -> S3Client:
        if self._client is None:
            from acme_ci.entries.s3 import s3_client  # here: boto3 loads only when used

            self._client = s3_client(self.settings.connect_timeout, self.settings.read_timeout)
        return self._client

    def store(self, report: ShardReport) -> str:
        """Upload the report under this run and attempt, signed; its object key. Raises
        what boto3 raises when the store fails."""
        return put_report(
            self.client(),
            self.location,
            self.scope,
            self.identity,
            report,
            self.settings.signing_key,
        )

    def fetch(self, shards: Sequence[ShardId]) -> tuple[list[ShardReport], dict[ShardId, str]]:
        """Each shard's report from the newest attempt of this run that has one (a re-run of
        failed jobs re-runs only those shards); and, by shard, why a report is not used."""
        return get_reports(
            self.client(),
            self.location,
            self.scope,
            self.identity,
            shards,
            self.settings.signing_key,
        )
