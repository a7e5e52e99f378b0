"""Console output: live progress lines (the summary text is the core's `summary_text`)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from acme_ci.core.scheduler import Event

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
        if event.early:
            line += " (early: ahead of the needs that gate its result)"
        if result is not None:
            if event.kind == "blocked":
                line += f" (needs {', '.join(result.blocked_by)})"
            elif event.kind == "cached":
                line += f" (was {result.duration:.1f}s, {result.cache_source or 'local'})"
            else:
                line += f" ({result.duration:.1f}s)"
            if result.flakes:
                line += f" flaky: {', '.join(f.test_id for f in result.flakes)}"
        print(line, file=self.stream, flush=True)
