"""Fixtures: the in-process app client and the real console script on a loopback port."""

from __future__ import annotations

import json
import os
import queue
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
from acme_user_service.app import create_app
from litestar import Litestar
from litestar.testing import TestClient

SCRIPT = Path(sys.executable).with_name("user-service")
STARTUP_TIMEOUT = 30.0


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

    def output(self) -> list[str]:
        """Every stdout line the server has written so far."""
        collected = []
        while not self.lines.empty():
            collected.append(self.lines.get())
        return collected


def _run_script(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT)], env={**os.environ, **env}, capture_output=True, text=True, timeout=30
    )


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
    """Start the script; yield it with the log records written during startup."""
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
        process.wait(timeout=20)
        pump.join(timeout=5)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app()) as test_client:
        yield test_client


ServeScript = Callable[
    [Mapping[str, str]], AbstractContextManager[tuple[Served, list[dict[str, Any]]]]
]


@pytest.fixture
def serve_script() -> ServeScript:
    """Start `user-service` on a free port; yields it with the records logged at startup."""
    return _serve


@pytest.fixture
def run_script() -> Callable[[Mapping[str, str]], subprocess.CompletedProcess[str]]:
    """Run `user-service` to completion (for startup failures)."""
    return _run_script
