"""The import contracts in ci/pyproject.toml hold, and each bites when an arrow points back
or an import closes a circle."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

CI = Path(__file__).resolve().parents[1]


def lint_imports(package_root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on a copy whose `src` comes first on the path."""
    tool = Path(sys.executable).parent / "lint-imports"
    if not tool.exists():
        pytest.fail("lint-imports is missing: `uv sync --all-packages` installs import-linter")
    env = {**os.environ, "PYTHONPATH": str(package_root / "src")}
    return subprocess.run(
        [str(tool), "--no-cache"],
        cwd=package_root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def copy_of_ci(tmp_path: Path) -> Path:
    root = tmp_path / "ci"
    shutil.copytree(CI / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CI / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_contracts_hold() -> None:
    done = lint_imports(CI)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "core/plan.py",
            "import acme_ci.native.cache",
            "the core imports no shell, no entries, no dagger and no subprocess",
        ),
        (
            "core/verdict.py",
            "import subprocess",
            "the core imports no shell, no entries, no dagger and no subprocess",
        ),
        (
            "core/entry_format.py",
            "import acme_ci.entries.directory",
            "the core imports no shell, no entries, no dagger and no subprocess",
        ),
        (
            "entries/archive.py",
            "import acme_ci.native.cache",
            "the cache entries import neither shell, nor the rehearsal, nor dagger",
        ),
        (
            "entries/s3.py",
            "import acme_ci.dagger.remote_cache",
            "the cache entries import neither shell, nor the rehearsal, nor dagger",
        ),
        (
            "entries/cli.py",
            "import dagger",
            "the cache entries import neither shell, nor the rehearsal, nor dagger",
        ),
        (
            "entries/directory.py",
            "import acme_ci.rehearsal.converter",
            "the cache entries import neither shell, nor the rehearsal, nor dagger",
        ),
        (
            "native/runner.py",
            "import acme_ci.dagger.containers",
            "the native shell and the Dagger shell do not import each other",
        ),
        (
            "dagger/source.py",
            "import acme_ci.native.git",
            "the native shell and the Dagger shell do not import each other",
        ),
        (
            "native/cli.py",
            "import dagger",
            "the native shell never imports dagger or the rehearsal",
        ),
        (
            "core/workspace.py",
            "import acme_ci.core.plan",
            "no import cycle between the modules of acme_ci",
        ),
        (
            "rehearsal/evaluator/values.py",
            "def _late() -> None:\n    import acme_ci.rehearsal.evaluator.dispatch",
            "no import cycle between the modules of acme_ci",
        ),
        (
            "core/__init__.py",
            "import acme_ci.core.plan",
            "these __init__.py import nothing of acme_ci",
        ),
        (
            "rehearsal/evaluator/execs.py",
            "import acme_ci.rehearsal.evaluator",
            "no module of rehearsal.evaluator imports the package itself",
        ),
    ],
)
def test_an_arrow_pointing_back_breaks_a_named_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    root = copy_of_ci(tmp_path)
    target = root / "src" / "acme_ci" / module
    text = target.read_text()
    marker = "from __future__ import annotations\n"
    if marker in text:
        target.write_text(text.replace(marker, f"{marker}\n{line}  # noqa\n", 1))
    else:  # a package's __init__.py: its docstring, then the import
        target.write_text(f"{text}\n{line}  # noqa\n")
    done = lint_imports(root)
    assert done.returncode != 0, done.stdout
    assert f"{contract}" in done.stdout
    assert "BROKEN" in done.stdout


def test_the_lint_step_checks_the_contract_where_a_package_declares_one() -> None:
    from acme_ci.core.affected import select_all
    from acme_ci.core.plan import make_plan
    from acme_ci.native.discover import load_workspace

    ws = load_workspace(CI.parent)
    plan = make_plan(ws, select_all(ws))
    with_contract = {
        step.package
        for step in plan.steps
        if step.task == "lint" and ("lint-imports", "--no-cache") in step.commands
    }
    declared = {
        package.name
        for package in ws.packages
        if "importlinter" in _manifest(CI.parent / package.path).get("tool", {})
    }
    assert "acme-ci" in declared
    assert with_contract == declared


def _manifest(package_dir: Path) -> dict[str, Any]:
    with (package_dir / "pyproject.toml").open("rb") as manifest:
        return tomllib.load(manifest)
