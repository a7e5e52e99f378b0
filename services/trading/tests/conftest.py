"""Fixtures: small stores in temp dirs, app clients, the real console script, perf report."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from acme_trading_service.app import create_app
from acme_trading_service.settings import Settings, packaged_stocks_path
from acme_web.testing import Served, console_script, run_to_completion, serve
from litestar import Litestar
from litestar.testing import TestClient

SCRIPT = [str(console_script("trading-service"))]
STARTUP_TIMEOUT = 60.0
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


ServeScript = Callable[
    [Mapping[str, str]], AbstractContextManager[tuple[Served, list[dict[str, Any]]]]
]


@pytest.fixture
def serve_script() -> ServeScript:
    """Start `trading-service` on a free port (SIGTERM on exit, so shutdown runs)."""
    return lambda env: serve(SCRIPT, env, startup_timeout=STARTUP_TIMEOUT, stop_timeout=30)


@pytest.fixture
def run_script() -> Callable[[Mapping[str, str]], subprocess.CompletedProcess[str]]:
    """Run `trading-service` to completion (for startup failures)."""
    return lambda env: run_to_completion(SCRIPT, env, timeout=60)
