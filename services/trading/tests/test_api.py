"""The endpoints against the packaged five-stock store, answers exactly as specified."""

import json
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from acme_trading_service.app import create_app
from acme_trading_service.settings import Settings, packaged_stocks_path
from acme_trading_service.store import read_stocks

Client = TestClient[Litestar]
ORIGINAL_OWNERS = {
    "AAPL": "user1",
    "MSFT": "user2",
    "GOOGL": "user3",
    "AMZN": "user4",
    "TSLA": "user5",
}


def test_root_returns_the_service_message(client: Client) -> None:
    response = client.get("/")
    assert (response.status_code, response.json()) == (200, {"message": "Trading Service API"})


def test_list_returns_every_stock_keyed_by_id(client: Client) -> None:
    stocks = client.get("/stocks").json()
    assert {key: stock["owned"] for key, stock in stocks.items()} == ORIGINAL_OWNERS
    assert all(stock["id"] == key for key, stock in stocks.items())


def test_get_stock_by_id(client: Client) -> None:
    response = client.get("/stocks/AAPL")
    assert response.status_code == 200
    assert response.json() == {
        "id": "AAPL",
        "name": "Apple Inc.",
        "price": 150.25,
        "owned": "user1",
        "sector": "Technology",
        "volume": 1000000,
        "marketCap": 2500000000000,
    }


def test_unknown_stock_is_404(client: Client) -> None:
    response = client.get("/stocks/NONEXISTENT")
    assert (response.status_code, response.json()) == (404, {"error": "Stock not found"})


def test_swap_transfers_and_persists(client: Client, stocks_path: Path) -> None:
    response = client.post(
        "/swap", json={"stockId": "AAPL", "fromUserId": "user1", "toUserId": "user2"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Stock AAPL transferred from user1 to user2"
    assert body["stock"]["owned"] == "user2"
    assert body["stock"]["name"] == "Apple Inc."
    assert client.get("/stocks/AAPL").json()["owned"] == "user2"
    # A small store's snapshot is rewritten on every swap, so the file alone is current.
    assert json.loads(stocks_path.read_text())["AAPL"]["owned"] == "user2"
    assert read_stocks(stocks_path)["AAPL"]["owned"] == "user2"


@pytest.mark.parametrize(
    "body",
    [
        {"stockId": "MSFT"},
        {"stockId": "MSFT", "fromUserId": "user2"},
        {"stockId": "", "fromUserId": "user2", "toUserId": "user1"},
        {"stockId": "MSFT", "fromUserId": "user2", "toUserId": ""},
        {"stockId": "MSFT", "fromUserId": None, "toUserId": "user1"},
        {},
        None,
    ],
)
def test_missing_or_empty_parameters_are_rejected(client: Client, body: Any) -> None:
    response = client.post("/swap", json=body)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Missing required parameters"},
    )
    assert client.get("/stocks/MSFT").json()["owned"] == "user2"


def test_swap_of_unknown_stock_is_404(client: Client) -> None:
    response = client.post(
        "/swap", json={"stockId": "NONEXISTENT", "fromUserId": "user1", "toUserId": "user2"}
    )
    assert (response.status_code, response.json()) == (404, {"error": "Stock not found"})


def test_swap_from_a_user_who_does_not_own_the_stock_is_refused(client: Client) -> None:
    response = client.post(
        "/swap", json={"stockId": "GOOGL", "fromUserId": "user1", "toUserId": "user2"}
    )
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Stock is not owned by the specified user"},
    )
    assert client.get("/stocks/GOOGL").json()["owned"] == "user3"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"stockId": "AAPL",', "application/json"),
        (b"not json", "application/json"),
        (b"stockId=AAPL", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_json_gets_400_with_a_message(
    client: Client, content: bytes, content_type: str
) -> None:
    response = client.post("/swap", content=content, headers={"content-type": content_type})
    assert response.status_code == 400
    assert response.json()["error"]
    assert client.get("/stocks/AAPL").json()["owned"] == "user1"


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"[1, 2]", "request body"),
        (b'"AAPL"', "request body"),
        (b'{"stockId": 7, "fromUserId": "user1", "toUserId": "user2"}', "stockId"),
        (b'{"stockId": "AAPL", "fromUserId": ["user1"], "toUserId": "user2"}', "fromUserId"),
    ],
)
def test_wrong_types_get_400_naming_the_field(client: Client, content: bytes, field: str) -> None:
    # acme-web's contract: "Invalid request: <field>: <problem>", the body named "request body".
    response = client.post("/swap", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"Invalid request: {field}: ")
    assert client.get("/stocks/AAPL").json()["owned"] == "user1"


