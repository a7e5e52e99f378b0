"""Running readiness checks: concurrently, each bounded by its own timeout."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import anyio

ReadinessCheck = Callable[[], Awaitable[object]]
"""An async callable; it fails by raising or by returning False (anything else passes)."""


@dataclass(frozen=True)
class CheckFailure:
    """The first failing check in declaration order, and why it failed."""

    check: str
    error: str


async def _run_one(check: ReadinessCheck, check_timeout: float) -> str | None:
    try:
        with anyio.fail_after(check_timeout):
            result = await check()
    except TimeoutError:
        return f"timed out after {check_timeout:g} s"
    except Exception as exc:  # a check's own failure is the answer, not a crash of the probe
        return f"{type(exc).__name__}: {exc}"
    return "returned False" if result is False else None


async def run_checks(
    checks: Mapping[str, ReadinessCheck], check_timeout: float
) -> CheckFailure | None:
    """Run every check concurrently; return the first failure in declaration order, if any."""
    errors: dict[str, str | None] = {}

    async def record(name: str, check: ReadinessCheck) -> None:
        errors[name] = await _run_one(check, check_timeout)

    async with anyio.create_task_group() as group:
        for name, check in checks.items():
            group.start_soon(record, name, check)
    for name in checks:
        error = errors[name]
        if error is not None:
            return CheckFailure(check=name, error=error)
    return None
