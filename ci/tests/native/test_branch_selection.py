"""Affected selection against a real git history: a branch's changes are its own, not main's.

`--base main` means "what this branch changed since it left main" (the merge base,
`main...HEAD`). A branch that is behind main must not select the packages main changed
after the branch point, and a branch must not lose its own changes because main has moved.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from acme_ci.native.cli import main

from ..conftest import Repo, git


@pytest.fixture
def branched(repo_template: Path, tmp_path: Path) -> Repo:
    """main moved on (services/web changed) after `feature` branched and changed services/api."""
    repo = Repo(tmp_path / "ws")
    shutil.copytree(repo_template, repo.root, symlinks=True)
    git(repo.root, "checkout", "-q", "-b", "feature")
    repo.write("services/api/src/api/feature.py", "FEATURE = 1\n")
    repo.commit("feature: api")
    git(repo.root, "checkout", "-q", "main")
    repo.write("services/web/src/web/mainline.py", "MAINLINE = 1\n")
    repo.commit("main: web")
    git(repo.root, "checkout", "-q", "feature")
    return repo


def _selected(repo: Repo, capsys: pytest.CaptureFixture[str], base: str) -> dict[str, list[str]]:
    assert main(["-C", str(repo.root), "plan", "--base", base, "--format", "json"]) == 0
    packages: dict[str, list[str]] = json.loads(capsys.readouterr().out)["selection"]["packages"]
    return packages


def test_a_branch_behind_main_selects_only_its_own_changes(
    branched: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _selected(branched, capsys, "main") == {
        "api": ["changed: services/api/src/api/feature.py"]
    }


def test_main_changes_and_uncommitted_edits_still_count_once_the_branch_is_rebased(
    branched: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    git(branched.root, "rebase", "-q", "main")
    branched.write("libs/core/src/core/wip.py", "WIP = 1\n")  # untracked, not committed
    selected = _selected(branched, capsys, "main")
    assert sorted(selected) == ["api", "core", "util"]
    assert "web" not in selected  # main's own change is behind the merge base now


def test_a_branch_that_is_main_selects_nothing(
    branched: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    git(branched.root, "checkout", "-q", "main")
    assert _selected(branched, capsys, "main") == {}
