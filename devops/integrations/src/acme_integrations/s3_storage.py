"""Object storage maintenance with boto3 against any S3 endpoint (AWS, MinIO, moto)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import boto3
from botocore.config import Config

from acme_integrations.blocking import in_thread
from acme_integrations.error_mapping import from_boto, from_s3_code
from acme_integrations.outcome import Outcome
from acme_integrations.settings import S3Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectTypeDef

# DeleteObjects accepts at most 1000 keys per request.
DELETE_BATCH = 1000
# CopyObject handles up to 5 GiB; larger objects need the managed multipart copy.
COPY_OBJECT_LIMIT = 5 * 1024**3
_ARCHIVED = frozenset({"GLACIER", "DEEP_ARCHIVE"})


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


@dataclass
class _Tally:
    count: int = 0
    size: int = 0


def batches(keys: Sequence[str], size: int = DELETE_BATCH) -> Iterator[Sequence[str]]:
    """Split keys into DeleteObjects-sized batches."""
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


class S3Storage:
    """Glacier transitions, retention deletes and stale multipart aborts on one bucket.

    Listing is paginated; each page's copies or deletes run concurrently with the
    next page's listing and with each other, bounded by ``settings.concurrency``
    worker threads. ``clock`` is injectable so retention can be tested honestly.
    """

    def __init__(self, settings: S3Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self._settings = settings
        self._clock = clock
        self._client: S3Client | None = None
        self._limiter = anyio.CapacityLimiter(settings.concurrency)
        self._client_lock = anyio.Lock()

    def _make_client(self) -> S3Client:
        s = self._settings
        return boto3.client(
            "s3",
            endpoint_url=s.endpoint_url,
            region_name=s.region,
            aws_access_key_id=s.access_key_id,
            aws_secret_access_key=s.secret_access_key,
            # Retries belong to the maintenance runner, which reports every attempt.
            config=Config(
                connect_timeout=10,
                read_timeout=60,
                retries={"max_attempts": 1, "mode": "standard"},
                max_pool_connections=max(10, s.concurrency * 2),
            ),
        )

    async def _s3(self) -> S3Client:
        async with self._client_lock:
            if self._client is None:
                self._client = await in_thread(self._make_client, from_boto)
            return self._client

    async def _call(self, call: Callable[[], Any]) -> Any:
        return await in_thread(call, from_boto, self._limiter)

    async def init_client(self) -> Outcome:
        client = await self._s3()
        bucket = self._settings.bucket
        await self._call(lambda: client.head_bucket(Bucket=bucket))
        where = self._settings.endpoint_url or "AWS"
        return Outcome(f"bucket {bucket} reachable at {where}")

    async def move_large_blobs_to_glacier(self) -> Outcome:
        client = await self._s3()
        bucket = self._settings.bucket
        threshold = self._settings.glacier_min_size_bytes
        moved = _Tally()

        async def archive(obj: ObjectTypeDef) -> None:
            key, size = obj["Key"], obj["Size"]
            source = {"Bucket": bucket, "Key": key}
            if size <= COPY_OBJECT_LIMIT:
                await self._call(
                    lambda: client.copy_object(
                        Bucket=bucket,
                        Key=key,
                        CopySource=source,  # type: ignore[arg-type]
                        StorageClass="GLACIER",
                        MetadataDirective="COPY",
                    )
                )
            else:
                await self._call(
                    lambda: client.copy(
                        source,  # type: ignore[arg-type]
                        bucket,
                        key,
                        ExtraArgs={"StorageClass": "GLACIER", "MetadataDirective": "COPY"},
                    )
                )
            moved.count += 1
            moved.size += size

        async def archive_page(page: dict[str, Any]) -> None:
            async with anyio.create_task_group() as group:
                for obj in page.get("Contents", []):
                    if (
                        obj["Size"] > threshold
                        and obj.get("StorageClass", "STANDARD") not in _ARCHIVED
                    ):
                        group.start_soon(archive, obj)

        await self._each_page("list_objects_v2", archive_page)
        return Outcome(
            f"moved {moved.count} objects ({moved.size} bytes) above {threshold} bytes to GLACIER"
        )

    async def clean_up_old_blobs(self) -> Outcome:
        client = await self._s3()
        bucket = self._settings.bucket
        cutoff = self._clock() - timedelta(seconds=self._settings.retention_s)
        deleted = _Tally()

        async def delete(keys: Sequence[str]) -> None:
            response = await self._call(
                lambda: client.delete_objects(
                    Bucket=bucket,
                    Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
                )
            )
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise from_s3_code(
                    str(first.get("Code", "")),
                    f"{len(errors)} of {len(keys)} deletes failed, first {first.get('Key')}: "
                    f"{first.get('Message', '')}",
                )
            deleted.count += len(keys)

        async def delete_page(page: dict[str, Any]) -> None:
            old = [o["Key"] for o in page.get("Contents", []) if o["LastModified"] < cutoff]
            async with anyio.create_task_group() as group:
                for batch in batches(old):
                    group.start_soon(delete, batch)

        await self._each_page("list_objects_v2", delete_page)
        return Outcome(
            f"deleted {deleted.count} objects last modified before {cutoff:%Y-%m-%d %H:%M:%S} UTC"
        )

    async def stop_hung_uploads(self) -> Outcome:
        client = await self._s3()
        bucket = self._settings.bucket
        cutoff = self._clock() - timedelta(seconds=self._settings.upload_max_age_s)
        aborted = _Tally()

        async def abort(key: str, upload_id: str) -> None:
            await self._call(
                lambda: client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            )
            aborted.count += 1

        async def abort_page(page: dict[str, Any]) -> None:
            async with anyio.create_task_group() as group:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < cutoff:
                        group.start_soon(abort, upload["Key"], upload["UploadId"])

        await self._each_page("list_multipart_uploads", abort_page)
        return Outcome(
            f"aborted {aborted.count} multipart uploads started before "
            f"{cutoff:%Y-%m-%d %H:%M:%S} UTC"
        )

    async def _each_page(self, operation: str, handle: Callable[[dict[str, Any]], Any]) -> None:
        """List pages one after another and handle each page concurrently with the rest."""
        client = await self._s3()
        paginator = client.get_paginator(operation)  # type: ignore[call-overload]
        pages = paginator.paginate(
            Bucket=self._settings.bucket,
            PaginationConfig={"PageSize": self._settings.page_size},
        )
        iterator = iter(pages)
        async with anyio.create_task_group() as group:
            while (page := await self._call(lambda: next(iterator, None))) is not None:
                group.start_soon(handle, page)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await anyio.to_thread.run_sync(client.close)
