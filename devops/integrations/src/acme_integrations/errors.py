"""Typed maintenance errors: transient ones are worth retrying, permanent ones are not."""

from __future__ import annotations


class MaintenanceError(Exception):
    """A maintenance operation failed; the message says what, to what, and what to do."""


class TransientError(MaintenanceError):
    """A fault that may clear on its own: retry the same operation with backoff."""


class DeadlockError(TransientError):
    """Sessions wait on each other's locks (or the database is locked by another writer)."""


# Not `TimeoutError`: that builtin is what anyio's fail_after raises, and retry_policy
# turns it into this one; one name for both would make the `except` ambiguous.
class OperationTimeoutError(TransientError):
    """The operation (or a request inside it) did not finish in time."""


class ThrottledError(TransientError):
    """The service asked us to slow down (rate limit, quota)."""


# Not `ConnectionResetError`: that is a builtin (an OSError raised by sockets), which
# this name would shadow wherever it is imported.
class ConnectionDroppedError(TransientError):
    """The connection to the service broke or could not be established."""


class PermanentError(MaintenanceError):
    """A fault that retrying cannot fix: configuration, permissions or state must change."""


class BadCredentialsError(PermanentError):
    """The service rejected our identity or our permissions."""


class MissingResourceError(PermanentError):
    """The bucket, database, topic or upload the operation needs does not exist."""


class ValidationFailedError(PermanentError):
    """The operation ran but its result is not what maintenance promised."""
