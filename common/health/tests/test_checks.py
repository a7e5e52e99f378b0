import anyio
import pytest

from acme_health import CheckFailure, run_checks


@pytest.mark.anyio
async def test_checks_run_concurrently() -> None:
    # Each check waits for the other to start: run one after another, they would time out.
    first_started, second_started = anyio.Event(), anyio.Event()

    async def first() -> None:
        first_started.set()
        await second_started.wait()

    async def second() -> None:
        second_started.set()
        await first_started.wait()

    assert await run_checks({"first": first, "second": second}, check_timeout=5) is None


@pytest.mark.anyio
async def test_no_checks_means_ready() -> None:
    assert await run_checks({}, check_timeout=1) is None


@pytest.mark.anyio
async def test_failure_carries_name_and_error() -> None:
    async def broken() -> None:
        raise RuntimeError("disk full")

    assert await run_checks({"disk": broken}, check_timeout=1) == CheckFailure(
        check="disk", error="RuntimeError: disk full"
    )
