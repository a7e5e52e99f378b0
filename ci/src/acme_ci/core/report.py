"""The run report as data: JSON for tools (`--report`), Markdown for GitHub's step summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from acme_ci.core.scheduler import RunResult

if TYPE_CHECKING:  # a type only: an unsharded run never loads the sharding modules
    from acme_ci.core.shard_report import ShardLine


def report_data(run: RunResult, shards: Sequence[ShardLine] = ()) -> dict[str, Any]:
    """Everything a tool needs to judge the run, JSON-serialisable; with `shards` (a sharded
    run's verdict), what became of each shard, and `ok` only when every shard reported."""
    path, length = run.critical_path()
    expected_path, expected_length = run.expected_critical_path()
    data = {
        "ok": run.ok and all(line.reported for line in shards),
        "runner": run.runner,
        "duration": round(run.duration, 3),
        "selection": {
            "note": run.plan.selection.note,
            "packages": {k: list(v) for k, v in run.plan.selection.reasons.items()},
        },
        "steps": [
            {
                "id": r.step_id,
                "package": run.plan.get(r.step_id).package,
                "task": run.plan.get(r.step_id).task,
                "status": r.status,
                "duration": round(r.duration, 3),
                "cached": r.status == "cached",
                "attempts": r.attempts,
                "flakes": [{"test": f.test_id, "attempts": f.attempts} for f in r.flakes],
                "failed_tests": list(r.failed_tests),
                "blocked_by": list(r.blocked_by),
                "log": r.log_path,
                "cache_key": r.cache_key,
                "cache_source": r.cache_source,
                "cache_bytes": r.cache_bytes,
            }
            for r in run.results
        ],
        "critical_path": {"steps": list(path), "duration": round(length, 3)},
        "expected_critical_path": {
            "steps": list(expected_path) if run.expected else [],
            "duration": round(expected_length, 3),
        },
        "warnings": list(run.warnings),
        "remote_cache": run.remote_cache,
    }
    if shards:
        data["shards"] = [
            {
                "shard": str(line.shard),
                "state": line.state,
                "steps": line.steps,
                "duration": round(line.duration, 3),
                "expected": round(line.expected, 3),
                "note": line.note,
            }
            for line in shards
        ]
    return data


def report_markdown(
    run: RunResult, title: str = "acme-ci", shards: Sequence[ShardLine] = ()
) -> str:
    """A Markdown summary: verdict, table, critical path, shards, flakes and failures."""
    verdict = "passed" if run.ok and all(line.reported for line in shards) else "FAILED"
    lines = [
        f"## {title}: {verdict} in {run.duration:.1f}s ({run.runner})",
        "",
        f"_{run.plan.selection.note}_",
        "",
        "| step | status | duration | cached | flakes |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for r in run.results:
        flakes = ", ".join(f"`{f.test_id}` (x{f.attempts})" for f in r.flakes) or ""
        cached = (r.cache_source or "yes") if r.status == "cached" else ""
        lines.append(f"| {r.step_id} | {r.status} | {r.duration:.1f}s | {cached} | {flakes} |")
    path, length = run.critical_path()
    lines += ["", f"Critical path ({length:.1f}s): {' → '.join(path) or '-'}"]
    if run.expected:
        path, length = run.expected_critical_path()
        lines += ["", f"Expected critical path ({length:.1f}s): {' → '.join(path) or '-'}"]
    if shards:
        lines += [
            "",
            "| shard | outcome | steps | duration | expected |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {line.shard} | {line.state} | {line.steps} | {line.duration:.1f}s | "
            f"{line.expected:.1f}s |"
            for line in shards
        ]
        lines += [f"- {line.note}" for line in shards if not line.reported]
    for r in run.failed:
        lines += ["", f"<details><summary>{r.step_id} failed</summary>", "", "```"]
        lines += [*r.output.splitlines()[-30:], "```", "</details>"]
    return "\n".join(lines) + "\n"
