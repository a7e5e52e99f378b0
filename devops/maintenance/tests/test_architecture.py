"""The import contracts in pyproject.toml hold, and they bite when an import closes a circle.

The same two contracts guard every workspace package; this copy of acme_maintenance shows
that each kind of circle breaks the contract that names it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
MODULES = Path("src") / "acme_maintenance"
CYCLES = "no import cycle between the modules of acme_maintenance"
ITSELF = "no module of acme_maintenance imports the package itself (its __init__.py)"


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


def copy_of_package(tmp_path: Path) -> Path:
    root = tmp_path / "maintenance"
    shutil.copytree(PACKAGE / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PACKAGE / "pyproject.toml", root / "pyproject.toml")
    return root


def add_import(root: Path, module: str, line: str) -> None:
    """Put `line` among the module's imports (or, for a function's import, at its end)."""
    target = root / MODULES / module
    text = target.read_text()
    marker = "from __future__ import annotations\n"
    if line.startswith("def "):
        target.write_text(f"{text}\n\n{line}\n")
    elif marker in text:
        target.write_text(text.replace(marker, f"{marker}\n{line}  # noqa\n", 1))
    else:
        target.write_text(f"{text}\n{line}  # noqa\n")


def test_the_contracts_hold() -> None:
    done = lint_imports(PACKAGE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("imports", "contract"),
    [
        pytest.param(
            # journal_choice imports journal_store: two modules in a circle.
            [("journal_store.py", "import acme_maintenance.journal_choice")],
            CYCLES,
            id="two modules",
        ),
        pytest.param(
            # journal_store -> journal -> report -> journal_store.
            [("report.py", "import acme_maintenance.journal_store")],
            CYCLES,
            id="three modules",
        ),
        pytest.param(
            # The circle this package once had: a store imported inside a function.
            [
                (
                    "journal_store.py",
                    "def _open() -> object:\n"
                    "    from acme_maintenance.journal_file import FileJournal\n\n"
                    "    return FileJournal",
                )
            ],
            CYCLES,
            id="inside a function",
        ),
        pytest.param(
            # The package's __init__.py imports a module that imports the package back.
            [
                ("__init__.py", "import acme_maintenance.report"),
                ("report.py", "import acme_maintenance"),
            ],
            ITSELF,
            id="through __init__",
        ),
    ],
)
def test_an_import_closing_a_circle_breaks_a_named_contract(
    tmp_path: Path, imports: list[tuple[str, str]], contract: str
) -> None:
    root = copy_of_package(tmp_path)
    for module, line in imports:
        add_import(root, module, line)
    done = lint_imports(root)
    assert done.returncode != 0, done.stdout
    # The contract's line in the summary (its name again heads the details further down).
    verdict = next(line for line in done.stdout.splitlines() if line.startswith(contract))
    assert verdict.removeprefix(contract).strip() == "BROKEN", done.stdout
    assert "1 broken" in done.stdout
