"""What both shells ask git for affected selection, and how its answers are read.

The native shell runs these argv lists as subprocesses, the Dagger shell in a git container,
so both select from the very same questions and parse the answers the same way.
"""

from __future__ import annotations


def verify_ref(base: str) -> tuple[str, ...]:
    """Exit 0 only when `base` names a commit."""
    return ("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")


def diff_since(base: str) -> tuple[str, ...]:
    """Files changed between the merge base of `base` and HEAD, NUL-terminated."""
    return ("diff", "--name-only", "--no-renames", "--relative", "-z", f"{base}...HEAD")


# Uncommitted changes to tracked files (staged or not), then untracked but not ignored files.
# Every answer names paths from the directory git runs in (the workspace root), which need
# not be the repository's top level: `--relative` keeps diff's paths there too.
UNCOMMITTED = ("diff", "--name-only", "--no-renames", "--relative", "-z", "HEAD")
UNTRACKED = ("ls-files", "-z", "-o", "--exclude-standard")


def unknown_ref_message(base: str, where: str) -> str:
    """The error both shells give for a base ref that is not a commit."""
    return (
        f"unknown base ref {base!r}: not a commit in {where}; fetch it "
        f"(git fetch origin {base}, or check out with full history) or pass another --base"
    )


def changed_paths(*answers: str) -> tuple[str, ...]:
    """The sorted, distinct paths of the `diff_since`, `UNCOMMITTED` and `UNTRACKED` answers
    (NUL-terminated, so a path is never quoted)."""
    return tuple(sorted({path for answer in answers for path in answer.split("\0") if path}))
