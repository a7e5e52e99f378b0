"""Answers the services build the same way: a looked-up item or its 404, and the error spec."""

from __future__ import annotations

from typing import Any, TypedDict

from litestar import Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_404_NOT_FOUND

from acme_logger import Logger


class ErrorAnswer(TypedDict):
    """Every error answer of the services: `{"error": "<message>"}`."""

    error: str


def error_spec(description: str) -> ResponseSpec:
    """The OpenAPI description of an `{"error": "<message>"}` answer."""
    return ResponseSpec(
        data_container=ErrorAnswer, description=description, generate_examples=False
    )


def found_or_404(item: object | None, noun: str, key: str, logger: Logger) -> Response[Any]:
    """`item`, or 404 `{"error": "<noun> not found"}` when it is None; both outcomes logged.

    The log says "<noun> retrieved: <key>" (info) or "<noun> not found: <key>" (warn).
    """
    if item is None:
        logger.warn(f"{noun} not found: {key}")
        return Response({"error": f"{noun} not found"}, status_code=HTTP_404_NOT_FOUND)
    logger.info(f"{noun} retrieved: {key}")
    return Response(item)
