"""Fixtures: the in-process app client and the real console script on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from acme_user_service.app import create_app
from acme_web.testing import ConsoleScript

SCRIPT = ConsoleScript("user-service", startup_timeout=30.0, stop_timeout=20.0, run_timeout=30.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def script() -> ConsoleScript:
    """`user-service`, served on a free port (`serve`) or run to completion (`run`)."""
    return SCRIPT
