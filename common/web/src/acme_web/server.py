"""The console-script side of a service: HOST/PORT settings and `run_service`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import uvicorn
from litestar import Litestar

from acme_logger import Logger, logging_config


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class ServerSettings:
    """Where the console script listens: `HOST` (default 127.0.0.1) and `PORT`."""

    host: str
    port: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str], default_port: int) -> ServerSettings:
        """Read HOST and PORT; a PORT that is not a TCP port number is a SettingsError."""
        raw_port = environ.get("PORT", "") or str(default_port)
        if not raw_port.isdigit() or int(raw_port) > 65535:
            raise SettingsError(f"PORT must be a number between 0 and 65535, got {raw_port!r}")
        return cls(host=environ.get("HOST", "") or "127.0.0.1", port=int(raw_port))


def run_service(
    name: str,
    default_port: int,
    build_app: Callable[[], Litestar],
    startup_errors: tuple[type[Exception], ...] = (),
) -> int:
    """Serve `build_app()` with uvicorn on HOST:PORT, logging as JSON lines.

    Bad configuration (a SettingsError) or any of `startup_errors` raised while building
    the app exits 2 with one line `<name>: <error>` on stderr, never a traceback.
    The start is logged under the `name` context as "<Name> starting on port <port>"
    ("user-service" -> "User service").
    """
    stopping: tuple[type[Exception], ...] = (SettingsError, *startup_errors)
    try:
        server = ServerSettings.from_env(os.environ, default_port)
        app = build_app()
    except stopping as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    title = name.replace("-", " ").capitalize()
    Logger(name).info(f"{title} starting on port {server.port}")
    uvicorn.run(app, host=server.host, port=server.port, log_config=logging_config())
    return 0
