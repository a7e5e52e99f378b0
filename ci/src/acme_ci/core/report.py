"""The run report as data: JSON for tools (`--report`), Markdown for GitHub's step summary."""

from __future__ import annotations

from typing import Any

from acme_ci.core.scheduler import RunResult


def report_data(run: RunResult) -> dict[str, Any]:
    """Everything a tool needs to judge the run, JSON-serialisable."""
    path, length = run.critical_path()
    expected_path, expected_length = run.expected_critical_path()
    return {
        "ok": run.ok,
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


def report_markdown(run: RunResult, title: str = "acme-ci") -> str:
    """A Markdown summary: verdict, table, critical path, flakes and failures."""
    verdict = "passed" if run.ok else "FAILED"
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
    for r in run.failed:
        lines += ["", f"<details><summary>{r.step_id} failed</summary>", "", "```"]
        lines += [*r.output.splitlines()[-30:], "```", "</details>"]
    return "\n".join(lines) + "\n"
