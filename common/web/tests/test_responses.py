"""`found_or_404` answers the item or a 404 in the error shape, and logs which; `error_spec`."""

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from acme_logger import Logger
from acme_web.responses import error_spec, found_or_404
from litestar import Litestar, Response, get
from litestar.params import FromPath
from litestar.testing import TestClient

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


def test_found_item_is_the_answer_and_is_logged(
    client: TestClient[Litestar], log: io.StringIO
) -> None:
    response = client.get("/colours/red")
    assert (response.status_code, response.json()) == (200, {"hex": "#f00"})
    record = json.loads(log.getvalue())
    assert (record["level"], record["message"]) == ("INFO", "Colour retrieved: red")


def test_missing_item_is_a_404_in_the_error_shape_and_a_warning(
    client: TestClient[Litestar], log: io.StringIO
) -> None:
    response = client.get("/colours/mauve")
    assert (response.status_code, response.json()) == (404, {"error": "Colour not found"})
    record = json.loads(log.getvalue())
    assert (record["level"], record["message"]) == ("WARN", "Colour not found: mauve")


def test_error_spec_documents_the_error_shape(client: TestClient[Litestar]) -> None:
    schema = client.get("/schema/openapi.json").json()
    answer = schema["paths"]["/colours/{name}"]["get"]["responses"]["404"]
    assert answer["description"] == "No colour"
    body = answer["content"]["application/json"]["schema"]
    assert body["type"] == "object"
    assert body["additionalProperties"] == {"type": "string"}
