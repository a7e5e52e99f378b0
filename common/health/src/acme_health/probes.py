"""`add_health_probes`: the one call that gives a Litestar app its probes.

It works on the `AppConfig` before the app exists, so it composes with
`Litestar.from_config(...)` and with `on_app_init` (via `functools.partial`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from litestar import Response, get
from litestar.config.app import AppConfig
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from acme_health.checks import ReadinessCheck, run_checks
from acme_health.middleware import probe_logging_middleware
from acme_logger import Logger

READINESS_PATH: Final = "/readiness"
LIVENESS_PATH: Final = "/liveness"
PROBE_PATHS: Final = frozenset({READINESS_PATH, LIVENESS_PATH})


def _probe_handlers(
    checks: Mapping[str, ReadinessCheck], check_timeout: float
) -> list[HTTPRouteHandler]:
    @get(LIVENESS_PATH, tags=["health"], summary="The process is alive", sync_to_thread=False)
    def liveness() -> dict[str, str]:
        return {"status": "alive"}

    @get(
        READINESS_PATH,
        tags=["health"],
        summary="Every readiness check passes",
        responses={
            HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
                data_container=dict[str, str],
                description="A readiness check failed",
                generate_examples=False,
            )
        },
    )
    async def readiness() -> Response[dict[str, str]]:
        failure = await run_checks(checks, check_timeout)
        if failure is None:
            return Response({"status": "ready"}, status_code=HTTP_200_OK)
        return Response(
            {"status": "not ready", "check": failure.check, "error": failure.error},
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
        )

    return [liveness, readiness]


def add_health_probes(
    config: AppConfig,
    checks: Mapping[str, ReadinessCheck] | None = None,
    *,
    logger: Logger | None = None,
    check_timeout: float = 5.0,
) -> AppConfig:
    """Add `GET /readiness`, `GET /liveness` and the probe-logging middleware to `config`.

    `checks` maps a name to an async check; readiness answers 503 with the name of the first
    failing one (declaration order). Probe requests are logged through `logger` (default
    context "health"). Returns the same, mutated, config so it can be used as an
    `on_app_init` hook.
    """
    config.route_handlers = [
        *config.route_handlers,
        *_probe_handlers(dict(checks or {}), check_timeout),
    ]
    config.middleware = [
        probe_logging_middleware(logger or Logger("health"), PROBE_PATHS),
        *config.middleware,
    ]
    return config
