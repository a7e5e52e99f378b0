"""The original performance suite's correctness checks, on a generated store.

The store (20,000 generated stocks plus AAPL, MSFT and GOOGL) is generated once per module
and the app is loaded on it. Timings are measured in `bench/trading_swap_bench.py` (the
million-stock store) and `bench/trading_load.py`, never here.
"""

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from acme_trading_service.app import create_app
from acme_trading_service.model import Stock
from acme_trading_service.settings import Settings
from acme_trading_service.store import StockStore, encode_stocks, load_snapshot, read_stocks

GENERATED = 20_000
SECTORS = [
    "Technology",
    "Finance",
    "Healthcare",
    "Consumer",
    "Energy",
    "Industrial",
    "Materials",
    "Utilities",
    "Real Estate",
    "Telecom",
]
USERS = [f"user{n}" for n in range(1, 11)]
SPECIAL = {
    "AAPL": {"id": "AAPL", "name": "Apple Inc.", "price": 150.25, "owned": "user1"},
    "MSFT": {"id": "MSFT", "name": "Microsoft Corporation", "price": 245.75, "owned": "user2"},
    "GOOGL": {"id": "GOOGL", "name": "Alphabet Inc.", "price": 2800.10, "owned": "user3"},
}


@dataclass(frozen=True)
class LargeStore:
    path: Path
    generated_ids: list[str]
    owner_sector_counts: Counter[tuple[str, str | None]]


@dataclass
class Loaded:
    client: TestClient[Litestar]
    store: StockStore
    owners: dict[str, str]  # what the tests expect, updated by each successful swap


def ticker(i: int) -> str:
    return f"STOCK{i:07d}"


@pytest.fixture(scope="module")
def large_store(tmp_path_factory: pytest.TempPathFactory) -> LargeStore:
    rng = random.Random(2024)
    stocks: dict[str, Stock] = dict(SPECIAL)
    for i in range(GENERATED):
        stocks[ticker(i)] = {
            "id": ticker(i),
            "name": f"Stock {i} Corporation",
            "price": round(rng.random() * 100, 2),
            "owned": rng.choice(USERS),
            "sector": rng.choice(SECTORS),
            "volume": rng.randrange(2_000_000),
            "marketCap": rng.randrange(10**12),
        }
    path = tmp_path_factory.mktemp("perf") / "test-stocks.json"
    path.write_bytes(encode_stocks(stocks))
    counts = Counter((s["owned"], s.get("sector")) for s in stocks.values())
    return LargeStore(path, [ticker(i) for i in range(GENERATED)], counts)


@pytest.fixture(scope="module")
def loaded(large_store: LargeStore) -> Iterator[Loaded]:
    # No automatic compaction: the journal holds every swap until a test compacts it.
    app = create_app(Settings(data_path=large_store.path, compact_after=GENERATED))
    with TestClient(app) as client:
        yield Loaded(client, app.state.store, {})


def swap(loaded: Loaded, stock_id: str, from_user: str, to_user: str) -> int:
    response = loaded.client.post(
        "/swap", json={"stockId": stock_id, "fromUserId": from_user, "toUserId": to_user}
    )
    if response.status_code == 200:
        loaded.owners[stock_id] = to_user
    return response.status_code


def test_app_holds_every_stock_and_is_ready(loaded: Loaded) -> None:
    assert len(loaded.store) == GENERATED + 3
    assert loaded.client.get("/readiness").json() == {"status": "ready"}
    assert loaded.client.get("/liveness").json() == {"status": "alive"}


def test_root_message(loaded: Loaded) -> None:
    assert loaded.client.get("/").json() == {"message": "Trading Service API"}


def test_full_listing_returns_every_stock(loaded: Loaded) -> None:
    response = loaded.client.get("/stocks")
    assert response.status_code == 200
    stocks = msgspec.json.decode(response.content)
    assert len(stocks) == GENERATED + 3
    assert stocks["MSFT"] == SPECIAL["MSFT"]


def test_lookups(loaded: Loaded, large_store: LargeStore) -> None:
    assert loaded.client.get("/stocks/AAPL").json()["name"] == "Apple Inc."
    last = large_store.generated_ids[-1]
    assert loaded.client.get(f"/stocks/{last}").json()["id"] == last
    response = loaded.client.get("/stocks/NONEXISTENT")
    assert (response.status_code, response.json()) == (404, {"error": "Stock not found"})


