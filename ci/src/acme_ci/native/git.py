"""The git adapter: changed files for affected selection, file lists for cache keys."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from acme_ci.core import changes


class GitError(Exception):
    """git cannot answer: no repository, an unknown ref, or git itself is missing."""


# What a run's cache keys need from git, asked side by side (see snapshot). Every path
# is relative to the directory git runs in, which need not be the repository's top level
# (diff-files names paths from the top level unless told --relative).
_LIST = ("ls-files", "-z", "-co", "--exclude-standard", "--")  # then the paths
_STAGED = ("ls-files", "-s", "-z")
_STAGED_AND_OTHERS = ("ls-files", "-s", "-z", "-o", "--exclude-standard")
_MODIFIED = ("diff-files", "--name-only", "-z", "--relative")
_HEAD = ("rev-parse", "HEAD")
# An `ls-files -s` record: mode, blob id, stage, a tab, then the path.
_STAGED_RECORD = re.compile(r"([0-7]{6}) ([0-9a-f]{40}|[0-9a-f]{64}) ([0-3])\t(.*)", re.DOTALL)


@dataclass(frozen=True)
class Snapshot:
    """listed_files(root, ["."]), index_blobs(root) and head_commit(root) in one answer."""

    files: tuple[str, ...] | None
    blobs: dict[str, str] | None
    head: str | None


def _start(root: Path, *args: str) -> Callable[[], str]:
    """Start `git args`; the call returned waits for it: its output, or GitError."""
    try:
        process = subprocess.Popen(
            ["git", *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    except FileNotFoundError as error:
        raise GitError("git is not installed or not on PATH") from error

    def wait() -> str:
        out, err = process.communicate()
        if process.returncode != 0:
            raise GitError(err.strip() or f"git {' '.join(args)} failed")
        return out

    return wait


def _git(root: Path, *args: str) -> str:
    return _start(root, *args)()


def snapshot(root: Path) -> Snapshot:
    """The file list, the index's blob ids and HEAD, from three git commands run side by
    side: a run waits for the slowest of them, not for their sum. A part git cannot answer
    (outside a repository, no commit yet) is None, as from the single calls."""
    try:
        waits = [_start(root, *args) for args in (_STAGED_AND_OTHERS, _MODIFIED, _HEAD)]
    except GitError:
        return Snapshot(None, None, None)
    listed, modified, head = (_answer(wait) for wait in waits)
    if listed is None:
        return Snapshot(None, None, None if head is None else head.strip())
    staged, others = _staged_and_others(listed)
    return Snapshot(
        files=tuple(sorted({*(_path_of(record) for record in staged), *others})),
        blobs=None if modified is None else _blobs(staged, modified),
        head=None if head is None else head.strip(),
    )


def _staged_and_others(out: str) -> tuple[list[str], list[str]]:
    """`ls-files -s -o` output split into index records and untracked paths (a path never
    starts with a mode, a blob id and a stage followed by a tab, unless made to)."""
    staged: list[str] = []
    others: list[str] = []
    for record in filter(None, out.split("\0")):
        (staged if _STAGED_RECORD.fullmatch(record) else others).append(record)
    return staged, others


def _path_of(record: str) -> str:
    return record.partition("\t")[2]


def _answer(wait: Callable[[], str]) -> str | None:
    try:
        return wait()
    except GitError:
        return None


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
    questions = (changes.diff_since(base), changes.UNCOMMITTED, changes.UNTRACKED)
    return changes.changed_paths(*_all_answers([_start(root, *q) for q in questions]))


def _all_answers(waits: Sequence[Callable[[], str]]) -> list[str]:
    """Every started command's output, in order; the first GitError once all have ended."""
    outputs: list[str] = []
    errors: list[GitError] = []
    for wait in waits:
        try:
            outputs.append(wait())
        except GitError as error:
            errors.append(error)
    if errors:
        raise errors[0]
    return outputs


def head_commit(root: Path) -> str | None:
    """HEAD's commit id, or None outside a repository or before the first commit."""
    try:
        return _git(root, *_HEAD).strip()
    except GitError:
        return None


def listed_files(root: Path, paths: Sequence[str]) -> tuple[str, ...] | None:
    """Tracked and untracked-but-not-ignored files under `paths`; None outside a repository."""
    try:
        out = _git(root, *_LIST, *paths)
    except GitError:
        return None
    return _file_list(out)


def _file_list(out: str) -> tuple[str, ...]:
    return tuple(sorted({p for p in out.split("\0") if p}))


def index_blobs(root: Path) -> dict[str, str] | None:
    """Git's blob id of every tracked file whose work-tree copy matches the index.

    `git diff-files` compares git's stat data (and, for racily-clean entries, the
    content), so a file changed on disk, even to the same size, is left out and gets
    hashed from its bytes. None outside a repository.
    """
    try:
        staged = _git(root, *_STAGED)
        modified = _git(root, *_MODIFIED)
    except GitError:
        return None
    return _blobs(filter(None, staged.split("\0")), modified)


def _blobs(staged: Iterable[str], modified_out: str) -> dict[str, str]:
    """`ls-files -s` records less the paths `diff-files` reports modified (see index_blobs)."""
    modified = set(filter(None, modified_out.split("\0")))
    blobs: dict[str, str] = {}
    for record in staged:
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
