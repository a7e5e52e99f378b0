"""S3 operations against a real S3 endpoint over HTTP, boto3 unchanged.

The endpoint is TEST_S3_ENDPOINT_URL when set (e.g. the one the Dagger module binds),
else a moto server in process on 127.0.0.1 (see ``acme_integrations.testing``). Every
test uses its own bucket, emptied and removed afterwards. "Now" is injected relative to
the dates the server itself reports, so no test depends on how a server dates uploads.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from acme_integrations.errors import MissingResourceError
from acme_integrations.s3_storage import S3Storage, batches
from acme_integrations.settings import S3Settings
from acme_integrations.testing import S3Endpoint, unique_name

pytestmark = pytest.mark.anyio


def settings(s3: S3Endpoint, bucket: str, **overrides: float) -> S3Settings:
    return S3Settings(
        bucket=bucket,
        access_key_id=s3.access_key_id,
        secret_access_key=s3.secret_access_key,
        endpoint_url=s3.url,
        region=s3.region,
        **overrides,  # type: ignore[arg-type]
    )


def storage_classes(s3: S3Endpoint, bucket: str) -> dict[str, str]:
    listing = s3.client().list_objects_v2(Bucket=bucket)
    return {o["Key"]: o.get("StorageClass", "STANDARD") for o in listing.get("Contents", [])}


async def test_init_client_reaches_the_bucket(s3: S3Endpoint, bucket: str) -> None:
    storage = S3Storage(settings(s3, bucket))
    outcome = await storage.init_client()
    await storage.aclose()
    assert bucket in outcome.detail


async def test_init_client_on_a_missing_bucket_is_a_permanent_missing_resource(
    s3: S3Endpoint,
) -> None:
    storage = S3Storage(settings(s3, unique_name("absent")))
    # The operator is told which settings to check (README: "names the variables").
    with pytest.raises(MissingResourceError, match="S3_BUCKET"):
        await storage.init_client()


async def test_large_objects_move_to_glacier_and_small_ones_stay(
    s3: S3Endpoint, bucket: str
) -> None:
    client = s3.client()
    # Enough objects for several list pages would need >1000 keys; size decides here.
    for index in range(6):
        client.put_object(Bucket=bucket, Key=f"big/{index}", Body=b"x" * 2048)
    for index in range(4):
        client.put_object(Bucket=bucket, Key=f"small/{index}", Body=b"x" * 10)
    storage = S3Storage(settings(s3, bucket, glacier_min_size_bytes=1024))

    outcome = await storage.move_large_blobs_to_glacier()
    await storage.aclose()

    classes = storage_classes(s3, bucket)
    assert {k for k, c in classes.items() if c == "GLACIER"} == {f"big/{i}" for i in range(6)}
    assert {k for k, c in classes.items() if c == "STANDARD"} == {f"small/{i}" for i in range(4)}
    assert "moved 6 objects" in outcome.detail


async def test_an_object_exactly_at_the_glacier_threshold_stays(
    s3: S3Endpoint, bucket: str
) -> None:
    client = s3.client()
    # The threshold is a minimum to exceed: objects *larger* than it move.
    client.put_object(Bucket=bucket, Key="at", Body=b"x" * 1024)
    client.put_object(Bucket=bucket, Key="above", Body=b"x" * 1025)
    client.put_object(Bucket=bucket, Key="below", Body=b"x" * 1023)
    storage = S3Storage(settings(s3, bucket, glacier_min_size_bytes=1024))

    outcome = await storage.move_large_blobs_to_glacier()
    await storage.aclose()

    assert storage_classes(s3, bucket) == {
        "at": "STANDARD",
        "above": "GLACIER",
        "below": "STANDARD",
    }
    assert "moved 1 objects" in outcome.detail


async def test_objects_older_than_retention_are_deleted_and_newer_ones_kept(
    s3: S3Endpoint, bucket: str
) -> None:
    client = s3.client()
    for index in range(5):
        client.put_object(Bucket=bucket, Key=f"old/{index}", Body=b"old")
    # LastModified may have second resolution: the new generation is written a second after
    # the last old object's date, as the server reports it, and the boundary lies between.
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    last_old = max(item["LastModified"] for item in listed)
    boundary = last_old + timedelta(seconds=0.5)
    wait = last_old + timedelta(seconds=1.05) - datetime.now(UTC)
    await anyio.sleep(max(wait.total_seconds(), 0.0))
    for index in range(3):
        client.put_object(Bucket=bucket, Key=f"new/{index}", Body=b"new")
    retention = 3600.0
    # "now" is injected so that now - retention falls between the two generations.
    storage = S3Storage(
        settings(s3, bucket, retention_s=retention),
        clock=lambda: boundary + timedelta(seconds=retention),
    )

    outcome = await storage.clean_up_old_blobs()
    await storage.aclose()

    assert set(storage_classes(s3, bucket)) == {f"new/{i}" for i in range(3)}
    assert "deleted 5 objects" in outcome.detail


def initiated(s3: S3Endpoint, bucket: str) -> dict[str, datetime]:
    """When the server says each pending upload started (moto, MinIO and AWS differ)."""
    uploads = s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return {u["Key"]: u["Initiated"] for u in uploads}


async def test_multipart_uploads_older_than_the_threshold_are_aborted(
    s3: S3Endpoint, bucket: str
) -> None:
    client = s3.client()
    for index in range(3):
        client.create_multipart_upload(Bucket=bucket, Key=f"upload/{index}")
    started = max(initiated(s3, bucket).values())
    max_age = timedelta(hours=24)
    # "Now" is just past the threshold for the latest upload.
    storage = S3Storage(
        settings(s3, bucket, upload_max_age_s=max_age.total_seconds()),
        clock=lambda: started + max_age + timedelta(seconds=1),
    )

    outcome = await storage.stop_hung_uploads()
    await storage.aclose()

    assert initiated(s3, bucket) == {}
    assert "aborted 3 multipart uploads" in outcome.detail


async def test_recent_multipart_uploads_are_left_alone(s3: S3Endpoint, bucket: str) -> None:
    client = s3.client()
    client.create_multipart_upload(Bucket=bucket, Key="fresh")
    started = initiated(s3, bucket)["fresh"]
    max_age = timedelta(hours=24)
    # "Now" is just short of the threshold: the upload may still be in progress.
    storage = S3Storage(
        settings(s3, bucket, upload_max_age_s=max_age.total_seconds()),
        clock=lambda: started + max_age - timedelta(seconds=1),
    )

    outcome = await storage.stop_hung_uploads()
    await storage.aclose()

    assert list(initiated(s3, bucket)) == ["fresh"]
    assert "aborted 0 multipart uploads" in outcome.detail


async def test_every_list_page_is_processed(s3: S3Endpoint, bucket: str) -> None:
    client = s3.client()
    for index in range(11):
        client.put_object(Bucket=bucket, Key=f"k/{index:02}", Body=b"x" * 2048)
    # Pages of 3 keys: four pages whose copies, then deletes, overlap with the listing.
    pager = client.get_paginator("list_objects_v2")
    assert len(list(pager.paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}))) == 4
    base = settings(s3, bucket, glacier_min_size_bytes=1024, retention_s=0.0)
    storage = S3Storage(
        replace(base, page_size=3), clock=lambda: datetime.now(UTC) + timedelta(hours=1)
    )

    moved = await storage.move_large_blobs_to_glacier()
    assert set(storage_classes(s3, bucket).values()) == {"GLACIER"}
    deleted = await storage.clean_up_old_blobs()
    await storage.aclose()

    assert "moved 11 objects" in moved.detail
    assert "deleted 11 objects" in deleted.detail
    assert storage_classes(s3, bucket) == {}


def test_deletes_are_split_into_batches_of_at_most_1000_keys() -> None:
    keys = [f"k{i}" for i in range(2500)]
    sizes = [len(batch) for batch in batches(keys)]
    assert sizes == [1000, 1000, 500]
    assert [k for batch in batches(keys) for k in batch] == keys
