"""Run a blocking client call in a worker thread, translating its errors to typed ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread

from acme_integrations.errors import MaintenanceError

T = TypeVar("T")


async def in_thread(
    call: Callable[[], T],
    translate: Callable[[Exception], MaintenanceError],
    limiter: anyio.CapacityLimiter | None = None,
) -> T:
    """Run ``call`` in a worker thread so other subsystems keep running meanwhile.

    The thread is abandoned on cancellation so a timeout takes effect at once; the
    clients are configured with their own network timeouts, which bound how long an
    abandoned call can linger.
    """
    try:
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True, limiter=limiter)
    except MaintenanceError:
        raise
    except Exception as error:
        raise translate(error) from error
