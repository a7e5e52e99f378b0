"""Fixtures: small but real uv workspaces in real git repositories under tmp_path."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
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

# The borrowed venv holds the whole monorepo's pytest plugins; importing faker's and
# hypothesis's costs ~1.3 s per pytest start, once per test step. The generated packages
# need only rerunfailures (their `flaky` marker, --max-suite-reruns), so load just that.
PYTEST_PLUGINS = "--disable-plugin-autoload -p rerunfailures"

GITIGNORE = ".venv/\n.acme/\ndist/\n__pycache__/\n.pytest_cache/\n.mypy_cache/\n"


# The repository root: the pipeline's own tests read files that belong to no package.
REPOSITORY = Path(__file__).resolve().parents[2]


def repository_file(path: str) -> Path:
    """A file of the repository root that a test reads; a clear failure when it is absent.

    In a Dagger test container the root holds only what the module copies in (its
    TOOL_TEST_ROOT_FILES): a missing file means the container lacks it, not a broken test.
    """
    found = REPOSITORY / path
    if not found.exists():
        pytest.fail(
            f"{path} is missing from {REPOSITORY}: this test reads the repository's {path}; "
            "in a Dagger container, acme_ci.dagger.containers.TOOL_TEST_ROOT_FILES must list it",
            pytrace=False,
        )
    return found


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Compiled pytest for the many pytest processes the tests start, once per session.

    The venv ships no bytecode and test steps run with PYTHONDONTWRITEBYTECODE=1, so each
    of them would compile pytest from source: ~0.2 s of its ~0.4 s start. A private
    PYTHONPYCACHEPREFIX, filled by one pytest run that may write, leaves the venv alone.
    """
    prefix = tmp_path_factory.mktemp("pycache")
    warmup = tmp_path_factory.mktemp("warmup")
    (warmup / "test_warmup.py").write_text(PASSING_TEST, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPYCACHEPREFIX", str(prefix))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        argv = [sys.executable, "-m", "pytest", "-q", "-rsR", "--junitxml=junit.xml"]
        subprocess.run(
            [*argv, *PYTEST_PLUGINS.split(), "-p", "no:cacheprovider", "test_warmup.py"],
            cwd=warmup,
            env=env,
            capture_output=True,
            check=True,
        )
        yield prefix


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


# (requirement, build-backend). The monorepo's own backend: uv builds it in an isolated
# environment, ~1 s a build. The cd tests build web with it, through ci and publish.
HATCHLING = '"hatchling>=1.25"', "hatchling.build"


@functools.cache
def uv_build() -> tuple[str, str]:
    """uv's own build backend, pinned to the running uv so `uv build` takes its direct path.

    Then a build needs no isolated environment (~0.05 s); any other pin would fall back to
    installing uv_build from the index.
    """
    # The uv the steps run: the generated .venv/bin first, like NativeExecutor's PATH.
    path = os.pathsep.join([str(REPO_VENV / "bin"), os.environ.get("PATH", "")])
    uv = shutil.which("uv", path=path) or "uv"
    done = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    return f'"uv_build=={done.stdout.split()[1]}"', "uv_build"


def manifest(
    name: str,
    deps: tuple[str, ...] = (),
    acme: str = "",
    backend: tuple[str, str] | None = None,
) -> str:
    requires, build_backend = backend or uv_build()
    requirements = ", ".join(f'"{d}"' for d in deps)
    sources = "".join(f"{d} = {{ workspace = true }}\n" for d in deps)
    text = f"""\
[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [{requirements}]

[build-system]
requires = [{requires}]
build-backend = "{build_backend}"

[tool.pytest.ini_options]
addopts = "--import-mode=importlib -p no:cacheprovider {PYTEST_PLUGINS}"
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
        backend: tuple[str, str] | None = None,
    ) -> None:
        module = name.replace("-", "_")
        self.write(f"{directory}/pyproject.toml", manifest(name, deps, acme, backend))
        self.write(f"{directory}/src/{module}/__init__.py", f'"""{name}."""\n\nVALUE = 1\n')
        for filename, text in (tests or {"test_basic.py": PASSING_TEST}).items():
            self.write(f"{directory}/tests/{filename}", text)

    def commit(self, message: str = "change") -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)


@pytest.fixture(scope="session")
def repo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated workspace, committed once per session; `repo` hands out copies."""
    root = tmp_path_factory.mktemp("template") / "ws"
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
    return root


def copy_workspace(source: Path, root: Path, bytecode_cache: Path) -> Repo:
    """An independent copy of a generated workspace (git history, .acme/ state) at `root`."""
    # symlinks=True: .venv stays a link to the repository's venv (absolute target).
    shutil.copytree(source, root, symlinks=True)
    # Python finds bytecode by the source's unresolved path (here under ws/.venv/): mirror
    # the link so the steps' pytest finds what the warm-up compiled.
    mirror = bytecode_cache / root.relative_to(root.anchor)
    mirror.mkdir(parents=True)
    (mirror / ".venv").symlink_to(bytecode_cache / REPO_VENV.relative_to(REPO_VENV.anchor))
    return Repo(root)


@pytest.fixture
def repo(repo_template: Path, tmp_path: Path, bytecode_cache: Path) -> Repo:
    return copy_workspace(repo_template, tmp_path / "ws", bytecode_cache)
