"""The test servers themselves: PostgreSQL found where Debian installs it, and a promised
PostgreSQL that is not there fails the run instead of skipping it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from acme_integrations.testing import find_postgres_tool, postgres_required


def test_initdb_off_path_is_found_in_the_newest_versioned_bin_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for version in ("13", "15", "9"):
        tool = tmp_path / version / "bin" / "initdb"
        tool.parent.mkdir(parents=True)
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    assert find_postgres_tool("initdb", f"{tmp_path}/*/bin") == str(tmp_path / "15/bin/initdb")
    assert find_postgres_tool("pg_ctl", f"{tmp_path}/*/bin") is None


@pytest.mark.parametrize(
    ("env", "required"),
    [
        ({}, False),
        ({"ACME_REQUIRE_POSTGRES": "1"}, True),
        ({"TEST_POSTGRES_URL": "postgresql://acme@postgres/acme"}, True),
        ({"ACME_REQUIRE_POSTGRES": "0"}, False),
    ],
)
def test_postgres_is_required_when_the_run_was_told_it_is_there(
    env: dict[str, str], required: bool
) -> None:
    assert postgres_required(env) is required


def test_a_promised_postgres_that_cannot_be_reached_fails_instead_of_skipping(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "test_probe.py").write_text(
        "def test_needs_postgres(postgres_server_url):\n    assert postgres_server_url\n"
    )
    env = {**os.environ, "TEST_POSTGRES_URL": f"postgresql://acme@127.0.0.1:{port}/acme"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            # Only the plugin under test: an auto-loaded plugin set costs ~2 s of start-up.
            "--disable-plugin-autoload",
            "-p",
            "acme_integrations.pytest_servers",
            "-p",
            "no:cacheprovider",
            "test_probe.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout
    assert "1 skipped" not in result.stdout.splitlines()[-1]
    assert "PostgreSQL was promised to this run" in result.stdout
