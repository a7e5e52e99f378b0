"""Shared fixtures: the anyio backend; real PostgreSQL and S3 servers from the plugin."""

from __future__ import annotations

import pytest

pytest_plugins = ["acme_integrations.pytest_servers"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
