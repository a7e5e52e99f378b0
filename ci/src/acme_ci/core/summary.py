"""The run summary as text: the table, the critical path, flakes, shards, warnings, failure
tails."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from acme_ci.core.scheduler import RunResult

if TYPE_CHECKING:  # a type only: an unsharded run never loads the sharding modules
    from acme_ci.core.shard_report import ShardLine


def summary_text(run: RunResult, shards: Sequence[ShardLine] = ()) -> str:
    """The table, the critical path, warnings, and every failure with its log tail; with
    `shards` (a sharded run's verdict), a line per shard."""
    remote = run.remote_cache is not None
    rows = [("step", "status", "duration", "cached", *(("remote",) if remote else ()), "flakes")]
    for r in run.results:
        rows.append(
            (
                r.step_id,
                r.status,
                f"{r.duration:.1f}s" if r.status != "blocked" else "-",
                (r.cache_source or "yes") if r.status == "cached" else "no",
                *((_moved(r.status, r.cache_bytes),) if remote else ()),
                ", ".join(f"{f.test_id} (x{f.attempts})" for f in r.flakes) or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    widths[-1] = 0  # the last column is not padded
    lines = ["", "Summary"]
    lines.extend(
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
    path, length = run.critical_path()
    lines.append("")
    lines.append(f"Critical path ({length:.1f}s): {' -> '.join(path) or '-'}")
    if run.expected:
        path, length = run.expected_critical_path()
        lines.append(f"Expected critical path ({length:.1f}s): {' -> '.join(path) or '-'}")
    else:
        lines.append("Expected critical path: - (no recorded durations yet)")
    counts = ", ".join(
        f"{run.count(s)} {s}" for s in ("passed", "cached", "failed", "blocked") if run.count(s)
    )
    lines.append(
        f"{len(run.results)} steps: {counts or 'nothing to do'} in {run.duration:.1f}s "
        f"(runner: {run.runner})"
    )
    if run.remote_cache is not None:
        hits = sum(1 for r in run.results if r.cache_source == "remote")
        down = sum(r.cache_bytes for r in run.results if r.status == "cached")
        up = sum(r.cache_bytes for r in run.results if r.status != "cached")
        lines.append(
            f"Remote cache {run.remote_cache}: {hits} hits, "
            f"{_size(down)} downloaded, {_size(up)} uploaded"
        )
    lines.extend(shard_lines(shards))
    if run.flakes:
        lines.append(f"Flaky tests (passed after a rerun): {len(run.flakes)}")
        for r in run.results:
            # A cache hit replays the flakes of the run that filled the entry.
            when = " (in the cached run)" if r.status == "cached" else ""
            lines.extend(
                f"  {f.package}: {f.test_id} after {f.attempts} attempts{when}" for f in r.flakes
            )
    lines.extend(f"warning: {w}" for w in run.warnings)
    for r in run.failed:
        lines.append("")
        lines.append(f"FAILED {r.step_id}" + (f" (log: {r.log_path})" if r.log_path else ""))
        if r.failed_tests:
            lines.append(f"  failing tests: {', '.join(r.failed_tests)}")
        lines.extend(f"  | {line}" for line in r.output.splitlines())
    return "\n".join(lines)


def shard_lines(shards: Sequence[ShardLine]) -> list[str]:
    """A line per shard: its outcome, steps and length against the plan's expectation; or
    why it has no result."""
    if not shards:
        return []
    lines = [f"Shards ({len(shards)}):"]
    for line in shards:
        if line.reported:
            lines.append(
                f"  shard {line.shard}  {line.state}  {line.steps} steps  {line.duration:.1f}s "
                f"(expected {line.expected:.1f}s)"
            )
        else:
            lines.append(f"  {line.note}")
    return lines


def _moved(status: str, size: int) -> str:
    if not size:
        return "-"
    return f"{'down' if status == 'cached' else 'up'} {_size(size)}"


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"
