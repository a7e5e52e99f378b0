"""A real S3 for the entries' tests: a moto server on 127.0.0.1, one empty bucket per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "acme-cache"
URL = f"s3://{BUCKET}/ci"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    # Imported here: every test module under dagger/ collects this fixture, and moto takes
    # a third of a second to import, paid again by each group of a split suite.
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Client:
    """An empty bucket, and boto3's own configuration (the container's) pointing at it."""
    import boto3

    for name, value in {
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ACME_CACHE_URL": URL,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ACME_CACHE_SIGNING_KEY", raising=False)
    client = boto3.client("s3", endpoint_url=endpoint)
    if BUCKET in {b.get("Name") for b in client.list_buckets().get("Buckets", [])}:
        for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item.get("Key", ""))
    else:
        client.create_bucket(Bucket=BUCKET)
    return client
