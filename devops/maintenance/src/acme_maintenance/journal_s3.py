"""The journal as one JSON object in S3, next to the data maintenance maintains.

A write reads the object and its ETag, merges the run's entries per (backend, subsystem)
and puts it back conditionally: ``If-Match: <etag>`` when it existed, ``If-None-Match: *``
when it did not. If another run wrote in between, S3 answers 412 (or 409) and the write
starts over from a fresh read, so concurrent runs never lose each other's entries. An
S3-compatible store that ignores conditional writes degrades to read-merge-write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import boto3
import botocore.exceptions
from botocore.config import Config
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random

from acme_integrations.settings import DEFAULT_REGION
from acme_maintenance.journal import Journal, JournalEntry, dumps, loads, merge
from acme_maintenance.journal_store import JournalError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Conditional-write conflicts retried before giving up: each is another run's write.
WRITE_ATTEMPTS = 10
# Between two conflicting writes: a random pause, so racing runs do not collide again.
CONFLICT_WAIT = wait_random(0.05, 0.3)
_CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_WHAT_TO_DO = (
    "check S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and that the bucket "
    "exists, or keep the journal elsewhere with --journal database or --journal PATH"
)


class _WriteConflictError(Exception):
    """Another run replaced the object between our read and our write."""


def s3_store(target: str, env: Mapping[str, str]) -> S3Journal:
    """The object ``s3://BUCKET/KEY`` through the S3 settings maintenance uses."""
    bucket, _, key = target.removeprefix("s3://").partition("/")
    endpoint = env.get("S3_ENDPOINT_URL") or None
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=env.get("AWS_REGION") or DEFAULT_REGION,
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            config=Config(connect_timeout=10, read_timeout=30, retries={"max_attempts": 3}),
        )
    except (ValueError, botocore.exceptions.BotoCoreError) as error:
        raise JournalError(f"cannot reach the maintenance journal {target}: {error}") from error
    return S3Journal(client, bucket, key, endpoint)


class S3Journal:
    """One object, updated with conditional writes."""

    def __init__(self, client: S3Client, bucket: str, key: str, endpoint: str | None) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._endpoint = endpoint

    @property
    def location(self) -> str:
        return f"s3://{self._bucket}/{self._key}" + (
            f" at {self._endpoint}" if self._endpoint else ""
        )

    def _read(self) -> tuple[Journal | None, str | None]:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=self._key)
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, None
            raise
        text = response["Body"].read().decode("utf-8")
        return loads(text), response["ETag"]

    def load(self) -> Journal | None:
        try:
            return self._read()[0]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            raise JournalError(
                f"cannot read the maintenance journal {self.location}: {error}; {_WHAT_TO_DO}"
            ) from error
        except (ValueError, KeyError, TypeError) as error:
            raise JournalError(
                f"the maintenance journal {self.location} is not a journal: {error}; fix or "
                "delete the object (then name what to clean with --cleanup --only)"
            ) from error

    def write(self, entries: Sequence[JournalEntry], at: str) -> None:
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(WRITE_ATTEMPTS),
                wait=CONFLICT_WAIT,
                retry=retry_if_exception_type(_WriteConflictError),
                reraise=True,
            ):
                with attempt:
                    self._write_once(entries, at)
        except _WriteConflictError as error:
            raise JournalError(
                f"cannot write the maintenance journal {self.location}: {WRITE_ATTEMPTS} "
                "conflicting writes by other runs in a row; run again"
            ) from error
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            raise JournalError(
                f"cannot write the maintenance journal {self.location}: {error}; {_WHAT_TO_DO}"
            ) from error
        except (ValueError, KeyError, TypeError) as error:
            raise JournalError(
                f"the maintenance journal {self.location} is not a journal: {error}; fix or "
                "delete the object"
            ) from error

    def _write_once(self, entries: Sequence[JournalEntry], at: str) -> None:
        current, etag = self._read()
        body = dumps(merge(current, entries, at)).encode("utf-8")
        try:
            if etag is None:
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=self._key,
                    Body=body,
                    ContentType="application/json",
                    IfNoneMatch="*",
                )
            else:
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=self._key,
                    Body=body,
                    ContentType="application/json",
                    IfMatch=etag,
                )
        except botocore.exceptions.ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in _CONFLICT_CODES:
                raise _WriteConflictError(str(error)) from error
            raise
