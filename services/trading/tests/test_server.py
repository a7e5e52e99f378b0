"""The real console script: uvicorn on a loopback port, concurrent HTTP swaps, shutdown."""

import json
import shutil
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from acme_trading_service.journal import journal_path_for
from acme_trading_service.store import encode_stocks, load_snapshot
from acme_web.testing import ConsoleScript

# The `pass_along` fixture's shape (see conftest.py).
PassAlong = Callable[[httpx.AsyncClient, str, int], Coroutine[Any, Any, None]]


def write_store(path: Path, count: int) -> None:
    stocks = {
        f"S{i}": {"id": f"S{i}", "name": f"Stock {i}", "price": 1.0, "owned": "u0"}
        for i in range(count)
    }
    path.write_bytes(encode_stocks(stocks))


async def pass_along_over_http(
    base_url: str, stock_ids: list[str], hops: int, pass_along: PassAlong
) -> None:
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        anyio.create_task_group() as group,
    ):
        for stock_id in stock_ids:
            group.start_soon(pass_along, client, stock_id, hops)


def test_console_script_serves_swaps_and_compacts_on_shutdown(
    tmp_path: Path, script: ConsoleScript, pass_along: PassAlong
) -> None:
    path = tmp_path / "stocks.json"
    write_store(path, 500)  # compaction threshold 5: snapshot rewrites interleave with swaps
    stock_ids = [f"S{i}" for i in range(0, 500, 25)]
    with script.serve({"STOCKS_DATA_PATH": str(path)}) as (served, startup):
        ready = httpx.get(f"{served.base_url}/readiness", timeout=10)
        anyio.run(pass_along_over_http, served.base_url, stock_ids, 4, pass_along)
        listing = httpx.get(f"{served.base_url}/stocks", params={"owned": "u4"}, timeout=10)
    later = served.records()

    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert sorted(listing.json()) == sorted(stock_ids)
    # SIGTERM ran the shutdown hook: the snapshot alone holds every swap, the journal is empty.
    snapshot = load_snapshot(path)
    assert {stock_id: snapshot[stock_id]["owned"] for stock_id in stock_ids} == dict.fromkeys(
        stock_ids, "u4"
    )
    assert journal_path_for(path).stat().st_size == 0
    assert "Stocks data loaded successfully" in [r["message"] for r in startup]
    assert {"uvicorn.error", "trading-service"} <= {r["context"] for r in startup}
    messages = [r["message"] for r in later]
    assert "Application shutdown complete." in messages  # graceful, so the hook ran
    assert "Stock S0 transferred from u3 to u4" in messages
    assert any(r["context"] == "uvicorn.access" for r in later)
    assert any(r["context"] == "trading-service" and "Health probe" in r["message"] for r in later)


def test_console_script_serves_the_original_stocks_file_unchanged(
    tmp_path: Path, script: ConsoleScript
) -> None:
    original = Path(__file__).parent / "data" / "original_stocks.json"
    path = tmp_path / "stocks.json"
    shutil.copyfile(original, path)
    with script.serve({"STOCKS_DATA_PATH": str(path)}) as (served, _):
        stocks = httpx.get(f"{served.base_url}/stocks", timeout=10)
    assert stocks.json() == json.loads(original.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "does not exist"), (b'{"AAPL": {', "invalid stock data")],
)
def test_unusable_store_is_a_clear_startup_error(
    tmp_path: Path, script: ConsoleScript, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "stocks.json"
    if content is not None:
        path.write_bytes(content)
    result = script.run({"STOCKS_DATA_PATH": str(path)})
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_port_is_a_usage_error(script: ConsoleScript) -> None:
    result = script.run({"PORT": "-1"})
    assert result.returncode == 2
    assert "PORT" in result.stderr
