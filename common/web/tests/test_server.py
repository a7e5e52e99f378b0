"""HOST/PORT settings, and `run_service` driven as a real process."""

import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from acme_web.server import ServerSettings, SettingsError
from acme_web.testing import run_to_completion, serve

# A tiny service run the way a console script runs it: its app fails to build when
# DEMO_FAIL is set, with an error the service declares as a startup error.
DEMO_SERVICE = textwrap.dedent(
    """
    import os
    import sys

    from acme_web.server import run_service
    from litestar import Litestar, get


    class DemoDataError(Exception):
        pass


    @get("/readiness", sync_to_thread=False)
    def readiness() -> dict[str, str]:
        return {"status": "ready"}


    def build() -> Litestar:
        if os.environ.get("DEMO_FAIL"):
            raise DemoDataError(f"{os.environ['DEMO_FAIL']} is not valid demo data")
        return Litestar([readiness])


    sys.exit(run_service("demo-service", 3999, build, (DemoDataError,)))
    """
)


@pytest.fixture
def demo(tmp_path: Path) -> list[str]:
    script = tmp_path / "demo_service.py"
    script.write_text(DEMO_SERVICE, encoding="utf-8")
    return [sys.executable, str(script)]


def test_defaults_and_overrides() -> None:
    assert ServerSettings.from_env({}, 3000) == ServerSettings(host="127.0.0.1", port=3000)
    assert ServerSettings.from_env({"HOST": "", "PORT": ""}, 3001) == ServerSettings(
        host="127.0.0.1", port=3001
    )
    assert ServerSettings.from_env({"HOST": "0.0.0.0", "PORT": "8080"}, 3000) == ServerSettings(
        host="0.0.0.0", port=8080
    )
    assert ServerSettings.from_env({"PORT": "0"}, 3000).port == 0


@pytest.mark.parametrize("port", ["70000", "65536", "-1", "http", "80.5", " 80"])
def test_a_port_that_is_no_tcp_port_is_a_settings_error(port: str) -> None:
    with pytest.raises(SettingsError) as raised:
        ServerSettings.from_env({"PORT": port}, 3000)
    assert str(raised.value) == f"PORT must be a number between 0 and 65535, got {port!r}"


def test_run_service_serves_and_logs_its_start(demo: list[str]) -> None:
    with serve(demo, {}, startup_timeout=30) as (served, startup):
        ready = httpx.get(f"{served.base_url}/readiness", timeout=5)
    later = served.records()

    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    port = served.base_url.rsplit(":", 1)[1]
    assert {
        "context": "demo-service",
        "message": f"Demo service starting on port {port}",
    }.items() <= next(r for r in startup if r["context"] == "demo-service").items()
    assert any(r["context"] == "uvicorn.access" for r in later)
    assert "Application shutdown complete." in [r["message"] for r in later]


def test_bad_port_exits_2_with_one_line(demo: list[str]) -> None:
    result = run_to_completion(demo, {"PORT": "http"}, timeout=30)
    assert result.returncode == 2
    assert result.stderr == (
        "demo-service: PORT must be a number between 0 and 65535, got 'http'\n"
    )
    assert result.stdout == ""


def test_declared_startup_error_exits_2_with_one_line(demo: list[str]) -> None:
    result = run_to_completion(demo, {"DEMO_FAIL": "demo.json", "PORT": "0"}, timeout=30)
    assert result.returncode == 2
    assert result.stderr == "demo-service: demo.json is not valid demo data\n"
