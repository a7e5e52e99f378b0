"""Client-library exceptions map to the typed transient/permanent hierarchy."""

from __future__ import annotations

import sqlite3

import botocore.exceptions
import kafka.errors
import psycopg.errors
import pytest

from acme_integrations.error_mapping import from_boto, from_kafka, from_psycopg, from_sqlite
from acme_integrations.errors import (
    BadCredentialsError,
    ConnectionDroppedError,
    DeadlockError,
    MaintenanceError,
    MissingResourceError,
    OperationTimeoutError,
    PermanentError,
    ThrottledError,
    TransientError,
)


def client_error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": "message"}}, "ListObjectsV2"
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("SlowDown"), ThrottledError),
        (client_error("RequestTimeout"), OperationTimeoutError),
        (client_error("InternalError"), TransientError),
        (client_error("InvalidAccessKeyId"), BadCredentialsError),
        (client_error("AccessDenied"), BadCredentialsError),
        (client_error("NoSuchBucket"), MissingResourceError),
        (client_error("InvalidStorageClass"), PermanentError),
        (botocore.exceptions.NoCredentialsError(), BadCredentialsError),
        (
            botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"),
            ConnectionDroppedError,
        ),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"), OperationTimeoutError),
    ],
)
def test_boto(error: Exception, expected: type[MaintenanceError]) -> None:
    assert type(from_boto(error)) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (psycopg.errors.DeadlockDetected("deadlock detected"), DeadlockError),
        (psycopg.errors.LockNotAvailable("could not obtain lock"), DeadlockError),
        (psycopg.errors.QueryCanceled("canceling statement"), OperationTimeoutError),
        (psycopg.errors.InsufficientPrivilege("permission denied"), BadCredentialsError),
        (
            psycopg.OperationalError("password authentication failed for user x"),
            BadCredentialsError,
        ),
        (psycopg.OperationalError('database "x" does not exist'), MissingResourceError),
        (psycopg.OperationalError("connection refused"), ConnectionDroppedError),
        (psycopg.errors.SyntaxError("syntax error"), PermanentError),
    ],
)
def test_psycopg(error: Exception, expected: type[MaintenanceError]) -> None:
    assert type(from_psycopg(error)) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sqlite3.OperationalError("database is locked"), DeadlockError),
        (sqlite3.OperationalError("unable to open database file"), MissingResourceError),
        (sqlite3.DatabaseError("file is not a database"), PermanentError),
    ],
)
def test_sqlite(error: Exception, expected: type[MaintenanceError]) -> None:
    assert type(from_sqlite(error)) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (kafka.errors.ThrottlingQuotaExceededError(), ThrottledError),
        (kafka.errors.KafkaTimeoutError(), OperationTimeoutError),
        (kafka.errors.RequestTimedOutError(), OperationTimeoutError),
        (kafka.errors.KafkaConnectionError(), ConnectionDroppedError),
        (kafka.errors.TopicAuthorizationFailedError(), BadCredentialsError),
        (kafka.errors.UnknownTopicOrPartitionError(), MissingResourceError),
        (kafka.errors.NotLeaderForPartitionError(), TransientError),
        (kafka.errors.InvalidTopicError(), PermanentError),
    ],
)
def test_kafka(error: Exception, expected: type[MaintenanceError]) -> None:
    assert type(from_kafka(error)) is expected
