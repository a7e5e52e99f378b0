"""Test helpers that run a real server: a console script on a free 127.0.0.1 port.

The server must log JSON lines on stdout (acme-logger's `logging_config()` does); startup
is over when uvicorn logs "Uvicorn running on ...". A server that does not get there raises
`ServerStartupError`: deliberately not a `TimeoutError`, so a package whose flaky-test
policy reruns `TimeoutError` never retries a server that cannot start.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ServerStartupError(Exception):
    """A test server exited or logged no "Uvicorn running on" line in time; says what it logged.

    Not a `TimeoutError` subclass on purpose: a server that cannot start is a real failure,
    never a flake to rerun.
    """


def free_port() -> int:
    """A TCP port nobody listens on at the moment, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    """A running server: its base URL, its process, and its stdout lines not yet read."""

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


def _wait_for_startup(served: Served, seen: list[dict[str, Any]], timeout: float) -> None:
    # Uvicorn logs "Uvicorn running on ..." once the socket listens: wait for that line
    # instead of polling the port. A server that exits first fails at once.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = served.lines.get(timeout=min(max(deadline - time.monotonic(), 0.01), 0.2))
        except queue.Empty:
            if served.process.poll() is not None and served.lines.empty():
                raise ServerStartupError(
                    f"server exited with code {served.process.returncode} before it started; "
                    f"saw {seen}"
                ) from None
            continue
        record = json.loads(line)
        seen.append(record)
        if record["message"].startswith("Uvicorn running on"):
            return
    raise ServerStartupError(f"server did not start within {timeout} s; saw {seen}")


@contextmanager
def serve(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    startup_timeout: float = 60.0,
    stop_timeout: float = 30.0,
) -> Iterator[tuple[Served, list[dict[str, Any]]]]:
    """Start `command` with HOST=127.0.0.1 and a free PORT; yield it with its startup records.

    On exit the server gets SIGTERM (so its shutdown hooks run) and `stop_timeout` seconds
    to stop. A server that exits, or logs no "Uvicorn running on" line within
    `startup_timeout`, raises ServerStartupError listing the records it did log.
    """
    port = free_port()
    process = subprocess.Popen(
        list(command),
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
        _wait_for_startup(served, startup, startup_timeout)
        yield served, startup
    finally:
        process.terminate()
        process.wait(timeout=stop_timeout)
        pump.join(timeout=5)


def run_to_completion(
    command: Sequence[str], env: Mapping[str, str], *, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run `command` with `env` added to the environment, capturing its output (for failures)."""
    return subprocess.run(
        list(command), env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )


@dataclass(frozen=True)
class ConsoleScript:
    """A console script installed beside the running interpreter (the venv's bin), for tests."""

    name: str
    startup_timeout: float = 60.0
    stop_timeout: float = 30.0
    run_timeout: float = 60.0

    @property
    def command(self) -> list[str]:
        """The script's path, as a command."""
        return [str(Path(sys.executable).with_name(self.name))]

    def serve(
        self, env: Mapping[str, str]
    ) -> AbstractContextManager[tuple[Served, list[dict[str, Any]]]]:
        """`serve` this script with `env` (see `serve`)."""
        return serve(
            self.command,
            env,
            startup_timeout=self.startup_timeout,
            stop_timeout=self.stop_timeout,
        )

    def run(self, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        """Run this script to completion with `env` (for startup failures)."""
        return run_to_completion(self.command, env, timeout=self.run_timeout)
