import io
import json
import logging
import logging.config

import pytest

from acme_logger import JsonFormatter, JsonHandler, logging_config


def make_logger(name: str, stream: io.StringIO) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [JsonHandler(stream)]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger


@pytest.mark.parametrize(
    ("levelno", "level"),
    [
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO"),
        (logging.WARNING, "WARN"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "ERROR"),
    ],
)
def test_stdlib_levels_map_onto_the_four_levels(levelno: int, level: str) -> None:
    stream = io.StringIO()
    make_logger("acme.test.levels", stream).log(levelno, "hello %s", "world")
    record = json.loads(stream.getvalue())
    assert record["level"] == level
    assert record["message"] == "hello world"
    assert record["context"] == "acme.test.levels"
    assert "data" not in record


def test_exc_info_becomes_data() -> None:
    stream = io.StringIO()
    logger = make_logger("acme.test.exc", stream)
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logger.exception("boom")
    record = json.loads(stream.getvalue())
    assert record["data"]["type"] == "ZeroDivisionError"
    assert "1 / 0" in record["data"]["traceback"]


def test_formatter_output_is_a_single_line() -> None:
    record = logging.LogRecord("n", logging.INFO, __file__, 1, "a\nb", None, None)
    assert "\n" not in JsonFormatter().format(record)


def test_logging_config_routes_uvicorn_records_to_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logging.config.dictConfig(logging_config())
    try:
        logging.getLogger("uvicorn.error").info("Started server process")
        logging.getLogger("uvicorn.access").info("%s - %s", "127.0.0.1", "GET /")
    finally:
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar"):
            logging.getLogger(name).handlers = []
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["context"], r["message"]) for r in records] == [
        ("uvicorn.error", "Started server process"),
        ("uvicorn.access", "127.0.0.1 - GET /"),
    ]
