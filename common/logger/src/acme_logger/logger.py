"""The application-facing logger: `Logger("user-service").info("...", data)`."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Final, TextIO

from acme_logger.record import Level, build_record, render_line

_NO_DATA: Final = object()


class Logger:
    """Writes one JSON line per call to stdout (or the given stream), tagged with a context."""

    def __init__(self, context: str = "app", stream: TextIO | None = None) -> None:
        self.context = context
        # Resolved at each write when not given, so redirected or captured stdout is honoured.
        self._stream = stream

    def log(self, level: Level, message: str, data: object = _NO_DATA) -> None:
        """Write one record at `level`; `data` is any JSON-able value or an exception."""
        record = build_record(
            level=level,
            context=self.context,
            message=message,
            timestamp=datetime.now(UTC),
            pid=os.getpid(),
            data=None if data is _NO_DATA else data,
            has_data=data is not _NO_DATA,
        )
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(render_line(record) + "\n")
        stream.flush()

    def debug(self, message: str, data: object = _NO_DATA) -> None:
        """Write a DEBUG record."""
        self.log(Level.DEBUG, message, data)

    def info(self, message: str, data: object = _NO_DATA) -> None:
        """Write an INFO record."""
        self.log(Level.INFO, message, data)

    def warn(self, message: str, data: object = _NO_DATA) -> None:
        """Write a WARN record."""
        self.log(Level.WARN, message, data)

    def error(self, message: str, data: object = _NO_DATA) -> None:
        """Write an ERROR record."""
        self.log(Level.ERROR, message, data)
