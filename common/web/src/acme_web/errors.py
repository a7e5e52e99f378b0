"""Every error answer has the original's shape: `{"error": "<message>"}`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from acme_logger import Logger


def _field_name(key: object) -> str:
    # Litestar names the request body "data" after the handler's parameter.
    return "request body" if key == "data" else str(key)


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra if isinstance(exc.extra, list) else []
    details = [
        f"{_field_name(item['key'])}: {item['message']}"
        if item.get("key")
        else str(item["message"])
        for item in extra
        if isinstance(item, dict) and "message" in item
    ]
    return f"Invalid request: {'; '.join(details)}" if details else f"Invalid request: {exc.detail}"


def error_handlers(logger: Logger) -> ExceptionHandlersMap:
    """Handlers mapping Litestar's HTTP errors and unexpected ones to `{"error": ...}`."""

    def on_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
        return Response({"error": _validation_message(exc)}, status_code=exc.status_code)

    def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        # The client learns nothing of the internals; the log gets the whole exception.
        logger.error(f"Unhandled error on {request.method} {request.url.path}", exc)
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return Response({"error": "Internal server error"}, status_code=status)

    def on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
            return on_unexpected(request, exc)
        return Response({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    return {
        ValidationException: on_validation,
        HTTPException: on_http,
        Exception: on_unexpected,
    }
