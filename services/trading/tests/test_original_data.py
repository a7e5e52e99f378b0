"""The original exercise's stocks.json, unchanged (`{"id", "name", "price", "owned"}`).

`data/original_stocks.json` is a copy of the original file as it held the five stocks;
every route is exercised on a private copy of it.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from acme_trading_service.app import create_app
from acme_trading_service.settings import Settings
from acme_trading_service.store import read_stocks

ORIGINAL = Path(__file__).parent / "data" / "original_stocks.json"
ORIGINAL_STOCKS = json.loads(ORIGINAL.read_text(encoding="utf-8"))
Client = TestClient[Litestar]


@pytest.fixture
def original_path(tmp_path: Path) -> Path:
    path = tmp_path / "stocks.json"
    shutil.copyfile(ORIGINAL, path)
    return path


@pytest.fixture
def original(original_path: Path) -> Iterator[Client]:
    with TestClient(create_app(Settings(data_path=original_path))) as client:
        yield client


def test_the_copy_has_the_original_shape() -> None:
    assert list(ORIGINAL_STOCKS) == ["AAPL", "MSFT", "GOOGL", "AMZN", "TSLA"]
    assert all(set(stock) == {"id", "name", "price", "owned"} for stock in ORIGINAL_STOCKS.values())


def test_root_and_probes(original: Client) -> None:
    assert original.get("/").json() == {"message": "Trading Service API"}
    assert original.get("/readiness").json() == {"status": "ready"}
    assert original.get("/liveness").json() == {"status": "alive"}
    assert "/swap" in original.get("/schema/openapi.json").json()["paths"]


def test_listing_and_lookup_serve_the_records_as_the_file_holds_them(original: Client) -> None:
    assert original.get("/stocks").json() == ORIGINAL_STOCKS
    assert original.get("/stocks/TSLA").json() == ORIGINAL_STOCKS["TSLA"]
    assert original.get("/stocks/NOPE").status_code == 404


def test_filters_on_records_without_a_sector(original: Client) -> None:
    assert list(original.get("/stocks", params={"owned": "user3"}).json()) == ["GOOGL"]
    assert list(original.get("/stocks", params={"limit": 2}).json()) == ["AAPL", "MSFT"]
    # No original record has a sector, so a sector filter matches none of them.
    assert original.get("/stocks", params={"sector": "Technology"}).json() == {}


def test_swap_on_the_original_file_keeps_its_shape(original: Client, original_path: Path) -> None:
    response = original.post(
        "/swap", json={"stockId": "AMZN", "fromUserId": "user4", "toUserId": "user1"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Stock AMZN transferred from user4 to user1",
        "stock": {**ORIGINAL_STOCKS["AMZN"], "owned": "user1"},
    }
    refused = original.post(
        "/swap", json={"stockId": "AMZN", "fromUserId": "user4", "toUserId": "user2"}
    )
    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "Stock is not owned by the specified user"},
    )
    missing = original.post("/swap", json={"stockId": "AMZN"})
    assert (missing.status_code, missing.json()) == (400, {"error": "Missing required parameters"})
    expected = {**ORIGINAL_STOCKS, "AMZN": {**ORIGINAL_STOCKS["AMZN"], "owned": "user1"}}
    assert read_stocks(original_path) == expected
    assert json.loads(original_path.read_bytes()) == expected  # same four fields per record


def test_sector_filters_only_records_that_have_one(tmp_path: Path) -> None:
    path = tmp_path / "stocks.json"
    mixed = {
        **ORIGINAL_STOCKS,
        "XOM": {"id": "XOM", "name": "Exxon", "price": 1, "owned": "user2", "sector": "Energy"},
    }
    path.write_text(json.dumps(mixed), encoding="utf-8")
    with TestClient(create_app(Settings(data_path=path))) as client:
        assert client.get("/stocks", params={"sector": "Energy"}).json() == {"XOM": mixed["XOM"]}
        assert client.get("/stocks").json() == mixed


def test_every_owner_is_one_of_the_original_users() -> None:
    assert {stock["owned"] for stock in ORIGINAL_STOCKS.values()} == {
        f"user{n}" for n in range(1, 6)
    }
