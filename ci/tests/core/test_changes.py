"""The git questions affected selection asks (core/changes.py), put to a real git repository.

Both shells run these argv lists; here they run against a three-commit history in a temp
dir, so the questions are checked by git itself (fast: a handful of git calls).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from acme_ci.core import changes

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, env=GIT_ENV, capture_output=True, text=True, check=check
    )


def commit(root: Path, files: dict[str, str], message: str) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """main: base -> main's own change; feature (HEAD): base -> a rename and an edit."""
    root = tmp_path
    git(root, "init", "-q", "-b", "main")
    commit(root, {"libs/a/old_name.py": "A = 1\n" * 20, "libs/b/b.py": "B = 1\n"}, "base")
    git(root, "checkout", "-q", "-b", "feature")
    git(root, "mv", "libs/a/old_name.py", "libs/a/new_name.py")
    commit(root, {"libs/b/b.py": "B = 2\n"}, "feature")
    git(root, "checkout", "-q", "main")
    commit(root, {"services/web/web.py": "W = 1\n"}, "main moved on")
    git(root, "checkout", "-q", "feature")
    return root


def changed(root: Path, base: str) -> tuple[str, ...]:
    questions = (changes.diff_since(base), changes.UNCOMMITTED, changes.UNTRACKED)
    return changes.changed_paths(*(git(root, *question).stdout for question in questions))


def test_changes_since_the_merge_base_with_renames_as_both_paths(history: Path) -> None:
    # A rename touches two places: the old path's package and the new one's.
    assert changed(history, "main") == (
        "libs/a/new_name.py",
        "libs/a/old_name.py",
        "libs/b/b.py",
    )


def test_uncommitted_and_untracked_files_count_but_ignored_ones_do_not(history: Path) -> None:
    (history / ".gitignore").write_text("*.log\n", encoding="utf-8")
    (history / "libs/b/b.py").write_text("B = 3\n", encoding="utf-8")
    (history / "libs/new/deep/file.py").parent.mkdir(parents=True)
    (history / "libs/new/deep/file.py").write_text("N = 1\n", encoding="utf-8")
    (history / "libs/b/debug.log").write_text("noise\n", encoding="utf-8")
    git(history, "mv", "libs/a/new_name.py", "libs/a/staged_name.py")
    assert changed(history, "main") == (
        ".gitignore",
        "libs/a/new_name.py",
        "libs/a/old_name.py",
        "libs/a/staged_name.py",
        "libs/b/b.py",
        "libs/new/deep/file.py",
    )


def test_a_ref_is_verified_as_a_commit(history: Path) -> None:
    assert git(history, *changes.verify_ref("main"), check=False).returncode == 0
    tree = git(history, "rev-parse", "HEAD^{tree}").stdout.strip()
    unknown = git(history, *changes.verify_ref("origin/main"), check=False)
    assert unknown.returncode != 0
    assert unknown.stderr == ""  # quiet: the shell words the error itself
    assert git(history, *changes.verify_ref(tree), check=False).returncode != 0


def test_the_unknown_ref_message_says_what_and_how_to_fix() -> None:
    message = changes.unknown_ref_message("origin/main", "/src/repo")
    assert message == (
        "unknown base ref 'origin/main': not a commit in /src/repo; fetch it "
        "(git fetch origin origin/main, or check out with full history) or pass another --base"
    )


def test_unusual_names_are_read_as_they_are(history: Path) -> None:
    """NUL-terminated answers: no quoting to undo, whatever the name holds."""
    names = ["libs/a/with space.py", "libs/a/ünï.py", 'libs/a/"quoted".py', "libs/a/new\nline.py"]
    for name in names:
        (history / name).write_text("X = 1\n", encoding="utf-8")
    git(history, "add", names[0])
    (history / "libs/b/b.py").write_text("B = 3\n", encoding="utf-8")
    assert changed(history, "feature") == tuple(sorted([*names, "libs/b/b.py"]))
    assert changes.changed_paths("", "", "") == ()


def test_a_workspace_below_the_repositorys_top_gets_paths_from_its_own_root(
    history: Path,
) -> None:
    """The workspace is libs/ here: its changes are named from there, the others not at all
    (git names paths from the top unless told --relative, and a package would then match
    no changed path: a silent empty selection)."""
    (history / "libs/b/b.py").write_text("B = 3\n", encoding="utf-8")
    (history / "libs/new.py").write_text("N = 1\n", encoding="utf-8")
    (history / "outside.py").write_text("O = 1\n", encoding="utf-8")
    assert changed(history / "libs", "main") == (
        "a/new_name.py",
        "a/old_name.py",
        "b/b.py",
        "new.py",
    )
