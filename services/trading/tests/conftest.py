"""Fixtures: small stores in temp dirs, app clients, the real console script, perf report."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from acme_trading_service.app import create_app
from acme_trading_service.settings import Settings, packaged_stocks_path
from acme_web.testing import ConsoleScript

SCRIPT = ConsoleScript("trading-service", startup_timeout=60.0, stop_timeout=30.0, run_timeout=60.0)
PERF_REPORT = pytest.StashKey[list[str]]()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def stocks_path(tmp_path: Path) -> Path:
    """A private copy of the packaged five-stock store."""
    path = tmp_path / "stocks.json"
    shutil.copyfile(packaged_stocks_path(), path)
    return path


@pytest.fixture
def client(stocks_path: Path) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(Settings(data_path=stocks_path))) as test_client:
        yield test_client


def pytest_configure(config: pytest.Config) -> None:
    config.stash[PERF_REPORT] = []


@pytest.fixture(scope="session")
def perf_report(request: pytest.FixtureRequest) -> list[str]:
    """Lines printed in the terminal summary (measured numbers, never asserted)."""
    return request.config.stash[PERF_REPORT]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(PERF_REPORT, [])
    if lines:
        terminalreporter.section("trading-service measurements")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def script() -> ConsoleScript:
    """`trading-service`: `serve` on a free port (SIGTERM on exit, so shutdown runs), or `run`."""
    return SCRIPT


async def _pass_along(client: httpx.AsyncClient, stock_id: str, hops: int) -> None:
    # Each hop only succeeds if the previous one was applied and kept.
    for hop in range(hops):
        response = await client.post(
            "/swap",
            json={"stockId": stock_id, "fromUserId": f"u{hop}", "toUserId": f"u{hop + 1}"},
        )
        assert response.status_code == 200, response.text


@pytest.fixture
def pass_along() -> Callable[[httpx.AsyncClient, str, int], Coroutine[Any, Any, None]]:
    """Swap a stock from u0 to u1, u1 to u2 ... u<hops>, asserting that every hop succeeds."""
    return _pass_along
