"""The user service app: `create_app(settings)` builds it, loading the user store eagerly."""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar, Response, get
from litestar.config.app import AppConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.params import FromPath
from litestar.status_codes import HTTP_404_NOT_FOUND

from acme_health import add_health_probes
from acme_logger import Logger
from acme_user_service.settings import Settings
from acme_user_service.store import User, load_users
from acme_web.errors import error_handlers
from acme_web.responses import error_spec, found_or_404


def _routes(users: dict[str, User], logger: Logger) -> list[Any]:
    @get("/", sync_to_thread=False, summary="Service banner")
    def root() -> dict[str, str]:
        return {"message": "User Service API"}

    @get("/users", sync_to_thread=False, summary="All users keyed by id")
    def list_users() -> dict[str, User]:
        return users

    @get(
        "/users/{user_id:str}",
        sync_to_thread=False,
        summary="One user",
        responses={HTTP_404_NOT_FOUND: error_spec("User not found")},
    )
    def get_user(user_id: FromPath[str]) -> Response[Any]:
        return found_or_404(users.get(user_id), "User", user_id, logger)

    return [root, list_users, get_user]


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app; a missing or corrupt data file raises UserDataError naming the file."""
    settings = settings or Settings.from_env(os.environ)
    logger = Logger("user-service")
    users = load_users(settings.data_path)
    logger.info("User data loaded successfully", {"path": str(settings.data_path)})
    config = AppConfig(
        route_handlers=_routes(users, logger),
        exception_handlers=error_handlers(logger),
        openapi_config=OpenAPIConfig(title="User Service API", version="0.1.0"),
    )
    return Litestar.from_config(add_health_probes(config, logger=logger))
