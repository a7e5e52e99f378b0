"""ASGI middleware that logs each probe request (path, status, duration) and nothing else."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from acme_logger import Logger


def probe_logging_middleware(
    logger: Logger, paths: Collection[str]
) -> Callable[[ASGIApp], ASGIApp]:
    """A Litestar middleware factory logging requests whose path is one of `paths`."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def logged(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or scope["path"] not in paths:
                await app(scope, receive, send)
                return
            status = 500
            started = time.perf_counter()

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, capture)
            finally:
                duration_ms = round((time.perf_counter() - started) * 1000, 3)
                logger.info(
                    f"Health probe {scope['path']} - {duration_ms}ms",
                    {"path": scope["path"], "status": status, "durationMs": duration_ms},
                )

        return logged

    return middleware
