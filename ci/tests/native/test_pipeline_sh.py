"""pipeline.sh syncs the environment only when uv, the lock file or a manifest changed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[3] / "pipeline.sh"
ROOT = '[tool.uv.workspace]\nmembers = ["pkgs/*"]\n'
MEMBER = '[project]\nname = "a"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """A one-member workspace (no dependencies: syncs offline), uv logged by a PATH wrapper."""
    real_uv = shutil.which("uv")
    if real_uv is None:
        pytest.skip("uv is not on PATH")
    root = tmp_path / "ws"
    (root / "pkgs/a").mkdir(parents=True)
    shutil.copy2(PIPELINE, root / "pipeline.sh")
    (root / "pyproject.toml").write_text(ROOT)
    (root / "pkgs/a/pyproject.toml").write_text(MEMBER)
    log = tmp_path / "uv.log"
    wrappers = tmp_path / "bin"
    wrappers.mkdir()
    (wrappers / "uv").write_text(f'#!/bin/sh\necho "$1" >>{log}\nexec {real_uv} "$@"\n')
    (wrappers / "uv").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{wrappers}{os.pathsep}{os.environ['PATH']}",
        "UV_PYTHON": sys.executable,
        "UV_OFFLINE": "1",
    }
    # The generated workspace gets its own .venv, whatever environment runs this suite (the
    # Dagger containers point UV_PROJECT_ENVIRONMENT at their shared /opt/venv), and its
    # bytecode lands beside the sources (the suite's bytecode_cache fixture may have set a
    # PYTHONPYCACHEPREFIX).
    for name in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPYCACHEPREFIX"):
        env.pop(name, None)
    subprocess.run(["uv", "lock", "--quiet"], cwd=root, env=env, check=True)
    subprocess.run(["uv", "venv", "--quiet"], cwd=root, env=env, check=True)
    # What pipeline.sh hands over to: a stand-in for the acme-ci entry point.
    (root / ".venv/bin/acme-ci").write_text('#!/bin/sh\necho "acme-ci $*"\n')
    (root / ".venv/bin/acme-ci").chmod(0o755)
    return root, env, log


def _pipeline(root: Path, env: dict[str, str], log: Path) -> list[str]:
    """Run `./pipeline.sh plan`; the uv subcommands it started."""
    log.write_text("")
    done = subprocess.run(
        ["./pipeline.sh", "plan"], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "acme-ci plan"
    return [line for line in log.read_text().splitlines() if line != "--version"]


def test_sync_runs_only_when_the_lock_or_a_manifest_changed(
    workspace: tuple[Path, dict[str, str], Path],
) -> None:
    root, env, log = workspace
    (root / "pkgs/a/src/a").mkdir(parents=True)
    (root / "pkgs/a/src/a/__init__.py").write_text('"""a."""\n')
    env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    assert _pipeline(root, env, log) == ["sync", "run"]
    # The member's sources are compiled with the sync (uv compiles only what it installs).
    assert list((root / "pkgs/a/src/a/__pycache__").glob("__init__.*.pyc"))
    assert _pipeline(root, env, log) == ["run"]  # nothing changed: no sync

    manifest = root / "pkgs/a/pyproject.toml"
    manifest.write_text(MEMBER + 'description = "a changed manifest"\n')
    assert _pipeline(root, env, log) == ["sync", "run"]
    assert _pipeline(root, env, log) == ["run"]

    (root / "pkgs/b").mkdir()
    (root / "pkgs/b/pyproject.toml").write_text(MEMBER.replace('"a"', '"b"'))
    subprocess.run(["uv", "lock", "--quiet"], cwd=root, env=env, check=True)
    assert _pipeline(root, env, log) == ["sync", "run"]  # a new member, a new lock

    (root / ".venv/.acme-sync-stamp").write_text("from another environment\n")
    assert _pipeline(root, env, log) == ["sync", "run"]
