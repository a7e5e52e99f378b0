"""The subprocess executor on its own: environment, logs, timeouts, missing tools."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from acme_ci.core.plan import Step
from acme_ci.native.executor import NativeExecutor


def _step(*commands: tuple[str, ...]) -> Step:
    return Step("p:lint", "p", "lint", commands, ".", (("GREETING", "hi"),), (), (), (), "test")


@pytest.mark.anyio
async def test_commands_run_in_order_with_the_step_env_and_the_venv_first(tmp_path: Path) -> None:
    (tmp_path / ".venv/bin").mkdir(parents=True)
    executor = NativeExecutor(root=tmp_path, log_dir=tmp_path / "logs")
    result = await executor.run(
        _step(
            ("sh", "-c", 'echo "$GREETING"; echo "$PATH" | cut -d: -f1'),
            ("sh", "-c", "exit 3"),
            ("sh", "-c", "echo never"),
        )
    )
    assert result.status == "failed"
    log = (tmp_path / str(result.log_path)).read_text()
    assert "hi\n" in log
    assert f"{tmp_path}/.venv/bin\n" in log
    assert "exit code 3" in log
    assert "never" not in log.replace("echo never", "")


@pytest.mark.anyio
async def test_a_hung_command_is_killed_and_fails_the_step(tmp_path: Path) -> None:
    executor = NativeExecutor(root=tmp_path, log_dir=tmp_path / "logs", step_timeout=0.5)
    result = await executor.run(_step(("sleep", "60")))
    assert result.status == "failed"
    assert "timed out after 0.5s: killed" in result.output


@pytest.mark.anyio
async def test_a_missing_tool_is_a_failed_step_with_a_reason(tmp_path: Path) -> None:
    executor = NativeExecutor(root=tmp_path, log_dir=tmp_path / "logs")
    result = await executor.run(_step(("no-such-tool-xyz", "--version")))
    assert result.status == "failed"
    assert "cannot start 'no-such-tool-xyz'" in result.output


@pytest.mark.anyio
async def test_every_package_lint_shares_one_mypy_cache_under_acme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inside a pipeline's own test step the outer run's MYPY_CACHE_DIR is set: a user's
    # setting wins over the default, so clear it to see the default.
    monkeypatch.delenv("MYPY_CACHE_DIR", raising=False)
    for package in ("a", "b"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "m.py").write_text("import json\n\nX: int = len(json.dumps(1))\n")
    (tmp_path / ".venv").symlink_to(sys.prefix)  # the repository's venv: its mypy
    executor = NativeExecutor(root=tmp_path, log_dir=tmp_path / "logs")
    for package in ("a", "b"):
        step = Step(
            f"{package}:lint", package, "lint", (("mypy", "m.py"),), package, (), (), (), (), "t"
        )
        result = await executor.run(step)
        assert result.status == "passed", result.output
        assert not (tmp_path / package / ".mypy_cache").exists()
    # mypy's sqlite cache (sharded): the second package found builtins and json there.
    assert list((tmp_path / ".acme/mypy-cache").rglob("cache*.db"))
