"""The real console script: uvicorn on a loopback port, concurrent HTTP swaps, shutdown."""

import subprocess
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from acme_trading_service.journal import journal_path_for
from acme_trading_service.model import Stock
from acme_trading_service.store import encode_stocks, load_snapshot

# The fixtures' shapes (see conftest.py).
ServeScript = Callable[
    [Mapping[str, str]], AbstractContextManager[tuple[Any, list[dict[str, Any]]]]
]
RunScript = Callable[[Mapping[str, str]], subprocess.CompletedProcess[str]]


def write_store(path: Path, count: int) -> None:
    stocks = {
        f"S{i}": Stock(f"S{i}", f"Stock {i}", 1.0, "u0", "Energy", i, i) for i in range(count)
    }
    path.write_bytes(encode_stocks(stocks))


async def pass_along_over_http(base_url: str, stock_ids: list[str], hops: int) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def pass_along(stock_id: str) -> None:
            for hop in range(hops):
                response = await client.post(
                    "/swap",
                    json={"stockId": stock_id, "fromUserId": f"u{hop}", "toUserId": f"u{hop + 1}"},
                )
                assert response.status_code == 200, response.text

        async with anyio.create_task_group() as group:
            for stock_id in stock_ids:
                group.start_soon(pass_along, stock_id)


def test_console_script_serves_swaps_and_compacts_on_shutdown(
    tmp_path: Path, serve_script: ServeScript
) -> None:
    path = tmp_path / "stocks.json"
    write_store(path, 500)  # compaction threshold 5: snapshot rewrites interleave with swaps
    stock_ids = [f"S{i}" for i in range(0, 500, 25)]
    with serve_script({"STOCKS_DATA_PATH": str(path)}) as (served, startup):
        ready = httpx.get(f"{served.base_url}/readiness", timeout=10)
        anyio.run(pass_along_over_http, served.base_url, stock_ids, 4)
        listing = httpx.get(f"{served.base_url}/stocks", params={"owned": "u4"}, timeout=10)
    later = served.records()

    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert sorted(listing.json()) == sorted(stock_ids)
    # SIGTERM ran the shutdown hook: the snapshot alone holds every swap, the journal is empty.
    snapshot = load_snapshot(path)
    assert {stock_id: snapshot[stock_id].owned for stock_id in stock_ids} == dict.fromkeys(
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


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "does not exist"), (b'{"AAPL": {', "invalid stock data")],
)
def test_unusable_store_is_a_clear_startup_error(
    tmp_path: Path, run_script: RunScript, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "stocks.json"
    if content is not None:
        path.write_bytes(content)
    result = run_script({"STOCKS_DATA_PATH": str(path)})
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_port_is_a_usage_error(run_script: RunScript) -> None:
    result = run_script({"PORT": "-1"})
    assert result.returncode == 2
    assert "PORT" in result.stderr
