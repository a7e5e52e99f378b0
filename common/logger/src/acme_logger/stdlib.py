"""Bridge from the standard `logging` module (uvicorn, litestar) to the same JSON lines."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from acme_logger.record import Level, build_record, render_line


def level_for(levelno: int) -> Level:
    """Map a stdlib level number onto the four levels; CRITICAL counts as ERROR."""
    if levelno >= logging.ERROR:
        return Level.ERROR
    if levelno >= logging.WARNING:
        return Level.WARN
    if levelno >= logging.INFO:
        return Level.INFO
    return Level.DEBUG


class JsonFormatter(logging.Formatter):
    """Formats a `LogRecord` as one acme JSON line; the logger name becomes the context."""

    def format(self, record: logging.LogRecord) -> str:
        has_data = record.exc_info is not None and record.exc_info[1] is not None
        data = record.exc_info[1] if has_data and record.exc_info else None
        return render_line(
            build_record(
                level=level_for(record.levelno),
                context=record.name,
                message=record.getMessage(),
                timestamp=datetime.fromtimestamp(record.created, UTC),
                pid=record.process if record.process is not None else 0,
                data=data,
                has_data=has_data,
            )
        )


class JsonHandler(logging.StreamHandler[TextIO]):
    """A stream handler to stdout with `JsonFormatter`."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stdout)
        self.setFormatter(JsonFormatter())


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` mapping routing uvicorn's and litestar's loggers to JSON.

    Pass it as uvicorn's `log_config` so the server's own records share the format.
    """
    handler = {"()": JsonHandler}
    loggers = ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"acme_json": handler},
        "loggers": {
            name: {"handlers": ["acme_json"], "level": level, "propagate": False}
            for name in loggers
        },
    }
