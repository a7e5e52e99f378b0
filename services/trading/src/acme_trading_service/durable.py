"""Durable file primitives: atomic replacement and directory fsync.

`atomic_write` writes a sibling temp file, fsyncs it, renames it over the target and fsyncs
the directory, so a reader (or a crash at any instant) sees the previous or the new
content, never a mix; after it returns, the new content survives a power loss.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def fsync_dir(directory: Path) -> None:
    """Make a rename or a file creation in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path_for(path: Path) -> Path:
    """The sibling temp file a writer uses (same directory, so rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically and durably."""
    temp = temp_path_for(path)
    try:
        with temp.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def remove_stale_temps(path: Path) -> None:
    """Delete temp files left by writers killed before their rename."""
    for stale in path.parent.glob(f".{path.name}.*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
