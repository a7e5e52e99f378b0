"""What both shells ask git for affected selection, and how its answers are read.

The native shell runs these argv lists as subprocesses, the Dagger shell in a git container,
so both select from the very same questions and parse the answers the same way.
"""

from __future__ import annotations


def verify_ref(base: str) -> tuple[str, ...]:
    """Exit 0 only when `base` names a commit."""
    return ("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")


def diff_since(base: str) -> tuple[str, ...]:
    """Files changed between the merge base of `base` and HEAD, one per line."""
    return ("diff", "--name-only", "--no-renames", f"{base}...HEAD")


# Uncommitted and untracked (but not ignored) files, porcelain v1.
STATUS = ("status", "--porcelain", "--untracked-files=all", "--no-renames")


def unknown_ref_message(base: str, where: str) -> str:
    """The error both shells give for a base ref that is not a commit."""
    return (
        f"unknown base ref {base!r}: not a commit in {where}; fetch it "
        f"(git fetch origin {base}, or check out with full history) or pass another --base"
    )


def changed_paths(diff_output: str, status_output: str) -> tuple[str, ...]:
    """The sorted, distinct paths of a `diff_since` answer and a `STATUS` answer."""
    # Porcelain v1: two status letters, a space, then the path (quoted if unusual).
    pending = [line[3:].strip('"') for line in status_output.splitlines() if len(line) > 3]
    return tuple(sorted({p for p in (*diff_output.splitlines(), *pending) if p}))
