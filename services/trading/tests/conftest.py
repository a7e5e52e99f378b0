"""Fixtures: small stores in temp dirs, app clients, the real console script, perf report."""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from acme_trading_service.app import create_app
from acme_trading_service.settings import Settings, packaged_stocks_path
from litestar import Litestar
from litestar.testing import TestClient

SCRIPT = Path(sys.executable).with_name("trading-service")
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    def records(self) -> list[dict[str, Any]]:
        """Every log record the server has written since the last call."""
        collected = []
        while not self.lines.empty():
            collected.append(json.loads(self.lines.get()))
        return collected


def _pump(process: subprocess.Popen[str], into: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        into.put(line)


def _wait_for_startup(served: Served, seen: list[dict[str, Any]]) -> None:
    # Uvicorn logs "Uvicorn running on ..." once the socket listens: wait for that line
    # instead of polling the port.
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = served.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        record = json.loads(line)
        seen.append(record)
        if record["message"].startswith("Uvicorn running on"):
            return
    raise TimeoutError(f"server did not start within {STARTUP_TIMEOUT} s; saw {seen}")


@contextmanager
def _serve(env: Mapping[str, str]) -> Iterator[tuple[Served, list[dict[str, Any]]]]:
    port = free_port()
    process = subprocess.Popen(
        [str(SCRIPT)],
        env={**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}", process)
    pump = threading.Thread(target=_pump, args=(process, served.lines), daemon=True)
    pump.start()
    startup: list[dict[str, Any]] = []
    try:
        _wait_for_startup(served, startup)
        yield served, startup
    finally:
        process.terminate()
        process.wait(timeout=30)
        pump.join(timeout=5)


ServeScript = Callable[
    [Mapping[str, str]], AbstractContextManager[tuple[Served, list[dict[str, Any]]]]
]


@pytest.fixture
def serve_script() -> ServeScript:
    """Start `trading-service` on a free port (SIGTERM on exit, so shutdown runs)."""
    return _serve


@pytest.fixture
def run_script() -> Callable[[Mapping[str, str]], subprocess.CompletedProcess[str]]:
    """Run `trading-service` to completion (for startup failures)."""

    def run(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT)], env={**os.environ, **env}, capture_output=True, text=True, timeout=60
        )

    return run
