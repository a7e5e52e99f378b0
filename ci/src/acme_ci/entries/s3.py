"""Packed entries as S3 objects, through boto3: one GET, one PUT with the entry's checks.

Credentials, region and endpoint come from boto3's own configuration (AWS_* variables,
profiles, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL). An entry is one object written with a
single PUT: S3 makes it visible whole or not at all, so a half-uploaded entry is never read.
Which scopes a run may read and write, and how an entry is signed and checked, are the
core's rules (acme_ci.core.remote_cache).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acme_ci.core.remote_cache import RemoteLocation, entry_metadata

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 20.0
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def s3_client(
    connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT
) -> S3Client:
    """boto3's S3 client from its own configuration, with a connect and a read timeout."""
    # Imported here: boto3 costs ~0.3 s to import, and only a remote cache needs it.
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    return boto3.session.Session().client("s3", config=config)


def get_entry(
    s3: S3Client, location: RemoteLocation, scope: str, key: str
) -> tuple[bytes, dict[str, str]] | None:
    """The packed entry of `key` in `scope` and its metadata; None when there is none.

    Any other failure (unreachable, denied, too slow) is raised as boto3 raises it.
    """
    try:
        answer = s3.get_object(Bucket=location.bucket, Key=location.object_key(scope, key))
        return answer["Body"].read(), dict(answer.get("Metadata", {}))
    except Exception as error:  # boto3's errors are built at run time: asked by their code
        if is_missing(error):
            return None
        raise


def put_entry(
    s3: S3Client,
    location: RemoteLocation,
    scope: str,
    key: str,
    content: bytes,
    secret: bytes | None,
) -> None:
    """Store a packed entry under `scope` with its digest, and its signature with `secret`."""
    s3.put_object(
        Bucket=location.bucket,
        Key=location.object_key(scope, key),
        Body=content,
        Metadata=entry_metadata(key, content, secret),
    )


def is_missing(error: Exception) -> bool:
    """The error is S3's answer that no such object exists."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    return str(response.get("Error", {}).get("Code", "")) in _MISSING_CODES
