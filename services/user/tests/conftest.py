"""Fixtures: the in-process app client and the real console script on a loopback port."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

import pytest
from acme_user_service.app import create_app
from acme_web.testing import Served, console_script, run_to_completion, serve
from litestar import Litestar
from litestar.testing import TestClient

SCRIPT = [str(console_script("user-service"))]
STARTUP_TIMEOUT = 30.0


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
    return lambda env: serve(SCRIPT, env, startup_timeout=STARTUP_TIMEOUT, stop_timeout=20)


@pytest.fixture
def run_script() -> Callable[[Mapping[str, str]], subprocess.CompletedProcess[str]]:
    """Run `user-service` to completion (for startup failures)."""
    return lambda env: run_to_completion(SCRIPT, env, timeout=30)
