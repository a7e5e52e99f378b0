"""What a shard hands to the verdict: every step's result, its tests' JUnit reports, the
digest of the shard plan it ran. As JSON data, and where it is kept. Pure.

A shard report is stored once the shard's steps have ended (passed or not): in the shared
remote cache under `PREFIX/<scope>/runs/<run id>/attempt-<A>/shard-K-of-N.json`, signed
like a cache entry, and/or as a file in a directory the workflow uploads as an artifact.
The attempt is in the name because GitHub's "re-run failed jobs" starts a new attempt that
re-runs only the failed shards: the verdict takes each shard's newest report from this
attempt or an earlier one of the same run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import quote

from acme_ci.core.remote_cache import RemoteLocation
from acme_ci.core.scheduler import Flake, Status, StepResult
from acme_ci.core.shards import ShardId, parse_shard

REPORT_FORMAT = "acme-ci shard report 1"
_STATUSES = frozenset(get_args(Status))


class ShardReportError(ValueError):
    """A shard report that cannot be read."""


@dataclass(frozen=True)
class ShardReport:
    """One shard's run: which shard of which plan (digest), of which run and attempt, and
    what happened to each of its steps; `junit` holds each test step's JUnit report."""

    shard: ShardId
    digest: str
    run_id: str
    attempt: int
    results: tuple[StepResult, ...]
    duration: float
    junit: Mapping[str, str] = field(default_factory=dict)
    runner: str = "native"
    commit: str | None = None
    warnings: tuple[str, ...] = ()
    remote_cache: str | None = None


def report_name(shard: ShardId) -> str:
    """The report's file name: shard-K-of-N.json."""
    return f"shard-{shard.index}-of-{shard.count}.json"


def report_object_key(
    location: RemoteLocation, scope: str, run_id: str, attempt: int, shard: ShardId
) -> str:
    """Where a shard's report lives in the remote cache (beside the entries of `scope`)."""
    parts = [location.prefix] if location.prefix else []
    run = quote(run_id, safe="")
    return "/".join(
        [*parts, quote(scope, safe=""), "runs", run, f"attempt-{attempt}", report_name(shard)]
    )


def report_document(report: ShardReport) -> dict[str, Any]:
    """The report as JSON data."""
    return {
        "format": REPORT_FORMAT,
        "shard": str(report.shard),
        "digest": report.digest,
        "run_id": report.run_id,
        "attempt": report.attempt,
        "duration": report.duration,
        "runner": report.runner,
        "commit": report.commit,
        "warnings": list(report.warnings),
        "remote_cache": report.remote_cache,
        "results": [_result_data(r) for r in report.results],
        "junit": dict(report.junit),
    }


def _result_data(r: StepResult) -> dict[str, Any]:
    return {
        "step_id": r.step_id,
        "status": r.status,
        "duration": r.duration,
        "output": r.output,
        "attempts": r.attempts,
        "flakes": [[f.test_id, f.package, f.attempts] for f in r.flakes],
        "failed_tests": list(r.failed_tests),
        "passed_tests": r.passed_tests,
        "skipped_tests": r.skipped_tests,
        "log_path": r.log_path,
        "cache_key": r.cache_key,
        "blocked_by": list(r.blocked_by),
        "cache_source": r.cache_source,
        "cache_bytes": r.cache_bytes,
    }


def report_from_document(document: Any) -> ShardReport:
    """The report `document` holds; ShardReportError when it is not one."""
    if not isinstance(document, dict) or document.get("format") != REPORT_FORMAT:
        raise ShardReportError(f'not a shard report (no "format": "{REPORT_FORMAT}")')
    try:
        return ShardReport(
            shard=parse_shard(str(document["shard"])),
            digest=str(document["digest"]),
            run_id=str(document["run_id"]),
            attempt=int(document["attempt"]),
            results=tuple(_result(r) for r in document["results"]),
            duration=float(document["duration"]),
            junit={str(k): str(v) for k, v in document["junit"].items()},
            runner=str(document["runner"]),
            commit=None if document["commit"] is None else str(document["commit"]),
            warnings=tuple(str(w) for w in document["warnings"]),
            remote_cache=None
            if document["remote_cache"] is None
            else str(document["remote_cache"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ShardReportError(
            f"unreadable shard report ({type(error).__name__}: {error})"
        ) from error


def _result(data: Mapping[str, Any]) -> StepResult:
    status = str(data["status"])
    if status not in _STATUSES:
        raise ValueError(f"status {status!r}")
    return StepResult(
        step_id=str(data["step_id"]),
        status=status,  # type: ignore[arg-type]  # checked against Status above
        duration=float(data["duration"]),
        output=str(data["output"]),
        attempts=int(data["attempts"]),
        flakes=tuple(Flake(str(t), str(p), int(a)) for t, p, a in data["flakes"]),
        failed_tests=tuple(str(t) for t in data["failed_tests"]),
        passed_tests=int(data["passed_tests"]),
        skipped_tests=int(data["skipped_tests"]),
        log_path=None if data["log_path"] is None else str(data["log_path"]),
        cache_key=None if data["cache_key"] is None else str(data["cache_key"]),
        blocked_by=tuple(str(b) for b in data["blocked_by"]),
        cache_source=None if data["cache_source"] is None else str(data["cache_source"]),
        cache_bytes=int(data["cache_bytes"]),
    )


ShardState = Literal["passed", "failed", "missing", "refused"]


@dataclass(frozen=True)
class ShardLine:
    """A shard as the verdict saw it: its report's outcome (`passed`, `failed`), or no usable
    report (`missing`: never reported; `refused`: from another plan, or failing its
    checks), with `note` saying which steps that leaves without a result."""

    shard: ShardId
    state: ShardState
    steps: int
    expected: float
    duration: float = 0.0
    note: str = ""

    @property
    def reported(self) -> bool:
        return self.state in ("passed", "failed")
