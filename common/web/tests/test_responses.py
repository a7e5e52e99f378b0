"""`found_or_404` answers the item or a 404 in the error shape, and logs which; `error_spec`."""

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, Response, get
from litestar.params import FromPath
from litestar.testing import TestClient

from acme_logger import Logger
from acme_web.responses import error_spec, found_or_404

COLOURS = {"red": {"hex": "#f00"}}


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def client(log: io.StringIO) -> Iterator[TestClient[Litestar]]:
    logger = Logger("colours", stream=log)

    @get("/colours/{name:str}", sync_to_thread=False, responses={404: error_spec("No colour")})
    def colour(name: FromPath[str]) -> Response[Any]:
        return found_or_404(COLOURS.get(name), "Colour", name, logger)

    with TestClient(Litestar([colour])) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("name", "status", "body", "level", "message"),
    [
        ("red", 200, {"hex": "#f00"}, "INFO", "Colour retrieved: red"),
        ("mauve", 404, {"error": "Colour not found"}, "WARN", "Colour not found: mauve"),
    ],
)
def test_the_item_or_a_404_in_the_error_shape_and_the_log_says_which(
    client: TestClient[Litestar],
    log: io.StringIO,
    name: str,
    status: int,
    body: dict[str, str],
    level: str,
    message: str,
) -> None:
    response = client.get(f"/colours/{name}")
    assert (response.status_code, response.json()) == (status, body)
    record = json.loads(log.getvalue())
    assert (record["level"], record["message"]) == (level, message)


def test_error_spec_documents_the_error_shape(client: TestClient[Litestar]) -> None:
    schema = client.get("/schema/openapi.json").json()
    answer = schema["paths"]["/colours/{name}"]["get"]["responses"]["404"]
    assert answer["description"] == "No colour"
    reference = answer["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    # `{"error": string}`, the error required: what every error answer holds.
    assert body["type"] == "object"
    assert body["properties"] == {"error": {"type": "string"}}
    assert body["required"] == ["error"]