def test_oversized_body_is_413(client: Client) -> None:
    response = client.post(
        "/swap", content=b" " * 100_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("owned=user2", ["MSFT"]),
        ("sector=Technology", ["AAPL", "MSFT", "GOOGL"]),
        ("sector=Technology&owned=user3", ["GOOGL"]),
        ("limit=2", ["AAPL", "MSFT"]),
        ("sector=Technology&limit=1", ["AAPL"]),
        ("owned=nobody", []),
    ],
)
def test_listing_filters(client: Client, query: str, expected: list[str]) -> None:
    response = client.get(f"/stocks?{query}")
    assert response.status_code == 200
    assert list(response.json()) == expected


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=-3", "limit=ten", "limit=9223372036854775808", "limit=1000000000000"],
)
def test_bad_listing_parameters_get_400(client: Client, query: str) -> None:
    # `limit` is documented as 1..1,000,000,000; beyond 2^63 it once crashed with a 500.
    response = client.get(f"/stocks?{query}")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid request: limit: ")


def test_unknown_route_and_method_answer_json_errors(client: Client) -> None:
    unknown = client.get("/portfolio/user1")
    assert unknown.status_code == 404
    assert set(unknown.json()) == {"error"}
    wrong_method = client.get("/swap")
    assert wrong_method.status_code == 405
    assert set(wrong_method.json()) == {"error"}


def test_probes_and_openapi(client: Client) -> None:
    assert client.get("/readiness").json() == {"status": "ready"}
    assert client.get("/liveness").json() == {"status": "alive"}
    schema = client.get("/schema/openapi.json").json()
    assert schema["info"]["title"] == "Trading Service API"
    assert {"/", "/stocks", "/stocks/{stock_id}", "/swap"} <= set(schema["paths"])
    parameters = {p["name"] for p in schema["paths"]["/stocks"]["get"]["parameters"]}
    assert parameters == {"owned", "sector", "limit"}


def test_readiness_fails_once_the_store_is_closed(stocks_path: Path) -> None:
    app = create_app(Settings(data_path=stocks_path))
    with TestClient(app) as test_client:
        test_client.blocking_portal.call(app.state.store.close)
        response = test_client.get("/readiness")
    assert (response.status_code, response.json()["check"]) == (503, "stock-store")


def test_default_store_is_a_working_copy_seeded_from_the_packaged_file(tmp_path: Path) -> None:
    packaged = packaged_stocks_path().read_bytes()
    working = tmp_path / "var" / "trading" / "stocks.json"
    settings = Settings(data_path=working, seed_path=packaged_stocks_path())
    with TestClient(create_app(settings)) as test_client:
        test_client.post(
            "/swap", json={"stockId": "TSLA", "fromUserId": "user5", "toUserId": "user1"}
        )
    assert read_stocks(working)["TSLA"]["owned"] == "user1"
    assert packaged_stocks_path().read_bytes() == packaged


def test_environment_selects_the_store(tmp_path: Path) -> None:
    assert Settings.from_env({"STOCKS_DATA_PATH": str(tmp_path / "s.json")}) == Settings(
        data_path=tmp_path / "s.json"
    )
    default = Settings.from_env({})
    assert default.data_path == Path("var/trading/stocks.json")
    assert default.seed_path == packaged_stocks_path()
