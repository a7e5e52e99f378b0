"""The S3 journal as its users meet it: the object it writes, the errors it reports, the
region it signs for, and how it treats S3's answers to its conditional writes.

A moto server on 127.0.0.1 plays S3; a tiny recording server plays an S3-compatible store
that answers 404 without a body; injected faults stand in for other runs' conflicting
writes and for refusals moto cannot be made to give.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any, ClassVar, cast

import botocore.exceptions
import pytest
from tenacity import wait_none

from acme_integrations.testing import S3Endpoint, unique_name
from acme_maintenance import journal_s3
from acme_maintenance.journal import JournalEntry
from acme_maintenance.journal_s3 import WRITE_ATTEMPTS, S3Journal, s3_store
from acme_maintenance.journal_store import JournalError

AT = "2026-03-04T05:06:07+00:00"
KEY = "ops/journal.json"
WHAT_TO_DO = "check S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"


def entry(subsystem: str, state: str = "failed") -> JournalEntry:
    return JournalEntry(subsystem, state, state != "ok", "real", "maintenance", AT)


def journal_at(s3: S3Endpoint, bucket: str) -> S3Journal:
    return s3_store(f"s3://{bucket}/{KEY}", s3.env(bucket))


def test_the_location_names_the_object_and_the_endpoint(s3: S3Endpoint, bucket: str) -> None:
    assert journal_at(s3, bucket).location == f"s3://{bucket}/{KEY} at {s3.url}"
    assert s3_store("s3://b/k.json", {}).location == "s3://b/k.json"


def test_an_unusable_endpoint_is_a_journal_error_naming_the_journal() -> None:
    with pytest.raises(JournalError, match=r"^cannot reach the maintenance journal s3://b/k: "):
        s3_store("s3://b/k", {"S3_ENDPOINT_URL": "not an endpoint"})


def test_the_object_is_json_and_records_when_it_was_written(s3: S3Endpoint, bucket: str) -> None:
    store = journal_at(s3, bucket)
    client = s3.client()

    store.write([entry("kafka")], AT)
    assert client.head_object(Bucket=bucket, Key=KEY)["ContentType"] == "application/json"
    later = "2026-03-05T00:00:00+00:00"
    store.write([entry("s3", "ok")], later)

    assert client.head_object(Bucket=bucket, Key=KEY)["ContentType"] == "application/json"
    journal = journal_at(s3, bucket).load()
    assert journal is not None
    assert journal.updated_at == later
    assert set(journal.entries) == {("real", "kafka"), ("real", "s3")}


def test_reading_from_a_missing_bucket_says_what_to_check(s3: S3Endpoint) -> None:
    store = journal_at(s3, unique_name("absent"))
    with pytest.raises(JournalError) as raised:
        store.load()
    message = str(raised.value)
    assert message.startswith(f"cannot read the maintenance journal {store.location}: ")
    assert message.endswith(
        "or keep the journal elsewhere with --journal database or --journal PATH"
    )
    assert WHAT_TO_DO in message


def test_writing_to_a_missing_bucket_says_what_to_check(s3: S3Endpoint) -> None:
    store = journal_at(s3, unique_name("absent"))
    with pytest.raises(JournalError) as raised:
        store.write([entry("kafka")], AT)
    message = str(raised.value)
    assert message.startswith(f"cannot write the maintenance journal {store.location}: ")
    assert WHAT_TO_DO in message


def test_an_object_that_is_not_a_journal_is_reported_not_overwritten(
    s3: S3Endpoint, bucket: str
) -> None:
    client = s3.client()
    client.put_object(Bucket=bucket, Key=KEY, Body=b"not json")
    store = journal_at(s3, bucket)

    with pytest.raises(JournalError) as read:
        store.load()
    with pytest.raises(JournalError) as written:
        store.write([entry("kafka")], AT)

    assert str(read.value).startswith(f"the maintenance journal {store.location} is not a journal")
    assert str(read.value).endswith(
        "fix or delete the object (then name what to clean with --cleanup --only)"
    )
    assert str(written.value).startswith(
        f"the maintenance journal {store.location} is not a journal"
    )
    assert str(written.value).endswith("; fix or delete the object")
    assert client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"not json"


class Refusing:
    """A real S3 client whose puts are refused with ``code`` the first ``times`` times."""

    def __init__(self, client: Any, code: str, times: int) -> None:
        self._client = client
        self._code = code
        self._times = times
        self.puts = 0

    def get_object(self, **kwargs: Any) -> Any:
        return self._client.get_object(**kwargs)

    def put_object(self, **kwargs: Any) -> Any:
        self.puts += 1
        if self.puts <= self._times:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": self._code, "Message": "refused by the test"}}, "PutObject"
            )
        return self._client.put_object(**kwargs)


def refusing_store(
    s3: S3Endpoint, bucket: str, code: str, times: int
) -> tuple[S3Journal, Refusing]:
    client = Refusing(s3.client(), code, times)
    return S3Journal(cast(Any, client), bucket, KEY, s3.url), client


@pytest.mark.parametrize("code", ["PreconditionFailed", "ConditionalRequestConflict", "409"])
def test_a_write_that_lost_a_race_starts_over_and_lands(
    s3: S3Endpoint, bucket: str, code: str
) -> None:
    store, client = refusing_store(s3, bucket, code, times=1)

    store.write([entry("kafka")], AT)

    assert client.puts == 2
    journal = journal_at(s3, bucket).load()
    assert journal is not None
    assert journal.entries[("real", "kafka")] == entry("kafka")


def test_a_refusal_that_is_not_a_conflict_is_reported_at_once(s3: S3Endpoint, bucket: str) -> None:
    store, client = refusing_store(s3, bucket, "AccessDenied", times=WRITE_ATTEMPTS)

    with pytest.raises(JournalError, match="AccessDenied"):
        store.write([entry("kafka")], AT)

    assert client.puts == 1


def test_losing_every_race_gives_up_and_says_to_run_again(
    s3: S3Endpoint, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_s3, "CONFLICT_WAIT", wait_none())  # ten pauses: ~1.7 s
    store, client = refusing_store(s3, bucket, "412", times=WRITE_ATTEMPTS)

    with pytest.raises(JournalError) as raised:
        store.write([entry("kafka")], AT)

    assert str(raised.value) == (
        f"cannot write the maintenance journal {store.location}: {WRITE_ATTEMPTS} "
        "conflicting writes by other runs in a row; run again"
    )
    # The last conflict S3 reported is chained, for whoever reads the traceback.
    assert "412" in str(raised.value.__cause__)
    assert client.puts == WRITE_ATTEMPTS
    assert journal_at(s3, bucket).load() is None


class Recorder(http.server.BaseHTTPRequestHandler):
    """An S3-compatible store that has nothing: 404 without a body, as some answer."""

    authorizations: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).authorizations.append(self.headers.get("Authorization", ""))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.authorizations = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("region", "signed_for"), [("eu-central-1", "eu-central-1"), ("", "us-east-1")]
)
def test_a_bare_404_reads_as_no_journal_signed_for_the_configured_region(
    recorder: str, region: str, signed_for: str
) -> None:
    env = {
        "S3_ENDPOINT_URL": recorder,
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": region,
    }

    assert s3_store("s3://b/journal.json", env).load() is None

    (authorization,) = Recorder.authorizations
    assert f"/{signed_for}/s3/aws4_request" in authorization
