"""pytest fixtures over ``acme_integrations.testing``: real PostgreSQL and S3 servers.

Load with ``pytest_plugins = ["acme_integrations.pytest_servers"]`` in a conftest.
Variables honoured: TEST_POSTGRES_URL, ACME_REQUIRE_POSTGRES, TEST_S3_ENDPOINT_URL,
TEST_AWS_ACCESS_KEY_ID, TEST_AWS_SECRET_ACCESS_KEY.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from acme_integrations.testing import (
    S3Endpoint,
    ServerUnavailableError,
    empty_bucket,
    postgres_required,
    postgres_server,
    s3_server,
    unique_name,
    with_search_path,
)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A reachable PostgreSQL; skipped only when the run was not told there is one."""
    try:
        with postgres_server(os.environ) as url:
            try:
                psycopg.connect(url, connect_timeout=10).close()
            except psycopg.Error as error:
                raise ServerUnavailableError(f"cannot connect to {url}: {error}") from error
            yield url
    except ServerUnavailableError as reason:
        if postgres_required(os.environ):
            pytest.fail(f"PostgreSQL was promised to this run but is unusable: {reason}")
        pytest.skip(f"no PostgreSQL to test: {reason}")


@pytest.fixture
def postgres_schema_url(postgres_server_url: str) -> Iterator[str]:
    """The server's URL with a fresh schema first on the search path; dropped afterwards."""
    schema = unique_name("acme_test").replace("-", "_")
    with psycopg.connect(postgres_server_url, autocommit=True) as connection:
        connection.execute(f"create schema {schema}")
    try:
        yield with_search_path(postgres_server_url, schema)
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as connection:
            connection.execute(f"drop schema if exists {schema} cascade")


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Endpoint]:
    with s3_server(os.environ) as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3: S3Endpoint) -> Iterator[str]:
    """A fresh bucket, emptied and removed afterwards."""
    name = unique_name("maint")
    client = s3.client()
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        empty_bucket(client, name)
