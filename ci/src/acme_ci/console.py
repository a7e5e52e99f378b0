"""Console output: live progress lines, the summary table, the critical path, failure tails."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from acme_ci.scheduler import Event, RunResult

_SYMBOL = {"start": "->", "passed": "ok", "cached": "==", "failed": "!!", "blocked": "--"}


class Progress:
    """Prints one line per step event, with the elapsed run time."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.started = time.monotonic()

    def __call__(self, event: Event) -> None:
        elapsed = time.monotonic() - self.started
        line = f"[{elapsed:6.1f}s] {_SYMBOL[event.kind]} {event.kind:<7} {event.step.id}"
        result = event.result
        if result is not None:
            if event.kind == "blocked":
                line += f" (needs {', '.join(result.blocked_by)})"
            elif event.kind == "cached":
                line += f" (was {result.duration:.1f}s)"
            else:
                line += f" ({result.duration:.1f}s)"
            if result.flakes:
                line += f" flaky: {', '.join(f.test_id for f in result.flakes)}"
        print(line, file=self.stream, flush=True)


def summary_text(run: RunResult) -> str:
    """The table, the critical path, warnings, and every failure with its log tail."""
    rows = [("step", "status", "duration", "cached", "flakes")]
    for r in run.results:
        rows.append(
            (
                r.step_id,
                r.status,
                f"{r.duration:.1f}s" if r.status != "blocked" else "-",
                "yes" if r.status == "cached" else "no",
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
    counts = ", ".join(
        f"{run.count(s)} {s}" for s in ("passed", "cached", "failed", "blocked") if run.count(s)
    )
    lines.append(
        f"{len(run.results)} steps: {counts or 'nothing to do'} in {run.duration:.1f}s "
        f"(engine: {run.engine})"
    )
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
