"""Fixtures: small but real uv workspaces in real git repositories under tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

# The repository's venv has python, pytest, ruff: generated workspaces borrow it via a
# symlink, so their steps run the same tools without installing anything.
REPO_VENV = Path(sys.prefix)

ROOT_MANIFEST = """\
[tool.uv.workspace]
members = ["libs/*", "services/*"]

[tool.ruff]
line-length = 100
"""

GITIGNORE = ".venv/\n.acme/\ndist/\n__pycache__/\n.pytest_cache/\n"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def manifest(name: str, deps: tuple[str, ...] = (), acme: str = "") -> str:
    requirements = ", ".join(f'"{d}"' for d in deps)
    sources = "".join(f"{d} = {{ workspace = true }}\n" for d in deps)
    text = f"""\
[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [{requirements}]

[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[tool.pytest.ini_options]
addopts = "--import-mode=importlib -p no:cacheprovider"
testpaths = ["tests"]
pythonpath = ["src"]
"""
    if sources:
        text += f"\n[tool.uv.sources]\n{sources}"
    return text + acme


PASSING_TEST = "def test_ok() -> None:\n    assert 1 + 1 == 2\n"


class Repo:
    """A generated workspace: libs/core <- libs/util <- services/api, plus services/web."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def add_package(
        self,
        directory: str,
        name: str,
        deps: tuple[str, ...] = (),
        acme: str = "",
        tests: Mapping[str, str] | None = None,
    ) -> None:
        module = name.replace("-", "_")
        self.write(f"{directory}/pyproject.toml", manifest(name, deps, acme))
        self.write(f"{directory}/src/{module}/__init__.py", f'"""{name}."""\n\nVALUE = 1\n')
        for filename, text in (tests or {"test_basic.py": PASSING_TEST}).items():
            self.write(f"{directory}/tests/{filename}", text)

    def commit(self, message: str = "change") -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "ws"
    root.mkdir()
    r = Repo(root)
    r.write("pyproject.toml", ROOT_MANIFEST)
    r.write(".gitignore", GITIGNORE)
    r.write("README.md", "# generated\n")
    (root / ".venv").symlink_to(REPO_VENV)
    r.add_package("libs/core", "core")
    r.add_package("libs/util", "util", ("core",))
    r.add_package("services/api", "api", ("util",), '\n[tool.acme]\nkind = "service"\n')
    r.add_package("services/web", "web")
    git(root, "init", "-q", "-b", "main")
    r.commit("initial")
    return r
