"""Retry and timeout policy: tenacity for transient errors, anyio.fail_after per attempt."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from acme_integrations.errors import (
    MaintenanceError,
    OperationTimeoutError,
    PermanentError,
    TransientError,
)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts with exponential backoff and jitter; ``scale`` shrinks every delay.

    The simulated backend runs with ``scale`` equal to its time scale, so a test at a
    tiny time scale retries in milliseconds with the same shape as a real run.
    """

    attempts: int = 5
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    jitter_s: float = 0.5
    scale: float = 1.0

    def retrying(self, on_retry: Callable[[RetryCallState], None]) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential_jitter(
                multiplier=self.initial_backoff_s * self.scale,
                max=self.max_backoff_s * self.scale,
                jitter=self.jitter_s * self.scale,
            ),
            retry=retry_if_exception_type(TransientError),
            sleep=anyio.sleep,
            before_sleep=on_retry,
            reraise=True,
        )


def collapse(group: BaseExceptionGroup[BaseException]) -> MaintenanceError | None:
    """One typed error for a group made only of typed errors (e.g. concurrent S3 pages).

    The group is transient only if every member is; the message keeps every member.
    Returns None when the group holds anything else, so the caller re-raises it whole.
    """
    leaves = _leaves(group)
    if not all(isinstance(leaf, MaintenanceError) for leaf in leaves):
        return None
    message = f"{len(leaves)} concurrent errors: " + "; ".join(str(leaf) for leaf in leaves)
    if all(isinstance(leaf, TransientError) for leaf in leaves):
        return TransientError(message)
    return PermanentError(message)


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            found.extend(_leaves(error))
        else:
            found.append(error)
    return found


async def bounded(call: Callable[[], Awaitable[T]], timeout_s: float, what: str) -> T:
    """Run one attempt under a timeout; a timeout or a group of typed errors becomes typed."""
    try:
        with anyio.fail_after(timeout_s):
            return await call()
    except TimeoutError as error:
        raise OperationTimeoutError(f"{what} did not finish within {timeout_s:.3g} s") from error
    except ExceptionGroup as group:
        typed = collapse(group)
        if typed is None:
            raise
        raise typed from group
