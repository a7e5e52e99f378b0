"""The real console script: uvicorn on a loopback port, JSON logs, clean startup errors."""

from pathlib import Path

import httpx

from acme_web.testing import ConsoleScript


def test_console_script_serves_the_api_with_json_logs(script: ConsoleScript) -> None:
    with script.serve({}) as (served, startup):
        ready = httpx.get(f"{served.base_url}/readiness", timeout=5)
        user = httpx.get(f"{served.base_url}/users/user3", timeout=5)
        missing = httpx.get(f"{served.base_url}/users/42", timeout=5)
    later = served.records()

    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert user.json()["name"] == "Bob Johnson"
    assert (missing.status_code, missing.json()) == (404, {"error": "User not found"})
    messages = [r["message"] for r in startup]
    assert "User data loaded successfully" in messages
    assert any(m.startswith("User service starting on port") for m in messages)
    assert {"uvicorn.error", "user-service"} <= {r["context"] for r in startup}
    assert "User retrieved: user3" in [r["message"] for r in later]
    assert "User not found: 42" in [r["message"] for r in later]
    assert any(r["context"] == "uvicorn.access" for r in later)


def test_missing_data_file_is_a_clear_startup_error(tmp_path: Path, script: ConsoleScript) -> None:
    missing = tmp_path / "nowhere" / "users.json"
    result = script.run({"USER_DATA_PATH": str(missing), "PORT": "0"})
    assert result.returncode == 2
    assert str(missing) in result.stderr
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_corrupt_data_file_is_a_clear_startup_error(tmp_path: Path, script: ConsoleScript) -> None:
    corrupt = tmp_path / "users.json"
    corrupt.write_text('{"1": {"id": 1,', encoding="utf-8")
    result = script.run({"USER_DATA_PATH": str(corrupt)})
    assert result.returncode == 2
    assert str(corrupt) in result.stderr
    assert "invalid JSON" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_port_is_a_usage_error(script: ConsoleScript) -> None:
    result = script.run({"PORT": "http"})
    assert result.returncode == 2
    assert "PORT" in result.stderr
