"""The flake record: one JSON line per flaky test per run, in .acme/flakes.jsonl."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from acme_ci.core.scheduler import Flake


def append_flakes(record: Path, flakes: Iterable[Flake], commit: str | None) -> None:
    """Append one line per flake; each line is a single O_APPEND write, so runs may race."""
    from datetime import UTC, datetime  # here: a run served from the cache records none

    now = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [
        json.dumps(
            {
                "test": flake.test_id,
                "package": flake.package,
                "attempts": flake.attempts,
                "time": now,
                "commit": commit,
            }
        )
        + "\n"
        for flake in flakes
    ]
    if not lines:
        return
    record.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for line in lines:
            os.write(fd, line.encode())
    finally:
        os.close(fd)
