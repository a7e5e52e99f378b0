"""Shared fixtures; real PostgreSQL and S3 servers come from the integrations' plugin."""

from __future__ import annotations

import pytest

pytest_plugins = ["acme_integrations.pytest_servers"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
