import io
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from acme_logger import Logger


def lines_of(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize(
    ("method", "level"),
    [("info", "INFO"), ("warn", "WARN"), ("error", "ERROR"), ("debug", "DEBUG")],
)
def test_each_level_writes_one_json_line_with_the_fields(
    capsys: pytest.CaptureFixture[str], method: str, level: str
) -> None:
    getattr(Logger("user-service"), method)("hello")

    [record] = lines_of(capsys)
    assert list(record) == ["timestamp", "pid", "level", "context", "message"]
    assert record["level"] == level
    assert record["context"] == "user-service"
    assert record["message"] == "hello"
    assert record["pid"] == os.getpid()
    stamp = datetime.fromisoformat(record["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)


def test_default_context_is_app(capsys: pytest.CaptureFixture[str]) -> None:
    Logger().info("x")
    assert lines_of(capsys)[0]["context"] == "app"


@pytest.mark.parametrize("data", [{"id": 1, "tags": ["a"]}, [1, 2], "text", 0, None, False])
def test_data_is_written_when_given_even_if_falsy(
    capsys: pytest.CaptureFixture[str], data: object
) -> None:
    Logger().info("with data", data)
    assert lines_of(capsys)[0]["data"] == data


def test_multiline_message_still_makes_exactly_one_line() -> None:
    stream = io.StringIO()
    Logger(stream=stream).warn("first\nsecond", {"nested": "a\nb"})
    text = stream.getvalue()
    assert text.count("\n") == 1
    assert json.loads(text)["message"] == "first\nsecond"


def test_exception_is_rendered_with_type_message_and_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        Logger().error("Failed to load", exc)

    data = lines_of(capsys)[0]["data"]
    assert data["type"] == "ValueError"
    assert data["message"] == "bad value"
    assert "raise ValueError" in data["traceback"]


def test_unencodable_data_is_rendered_instead_of_raising(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Logger().info("odd", {"when": datetime(2024, 1, 2, tzinfo=UTC), "err": KeyError("k")})
    data = lines_of(capsys)[0]["data"]
    assert data["when"].startswith("2024-01-02")
    assert data["err"]["type"] == "KeyError"
