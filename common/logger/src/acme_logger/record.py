"""Pure construction of a log record and its one-line JSON rendering."""

from __future__ import annotations

import json
import traceback
from datetime import datetime
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """The four levels the original logger wrote, spelled as it spelled them."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def render_exception(exc: BaseException) -> dict[str, str]:
    """An exception as data: its type, its message and its formatted traceback."""
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
    }


def _json_default(value: object) -> Any:
    # Called only for values json cannot encode: exceptions get their structured form, and
    # anything else its str() so that a log call never raises because of its data.
    if isinstance(value, BaseException):
        return render_exception(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def build_record(
    *,
    level: Level,
    context: str,
    message: str,
    timestamp: datetime,
    pid: int,
    data: object = None,
    has_data: bool = False,
) -> dict[str, Any]:
    """The record's fields, in the order they are written; `data` only when given."""
    record: dict[str, Any] = {
        "timestamp": timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "pid": pid,
        "level": level.value,
        "context": context,
        "message": message,
    }
    if has_data:
        record["data"] = render_exception(data) if isinstance(data, BaseException) else data
    return record


def render_line(record: dict[str, Any]) -> str:
    """The record as exactly one line of JSON (newlines inside values stay escaped)."""
    return json.dumps(record, default=_json_default, ensure_ascii=False, separators=(",", ":"))
