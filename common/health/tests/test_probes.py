import json
from collections.abc import Mapping
from functools import partial
from typing import Any

import anyio
import pytest
from litestar import Litestar, get
from litestar.config.app import AppConfig
from litestar.testing import TestClient

from acme_health import ReadinessCheck, add_health_probes


@get("/", sync_to_thread=False)
def root() -> dict[str, str]:
    return {"message": "hello"}


def make_app(
    checks: Mapping[str, ReadinessCheck] | None = None, check_timeout: float = 5.0
) -> Litestar:
    return Litestar.from_config(
        add_health_probes(AppConfig(route_handlers=[root]), checks, check_timeout=check_timeout)
    )


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


async def ok() -> None:
    return None


async def db_down() -> None:
    raise ConnectionError("connection refused")


async def says_no() -> bool:
    return False


async def hangs() -> None:
    await anyio.sleep_forever()


def test_liveness_and_readiness_answer_their_status() -> None:
    with TestClient(make_app()) as client:
        live = client.get("/liveness")
        ready = client.get("/readiness")
    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_readiness_passes_when_every_check_passes() -> None:
    with TestClient(make_app({"a": ok, "b": ok})) as client:
        assert client.get("/readiness").json() == {"status": "ready"}


@pytest.mark.parametrize(
    ("check", "error"),
    [(db_down, "ConnectionError: connection refused"), (says_no, "returned False")],
)
def test_failing_check_answers_503_with_its_name(check: ReadinessCheck, error: str) -> None:
    with TestClient(make_app({"cache": ok, "database": check})) as client:
        response = client.get("/readiness")
        liveness = client.get("/liveness")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "check": "database", "error": error}
    assert liveness.status_code == 200


async def fails_late() -> None:
    await anyio.sleep(0.05)
    raise RuntimeError("late")


@pytest.mark.parametrize(
    ("checks", "reported"),
    [
        # Declared first, named last alphabetically, and the last to fail.
        ({"zookeeper": fails_late, "api": db_down}, "zookeeper"),
        ({"api": db_down, "zookeeper": fails_late}, "api"),
        ({"zookeeper": says_no, "api": fails_late}, "zookeeper"),
    ],
)
def test_first_failing_check_in_declaration_order_is_reported(
    checks: dict[str, ReadinessCheck], reported: str
) -> None:
    with TestClient(make_app(checks)) as client:
        assert client.get("/readiness").json()["check"] == reported


def test_hanging_check_times_out_instead_of_hanging_the_probe() -> None:
    with TestClient(make_app({"slow": hangs}, check_timeout=0.05)) as client:
        response = client.get("/readiness")
    assert response.status_code == 503
    assert response.json()["check"] == "slow"
    assert "timed out" in response.json()["error"]


def test_probe_requests_are_logged_with_path_and_duration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with TestClient(make_app({"database": db_down})) as client:
        capsys.readouterr()
        client.get("/liveness")
        client.get("/readiness")
    records = [r for r in log_lines(capsys) if r["context"] == "health"]
    assert [r["data"]["path"] for r in records] == ["/liveness", "/readiness"]
    assert [r["data"]["status"] for r in records] == [200, 503]
    assert all(r["data"]["durationMs"] >= 0 for r in records)
    assert all(r["level"] == "INFO" for r in records)


def test_other_paths_are_not_logged(capsys: pytest.CaptureFixture[str]) -> None:
    with TestClient(make_app()) as client:
        capsys.readouterr()
        assert client.get("/").json() == {"message": "hello"}
        assert client.get("/missing").status_code == 404
    assert [r for r in log_lines(capsys) if r["context"] == "health"] == []


def test_works_as_an_on_app_init_hook_and_appears_in_openapi() -> None:
    app = Litestar(route_handlers=[root], on_app_init=[partial(add_health_probes, checks={})])
    with TestClient(app) as client:
        assert client.get("/liveness").json() == {"status": "alive"}
        schema = client.get("/schema/openapi.json").json()
    assert {"/readiness", "/liveness", "/"} <= set(schema["paths"])
    assert "503" in schema["paths"]["/readiness"]["get"]["responses"]