@pytest.mark.parametrize(
    ("owner", "sector"), [("user7", "Finance"), ("user1", "Energy"), ("user10", "Telecom")]
)
def test_filtered_listing_matches_the_generated_data(
    loaded: Loaded, large_store: LargeStore, owner: str, sector: str
) -> None:
    stocks = loaded.client.get("/stocks", params={"owned": owner, "sector": sector}).json()
    assert len(stocks) == large_store.owner_sector_counts[(owner, sector)]
    assert {(s["owned"], s["sector"]) for s in stocks.values()} == {(owner, sector)}


def test_limited_listings(loaded: Loaded) -> None:
    first = loaded.client.get("/stocks", params={"limit": 5}).json()
    assert list(first) == ["AAPL", "MSFT", "GOOGL", ticker(0), ticker(1)]
    owned = loaded.client.get("/stocks", params={"owned": "user4", "limit": 100}).json()
    assert len(owned) == 100
    assert {s["owned"] for s in owned.values()} == {"user4"}
    assert loaded.client.get("/stocks", params={"owned": "nobody", "limit": 3}).json() == {}
    assert loaded.client.get("/stocks", params={"limit": 0}).status_code == 400


def test_swap_is_applied_and_survives_a_restart(loaded: Loaded, large_store: LargeStore) -> None:
    assert swap(loaded, "AAPL", "user1", "user2") == 200
    assert loaded.client.get("/stocks/AAPL").json()["owned"] == "user2"
    # What a restarted service would load: the snapshot plus the journal.
    assert read_stocks(large_store.path)["AAPL"]["owned"] == "user2"


def test_swap_error_cases(loaded: Loaded) -> None:
    assert loaded.client.post("/swap", json={"stockId": "MSFT"}).json() == {
        "error": "Missing required parameters"
    }
    assert swap(loaded, "NONEXISTENT", "user1", "user2") == 404
    wrong_owner = loaded.client.post(
        "/swap", json={"stockId": "GOOGL", "fromUserId": "user1", "toUserId": "user2"}
    )
    assert (wrong_owner.status_code, wrong_owner.json()) == (
        400,
        {"error": "Stock is not owned by the specified user"},
    )
    malformed = loaded.client.post(
        "/swap", content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400


def test_sequence_of_20_swaps(loaded: Loaded, large_store: LargeStore) -> None:
    stock_ids = large_store.generated_ids[:20]
    initial = {sid: loaded.client.get(f"/stocks/{sid}").json()["owned"] for sid in stock_ids}
    for stock_id, owner in initial.items():
        assert swap(loaded, stock_id, owner, "user2" if owner == "user1" else "user1") == 200
    for stock_id, owner in initial.items():
        assert loaded.client.get(f"/stocks/{stock_id}").json()["owned"] != owner


def test_multi_user_trading_simulation(loaded: Loaded, large_store: LargeStore) -> None:
    rng = random.Random(99)
    traders = [f"trader{n}" for n in range(10)]
    pool = rng.sample(large_store.generated_ids[6_000:], 200)
    owners = {sid: loaded.client.get(f"/stocks/{sid}").json()["owned"] for sid in pool}
    outcomes: Counter[int] = Counter()
    for _ in range(600):
        stock_id = rng.choice(pool)
        # Most orders come from the real owner; some from someone else and must be refused.
        seller = owners[stock_id] if rng.random() < 0.8 else rng.choice(traders)
        buyer = rng.choice([t for t in traders if t != seller])
        status = swap(loaded, stock_id, seller, buyer)
        expected = 200 if owners[stock_id] == seller else 400
        assert status == expected
        if status == 200:
            owners[stock_id] = buyer
        outcomes[status] += 1
    assert outcomes[200] > 0
    assert outcomes[400] > 0
    for trader in traders:
        portfolio = {sid for sid, owner in owners.items() if owner == trader}
        listed = loaded.client.get("/stocks", params={"owned": trader}).json()
        assert portfolio <= set(listed)


def test_probes_answer_under_a_loaded_store(loaded: Loaded) -> None:
    assert loaded.client.get("/readiness").status_code == 200
    assert loaded.client.get("/liveness").status_code == 200


def test_compaction_writes_a_snapshot_holding_every_swap(
    loaded: Loaded, large_store: LargeStore
) -> None:
    # Its own swaps, so the check holds whether the test runs alone or after the others.
    for stock_id in large_store.generated_ids[700:710]:
        current = loaded.store.get(stock_id)
        assert current is not None
        assert swap(loaded, stock_id, current["owned"], "compacted") == 200
    assert loaded.store.pending > 0
    loaded.client.blocking_portal.call(loaded.store.compact)
    assert loaded.store.pending == 0
    snapshot = load_snapshot(large_store.path)
    assert {sid: snapshot[sid]["owned"] for sid in loaded.owners} == loaded.owners
    assert {sid for sid in large_store.generated_ids[700:710]} <= set(loaded.owners)
