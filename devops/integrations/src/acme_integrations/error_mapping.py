"""Translate botocore, psycopg, sqlite3 and kafka-python exceptions to typed errors."""

from __future__ import annotations

import sqlite3

import botocore.exceptions
import kafka.errors
import psycopg
import psycopg.errors

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

_S3_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "SlowDown",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
    }
)
_S3_TIMEOUT = frozenset({"RequestTimeout", "RequestTimeoutException"})
_S3_UNAVAILABLE = frozenset({"InternalError", "ServiceUnavailable", "503", "500"})
_S3_CREDENTIALS = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "ExpiredToken",
        "InvalidToken",
        "403",
    }
)
_S3_MISSING = frozenset({"NoSuchBucket", "NoSuchKey", "NoSuchUpload", "404", "NotFound"})


def from_s3_code(code: str, message: str) -> MaintenanceError:
    """Map an S3 error code (from a ClientError or a DeleteObjects per-key error)."""
    text = f"S3 {code}: {message}"
    if code in _S3_THROTTLED:
        return ThrottledError(f"{text} (the service is throttling; retrying with backoff)")
    if code in _S3_TIMEOUT:
        return OperationTimeoutError(text)
    if code in _S3_UNAVAILABLE:
        return TransientError(f"{text} (server-side error; retrying)")
    if code in _S3_CREDENTIALS:
        return BadCredentialsError(
            f"{text}: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy"
        )
    if code in _S3_MISSING:
        return MissingResourceError(f"{text}: check S3_BUCKET and S3_ENDPOINT_URL")
    return PermanentError(text)


def from_boto(error: Exception) -> MaintenanceError:
    """Map a boto3/botocore exception."""
    if isinstance(error, botocore.exceptions.ClientError):
        details = error.response.get("Error", {})
        return from_s3_code(str(details.get("Code", "")), str(details.get("Message", error)))
    if isinstance(
        error, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError
    ):
        return BadCredentialsError(f"S3: {error}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if isinstance(
        error, botocore.exceptions.ConnectTimeoutError | botocore.exceptions.ReadTimeoutError
    ):
        return OperationTimeoutError(f"S3: {error}")
    if isinstance(
        error,
        botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectionClosedError,
    ):
        return ConnectionDroppedError(f"S3: {error} (is S3_ENDPOINT_URL reachable?)")
    return PermanentError(f"S3: unexpected {type(error).__name__}: {error}")


def from_psycopg(error: Exception) -> MaintenanceError:
    """Map a psycopg 3 exception."""
    text = f"PostgreSQL: {type(error).__name__}: {str(error).strip()}"
    if isinstance(
        error,
        psycopg.errors.DeadlockDetected
        | psycopg.errors.LockNotAvailable
        | psycopg.errors.SerializationFailure,
    ):
        return DeadlockError(text)
    if isinstance(error, psycopg.errors.QueryCanceled):
        return OperationTimeoutError(text)
    if isinstance(
        error,
        psycopg.errors.InvalidPassword
        | psycopg.errors.InvalidAuthorizationSpecification
        | psycopg.errors.InsufficientPrivilege,
    ):
        return BadCredentialsError(f"{text}: check the user and password in DATABASE_URL")
    if isinstance(error, psycopg.errors.InvalidCatalogName | psycopg.errors.UndefinedTable):
        return MissingResourceError(f"{text}: check the database name in DATABASE_URL")
    if isinstance(error, psycopg.OperationalError):
        message = str(error)
        # A failed connect carries no SQLSTATE: the server's message is all there is.
        if "password authentication failed" in message or "no password supplied" in message:
            return BadCredentialsError(f"{text}: check the user and password in DATABASE_URL")
        if "does not exist" in message:
            return MissingResourceError(f"{text}: check DATABASE_URL")
        return ConnectionDroppedError(text)
    return PermanentError(text)


def from_sqlite(error: Exception) -> MaintenanceError:
    """Map a sqlite3 exception."""
    message = str(error)
    text = f"SQLite: {type(error).__name__}: {message}"
    if isinstance(error, sqlite3.OperationalError):
        if "locked" in message or "busy" in message:
            return DeadlockError(f"{text} (another connection holds the write lock)")
        if "unable to open" in message:
            return MissingResourceError(f"{text}: check the path in DATABASE_URL")
    return PermanentError(text)


_KAFKA_CREDENTIALS = (
    kafka.errors.AuthorizationError,
    kafka.errors.SaslAuthenticationFailedError,
)


def from_kafka(error: Exception) -> MaintenanceError:
    """Map a kafka-python exception; its ``retriable`` flag decides transient vs permanent."""
    text = f"Kafka: {type(error).__name__}: {error}"
    if isinstance(error, kafka.errors.ThrottlingQuotaExceededError):
        return ThrottledError(text)
    if isinstance(error, kafka.errors.KafkaTimeoutError | kafka.errors.RequestTimedOutError):
        return OperationTimeoutError(text)
    if isinstance(error, kafka.errors.KafkaConnectionError):
        return ConnectionDroppedError(f"{text} (is KAFKA_BOOTSTRAP_SERVERS reachable?)")
    if isinstance(error, _KAFKA_CREDENTIALS):
        return BadCredentialsError(f"{text}: check the client's ACLs / SASL settings")
    if isinstance(error, kafka.errors.UnknownTopicOrPartitionError):
        return MissingResourceError(f"{text}: the topic does not exist")
    if isinstance(error, kafka.errors.KafkaError) and getattr(error, "retriable", False):
        return TransientError(text)
    return PermanentError(text)
