"""acme-logger: one JSON line per log call, for the ACME services and the standard library."""

from acme_logger.logger import Logger
from acme_logger.record import Level, build_record, render_line
from acme_logger.stdlib import JsonFormatter, JsonHandler, logging_config

__all__ = [
    "JsonFormatter",
    "JsonHandler",
    "Level",
    "Logger",
    "build_record",
    "logging_config",
    "render_line",
]
