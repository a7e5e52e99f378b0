"""Concurrent swaps lose no update; a writer killed mid-write never leaves a broken file."""

import json
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from litestar.testing import AsyncTestClient

from acme_trading_service.app import create_app
from acme_trading_service.settings import Settings
from acme_trading_service.store import StockStore, encode_stocks, read_stocks

# The `pass_along` fixture's shape (see conftest.py).
PassAlong = Callable[[httpx.AsyncClient, str, int], Coroutine[Any, Any, None]]


def write_store(path: Path, count: int, owner: str = "u0") -> None:
    path.write_bytes(
        encode_stocks(
            {
                f"S{i}": {
                    "id": f"S{i}",
                    "name": f"Stock {i} Corporation",
                    "price": 10.0,
                    "owned": owner,
                    "sector": "Finance",
                    "volume": i,
                    "marketCap": i * 1000,
                }
                for i in range(count)
            }
        )
    )


@pytest.mark.anyio
async def test_concurrent_swaps_lose_no_update_and_leave_valid_json(
    tmp_path: Path, pass_along: PassAlong
) -> None:
    path = tmp_path / "stocks.json"
    write_store(path, 40)
    hops = 5
    # compact_after=7 interleaves snapshot rewrites with the concurrent journal appends.
    app = create_app(Settings(data_path=path, compact_after=7))
    contenders = [f"bidder{n}" for n in range(25)]
    statuses: dict[str, int] = {}

    async with AsyncTestClient(app) as client:

        async def bid(bidder: str) -> None:
            response = await client.post(
                "/swap", json={"stockId": "S39", "fromUserId": "u0", "toUserId": bidder}
            )
            statuses[bidder] = response.status_code

        async with anyio.create_task_group() as group:
            for i in range(39):
                group.start_soon(pass_along, client, f"S{i}", hops)
            for bidder in contenders:
                group.start_soon(bid, bidder)

    winners = [bidder for bidder, status in statuses.items() if status == 200]
    assert len(winners) == 1
    assert sorted(statuses.values()) == [200] + [400] * (len(contenders) - 1)
    snapshot = json.loads(path.read_bytes())  # valid JSON, and after shutdown, complete
    state = read_stocks(path)
    assert {k: v["owned"] for k, v in snapshot.items()} == {k: v["owned"] for k, v in state.items()}
    assert {state[f"S{i}"]["owned"] for i in range(39)} == {f"u{hops}"}
    assert state["S39"]["owned"] == winners[0]


CHILD_ATOMIC_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from acme_trading_service.durable import atomic_write

    path = Path(sys.argv[1])
    versions = [path.read_bytes(), sys.argv[2].encode() * 2_000_000]
    print("writing", flush=True)
    i = 0
    while True:
        i += 1
        atomic_write(path, versions[i % 2])
    """
)


def test_writer_killed_mid_write_leaves_the_previous_or_the_new_file(
    tmp_path: Path, perf_report: list[str]
) -> None:
    path = tmp_path / "stocks.json"
    previous = json.dumps({"state": "previous", "pad": "p" * 2_000_000}).encode()
    path.write_bytes(previous)
    # The child alternates between the previous content and a 2 MB "new" one.
    new = b"n" * 2_000_000
    interrupted = 0
    rng = random.Random(7)
    for _ in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD_ATOMIC_WRITER, str(path), "n"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == "writing\n"
        time.sleep(rng.uniform(0.05, 0.4))  # when to kill, not a timing assertion
        child.send_signal(signal.SIGKILL)
        child.wait()
        interrupted += any(tmp_path.glob(".stocks.json.*.tmp"))
        assert path.read_bytes() in (previous, new)
        path.write_bytes(previous)
        for leftover in tmp_path.glob(".stocks.json.*.tmp"):
            leftover.unlink()
    perf_report.append(f"kill mid-write: 6 SIGKILLs, {interrupted} caught a temp file in flight")


CHILD_SWAPPER = textwrap.dedent(
    """
    import sys
    import anyio
    from pathlib import Path
    from acme_trading_service.store import StockStore

    async def main() -> None:
        store = StockStore.open(Path(sys.argv[1]), compact_after=int(sys.argv[2]))
        i = 0
        while True:
            stock_id = f"S{i % 50}"
            await store.swap(stock_id, store.get(stock_id)["owned"], f"w{i}")
            print(stock_id, i, flush=True)
            i += 1

    anyio.run(main)
    """
)


@pytest.mark.parametrize("compact_after", [1, 25])
def test_service_killed_mid_swap_keeps_every_acknowledged_swap(
    tmp_path: Path, compact_after: int
) -> None:
    path = tmp_path / "stocks.json"
    write_store(path, 20_000)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_SWAPPER, str(path), str(compact_after)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acknowledged: dict[str, int] = {}
    for _ in range(120):
        stock_id, number = child.stdout.readline().split()
        acknowledged[stock_id] = int(number)
    child.send_signal(signal.SIGKILL)
    child.wait()

    json.loads(path.read_bytes())  # the snapshot is whole, whatever the moment of the kill
    state = read_stocks(path)
    for stock_id, last_acked in acknowledged.items():
        # The acknowledged owner, or a later one whose swap was durable before the kill.
        assert int(state[stock_id]["owned"].removeprefix("w")) >= last_acked
    restarted = StockStore.open(path)
    assert {k: s["owned"] for k, s in read_stocks(path).items()} == {
        k: s["owned"] for k, s in restarted.select().items()
    }
    anyio.run(restarted.close)
