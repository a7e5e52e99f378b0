"""The git adapter: changed files for affected selection, file lists for cache keys."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from acme_ci.core import changes


class GitError(Exception):
    """git cannot answer: no repository, an unknown ref, or git itself is missing."""


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise GitError("git is not installed or not on PATH") from error
    if done.returncode != 0:
        raise GitError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout


def ensure_repository(root: Path) -> None:
    """Raise GitError with a clear message when `root` is not inside a git work tree."""
    try:
        _git(root, "rev-parse", "--is-inside-work-tree")
    except GitError as error:
        raise GitError(
            f"{root} is not a git repository ({error}); affected selection needs git: "
            f"run inside a clone, or pass --all / --package"
        ) from error


def changed_files(root: Path, base: str) -> tuple[str, ...]:
    """Files changed between `base` and HEAD (merge-base diff) plus uncommitted and untracked."""
    ensure_repository(root)
    try:
        _git(root, *changes.verify_ref(base))
    except GitError as error:
        raise GitError(changes.unknown_ref_message(base, str(root))) from error
    return changes.changed_paths(_git(root, *changes.diff_since(base)), _git(root, *changes.STATUS))


def head_commit(root: Path) -> str | None:
    """HEAD's commit id, or None outside a repository or before the first commit."""
    try:
        return _git(root, "rev-parse", "HEAD").strip()
    except GitError:
        return None


def listed_files(root: Path, paths: Sequence[str]) -> tuple[str, ...] | None:
    """Tracked and untracked-but-not-ignored files under `paths`; None outside a repository."""
    try:
        out = _git(root, "ls-files", "-z", "-co", "--exclude-standard", "--", *paths)
    except GitError:
        return None
    return tuple(sorted({p for p in out.split("\0") if p}))


def index_blobs(root: Path) -> dict[str, str] | None:
    """Git's blob id of every tracked file whose work-tree copy matches the index.

    `git diff-files` compares git's stat data (and, for racily-clean entries, the
    content), so a file changed on disk, even to the same size, is left out and gets
    hashed from its bytes. None outside a repository.
    """
    try:
        staged = _git(root, "ls-files", "-s", "-z")
        modified = set(filter(None, _git(root, "diff-files", "--name-only", "-z").split("\0")))
    except GitError:
        return None
    blobs: dict[str, str] = {}
    for record in filter(None, staged.split("\0")):
        info, _, path = record.partition("\t")
        mode, blob, stage = info.split(" ")
        # Regular files and symlinks at stage 0; not submodules, not merge conflicts.
        if mode in ("100644", "100755", "120000") and stage == "0" and path not in modified:
            blobs[path] = blob
    return blobs


def current_branch(root: Path) -> str | None:
    """The checked-out branch's short name; None when detached or outside a repository."""
    try:
        return _git(root, "symbolic-ref", "--short", "-q", "HEAD").strip() or None
    except GitError:
        return None
