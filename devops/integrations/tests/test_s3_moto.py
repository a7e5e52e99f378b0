"""S3 operations against a real moto S3 server on 127.0.0.1 (real HTTP, boto3 unchanged)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import anyio
import boto3
import pytest
from moto.server import ThreadedMotoServer

from acme_integrations.errors import MissingResource
from acme_integrations.s3_storage import S3Storage, batches
from acme_integrations.settings import S3Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.anyio

KEY_ID = "testing"
SECRET = "testing"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(endpoint: str) -> str:
    name = f"maint-{uuid.uuid4().hex[:12]}"
    client(endpoint).create_bucket(Bucket=name)
    return name


def client(endpoint: str) -> S3Client:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


def settings(endpoint: str, bucket: str, **overrides: float) -> S3Settings:
    return S3Settings(
        bucket=bucket,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        endpoint_url=endpoint,
        **overrides,  # type: ignore[arg-type]
    )


def storage_classes(endpoint: str, bucket: str) -> dict[str, str]:
    listing = client(endpoint).list_objects_v2(Bucket=bucket)
    return {o["Key"]: o.get("StorageClass", "STANDARD") for o in listing.get("Contents", [])}


async def test_init_client_reaches_the_bucket(endpoint: str, bucket: str) -> None:
    storage = S3Storage(settings(endpoint, bucket))
    outcome = await storage.init_client()
    await storage.aclose()
    assert bucket in outcome.detail


async def test_init_client_on_a_missing_bucket_is_a_permanent_missing_resource(
    endpoint: str,
) -> None:
    storage = S3Storage(settings(endpoint, "no-such-bucket-here"))
    with pytest.raises(MissingResource, match="S3_BUCKET"):
        await storage.init_client()


async def test_large_objects_move_to_glacier_and_small_ones_stay(
    endpoint: str, bucket: str
) -> None:
    s3 = client(endpoint)
    # Enough objects for several list pages would need >1000 keys; size decides here.
    for index in range(6):
        s3.put_object(Bucket=bucket, Key=f"big/{index}", Body=b"x" * 2048)
    for index in range(4):
        s3.put_object(Bucket=bucket, Key=f"small/{index}", Body=b"x" * 10)
    storage = S3Storage(settings(endpoint, bucket, glacier_min_size_bytes=1024))

    outcome = await storage.move_large_blobs_to_glacier()
    await storage.aclose()

    classes = storage_classes(endpoint, bucket)
    assert {k for k, c in classes.items() if c == "GLACIER"} == {f"big/{i}" for i in range(6)}
    assert {k for k, c in classes.items() if c == "STANDARD"} == {f"small/{i}" for i in range(4)}
    assert "moved 6 objects" in outcome.detail


async def test_objects_older_than_retention_are_deleted_and_newer_ones_kept(
    endpoint: str, bucket: str
) -> None:
    s3 = client(endpoint)
    for index in range(5):
        s3.put_object(Bucket=bucket, Key=f"old/{index}", Body=b"old")
    # LastModified has second resolution: leave a clear gap between the generations.
    await anyio.sleep(1.5)
    boundary = datetime.now(UTC) - timedelta(seconds=0.5)
    await anyio.sleep(1.0)
    for index in range(3):
        s3.put_object(Bucket=bucket, Key=f"new/{index}", Body=b"new")
    retention = 3600.0
    # "now" is injected so that now - retention falls between the two generations.
    storage = S3Storage(
        settings(endpoint, bucket, retention_s=retention),
        clock=lambda: boundary + timedelta(seconds=retention),
    )

    outcome = await storage.clean_up_old_blobs()
    await storage.aclose()

    assert set(storage_classes(endpoint, bucket)) == {f"new/{i}" for i in range(3)}
    assert "deleted 5 objects" in outcome.detail


async def test_multipart_uploads_older_than_the_threshold_are_aborted(
    endpoint: str, bucket: str
) -> None:
    s3 = client(endpoint)
    for index in range(3):
        s3.create_multipart_upload(Bucket=bucket, Key=f"upload/{index}")
    assert len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 3
    # moto reports every upload as initiated at a fixed date (2010-11-10T20:48:33Z),
    # so with the real clock these uploads are years past the one-day threshold.
    storage = S3Storage(settings(endpoint, bucket, upload_max_age_s=24 * 3600.0))

    outcome = await storage.stop_hung_uploads()
    await storage.aclose()

    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert "aborted 3 multipart uploads" in outcome.detail


async def test_recent_multipart_uploads_are_left_alone(endpoint: str, bucket: str) -> None:
    s3 = client(endpoint)
    s3.create_multipart_upload(Bucket=bucket, Key="fresh")
    # moto dates every upload 2010-11-10T20:48:33Z: "now" one hour later makes it fresh.
    moto_initiated = datetime(2010, 11, 10, 20, 48, 33, tzinfo=UTC)
    storage = S3Storage(
        settings(endpoint, bucket, upload_max_age_s=24 * 3600.0),
        clock=lambda: moto_initiated + timedelta(hours=1),
    )

    await storage.stop_hung_uploads()
    await storage.aclose()

    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == ["fresh"]


async def test_every_list_page_is_processed(endpoint: str, bucket: str) -> None:
    s3 = client(endpoint)
    for index in range(11):
        s3.put_object(Bucket=bucket, Key=f"k/{index:02}", Body=b"x" * 2048)
    # Pages of 3 keys: four pages whose copies, then deletes, overlap with the listing.
    pager = s3.get_paginator("list_objects_v2")
    assert len(list(pager.paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}))) == 4
    base = settings(endpoint, bucket, glacier_min_size_bytes=1024, retention_s=0.0)
    storage = S3Storage(
        replace(base, page_size=3), clock=lambda: datetime.now(UTC) + timedelta(hours=1)
    )

    moved = await storage.move_large_blobs_to_glacier()
    assert set(storage_classes(endpoint, bucket).values()) == {"GLACIER"}
    deleted = await storage.clean_up_old_blobs()
    await storage.aclose()

    assert "moved 11 objects" in moved.detail
    assert "deleted 11 objects" in deleted.detail
    assert storage_classes(endpoint, bucket) == {}


def test_deletes_are_split_into_batches_of_at_most_1000_keys() -> None:
    keys = [f"k{i}" for i in range(2500)]
    sizes = [len(batch) for batch in batches(keys)]
    assert sizes == [1000, 1000, 500]
    assert [k for batch in batches(keys) for k in batch] == keys
