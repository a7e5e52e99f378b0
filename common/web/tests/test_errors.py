"""Every error a Litestar app raises answers `{"error": "<message>"}` with its status."""

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar, get, post
from litestar.exceptions import NotAuthorizedException, ServiceUnavailableException
from litestar.params import FromQuery, JSONBody
from litestar.testing import TestClient

from acme_logger import Logger
from acme_logger.record import Level
from acme_web.errors import error_handlers


@dataclass
class Order:
    item: str
    quantity: int


@get("/items", sync_to_thread=False)
def list_items(limit: FromQuery[int]) -> list[int]:
    return list(range(limit))


@post("/orders", sync_to_thread=False)
def place_order(data: JSONBody[Order]) -> Order:
    return data


@get("/private", sync_to_thread=False)
def private() -> None:
    raise NotAuthorizedException("Token expired", headers={"WWW-Authenticate": "Bearer"})


@get("/down", sync_to_thread=False)
def down() -> None:
    raise ServiceUnavailableException("database at 10.0.0.7 refused")


@get("/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("secret internals")


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def client(log: io.StringIO) -> Iterator[TestClient[Litestar]]:
    app = Litestar(
        [list_items, place_order, private, down, boom],
        exception_handlers=error_handlers(Logger("demo", stream=log)),
    )
    with TestClient(app) as test_client:
        yield test_client


def records(log: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.getvalue().splitlines()]


def test_unknown_route_and_wrong_method_keep_litestar_messages(
    client: TestClient[Litestar],
) -> None:
    unknown = client.get("/nowhere")
    wrong = client.delete("/items")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Not Found"})
    assert (wrong.status_code, wrong.json()) == (405, {"error": "Method Not Allowed"})


def test_bad_query_parameter_names_the_parameter(client: TestClient[Litestar]) -> None:
    response = client.get("/items", params={"limit": "many"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid request: limit: ")


def test_bad_body_is_called_the_request_body(client: TestClient[Litestar]) -> None:
    malformed = client.post(
        "/orders", content=b"{not json", headers={"content-type": "application/json"}
    )
    not_an_object = client.post("/orders", json=[1])
    wrong_field = client.post("/orders", json={"item": "pen", "quantity": "lots"})
    assert malformed.status_code == 400
    assert list(malformed.json()) == ["error"]
    assert not_an_object.status_code == 400
    assert not_an_object.json()["error"].startswith("Invalid request: request body: ")
    # A field inside the body is named by its own name.
    assert wrong_field.status_code == 400
    assert wrong_field.json()["error"].startswith("Invalid request: quantity: ")


def test_client_errors_keep_their_detail_and_headers(client: TestClient[Litestar]) -> None:
    response = client.get("/private")
    assert (response.status_code, response.json()) == (401, {"error": "Token expired"})
    assert response.headers["www-authenticate"] == "Bearer"


def test_server_errors_hide_internals_and_log_them(
    client: TestClient[Litestar], log: io.StringIO
) -> None:
    crashed = client.get("/boom")
    unavailable = client.get("/down")
    assert (crashed.status_code, crashed.json()) == (500, {"error": "Internal server error"})
    assert (unavailable.status_code, unavailable.json()) == (
        503,
        {"error": "Internal server error"},
    )
    logged = records(log)
    messages = [r["message"] for r in logged]
    assert "Unhandled error on GET /boom" in messages
    assert "Unhandled error on GET /down" in messages
    assert {r["level"] for r in logged} == {Level.ERROR.value}
    crash = next(r for r in logged if r["message"] == "Unhandled error on GET /boom")
    assert crash["data"]["type"] == "RuntimeError"
    assert crash["data"]["message"] == "secret internals"
