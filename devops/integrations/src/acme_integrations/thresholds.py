"""Maintenance thresholds as settings: environment variables and flags, validated.

| setting | variable | flag | default |
| --- | --- | --- | --- |
| Glacier size threshold | MAINTENANCE_GLACIER_MIN_SIZE | --glacier-min-size | 128MiB |
| object retention | MAINTENANCE_RETENTION_DAYS | --retention-days | 90 |
| multipart upload age | MAINTENANCE_UPLOAD_MAX_AGE_HOURS | --upload-max-age-hours | 24 |
| hung query age | MAINTENANCE_HUNG_QUERY_SECONDS | --hung-query-seconds | 300 |

A flag overrides its variable. A negative, non-finite or unparsable value is an
``InvalidSettingError`` naming the variable (or flag), which the CLI turns into exit 2.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


class InvalidSettingError(ValueError):
    """A threshold's value cannot be used; the message names the variable or flag."""


def parse_size(text: str) -> int:
    """Bytes from ``1024``, ``100MB`` (10^6) or ``128MiB`` (2^20); never negative."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a size: write bytes or a number with B, KB, MB, GB, TB "
            "(powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 100MB"
        )
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "b").lower()])


def parse_amount(text: str) -> float:
    """A finite number >= 0."""
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{text!r} must be a finite number >= 0")
    return number


@dataclass(frozen=True)
class Thresholds:
    """What maintenance considers large, old or hung, in bytes and seconds."""

    glacier_min_size_bytes: int = 128 * 1024**2
    retention_s: float = 90 * 86400.0
    upload_max_age_s: float = 24 * 3600.0
    hung_query_after_s: float = 300.0


@dataclass(frozen=True)
class Threshold:
    """One threshold: its field, variable, flag, and how a value is read and shown."""

    field: str
    variable: str
    flag: str
    meaning: str
    parse: Callable[[str], float]
    show: Callable[[float], str]


def _size(text: str) -> float:
    return float(parse_size(text))


def _show_size(value: float) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= factor and value % factor == 0:
            return f"{value / factor:g}{unit} ({value:.0f} bytes)"
    return f"{value:.0f} bytes"


THRESHOLDS = (
    Threshold(
        "glacier_min_size_bytes",
        "MAINTENANCE_GLACIER_MIN_SIZE",
        "--glacier-min-size",
        "S3 objects larger than this move to GLACIER",
        _size,
        _show_size,
    ),
    Threshold(
        "retention_s",
        "MAINTENANCE_RETENTION_DAYS",
        "--retention-days",
        "S3 objects last modified longer ago are deleted",
        lambda text: parse_amount(text) * 86400.0,
        lambda value: f"{value / 86400.0:g} days",
    ),
    Threshold(
        "upload_max_age_s",
        "MAINTENANCE_UPLOAD_MAX_AGE_HOURS",
        "--upload-max-age-hours",
        "S3 multipart uploads started longer ago are aborted",
        lambda text: parse_amount(text) * 3600.0,
        lambda value: f"{value / 3600.0:g} hours",
    ),
    Threshold(
        "hung_query_after_s",
        "MAINTENANCE_HUNG_QUERY_SECONDS",
        "--hung-query-seconds",
        "PostgreSQL queries running longer are cancelled",
        parse_amount,
        lambda value: f"{value:g} seconds",
    ),
)


def resolve_thresholds(
    env: Mapping[str, str], flags: Mapping[str, str | None] | None = None
) -> tuple[Thresholds, dict[str, str]]:
    """Thresholds from flags (keyed by flag), else variables, else defaults; and each source.

    Raises InvalidSettingError naming the flag or variable whose value is unusable.
    """
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for threshold in THRESHOLDS:
        given = (flags or {}).get(threshold.flag)
        name, text = (threshold.flag, given) if given is not None else (threshold.variable, None)
        if text is None and env.get(threshold.variable, "").strip():
            text = env[threshold.variable]
        if text is None:
            sources[threshold.field] = "default"
            continue
        try:
            values[threshold.field] = threshold.parse(text)
        except ValueError as error:
            raise InvalidSettingError(f"{name}={text} is invalid: {error}") from None
        sources[threshold.field] = name
    defaults = Thresholds()
    thresholds = Thresholds(
        glacier_min_size_bytes=int(
            values.get("glacier_min_size_bytes", defaults.glacier_min_size_bytes)
        ),
        retention_s=values.get("retention_s", defaults.retention_s),
        upload_max_age_s=values.get("upload_max_age_s", defaults.upload_max_age_s),
        hung_query_after_s=values.get("hung_query_after_s", defaults.hung_query_after_s),
    )
    return thresholds, sources
