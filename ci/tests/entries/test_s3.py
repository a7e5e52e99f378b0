"""Packed entries on a real S3 (moto): stored with their checks, fetched whole, a missing
one told apart from a store that fails."""

from __future__ import annotations

import socket

import pytest
from mypy_boto3_s3 import S3Client

from acme_ci.core.remote_cache import entry_problem, parse_cache_url
from acme_ci.entries.s3 import get_entry, put_entry, s3_client

from .conftest import URL

KEY = "ab" * 32
LOCATION = parse_cache_url(URL)


@pytest.mark.parametrize("secret", [None, b"signing key"], ids=["unsigned", "signed"])
def test_an_entry_is_fetched_as_stored_with_its_checks(s3: S3Client, secret: bytes | None) -> None:
    put_entry(s3_client(), LOCATION, "feature/x", KEY, b"packed entry", secret)
    found = get_entry(s3_client(), LOCATION, "feature/x", KEY)
    assert found is not None
    content, metadata = found
    assert content == b"packed entry"
    assert entry_problem(KEY, content, metadata, secret) is None
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=LOCATION.bucket)["Contents"]] == [
        LOCATION.object_key("feature/x", KEY)
    ]


def test_no_entry_in_a_scope_is_a_miss(s3: S3Client) -> None:
    put_entry(s3_client(), LOCATION, "main", KEY, b"packed entry", None)
    assert get_entry(s3_client(), LOCATION, "feature/x", KEY) is None
    assert get_entry(s3_client(), LOCATION, "main", "cd" * 32) is None


def test_a_store_that_fails_is_an_error_not_a_miss(s3: S3Client) -> None:
    missing_bucket = parse_cache_url("s3://no-such-bucket/ci")
    with pytest.raises(Exception, match="NoSuchBucket"):
        get_entry(s3_client(), missing_bucket, "main", KEY)
    with pytest.raises(Exception, match="NoSuchBucket"):
        put_entry(s3_client(), missing_bucket, "main", KEY, b"packed entry", None)


def test_a_store_that_never_answers_fails_after_the_read_timeout(
    s3: S3Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:  # accepts connections (kernel backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{silent.getsockname()[1]}")
        with pytest.raises(Exception, match="Read timeout") as error:
            get_entry(s3_client(connect_timeout=0.3, read_timeout=0.3), LOCATION, "main", KEY)
    assert type(error.value).__name__ == "ReadTimeoutError"
