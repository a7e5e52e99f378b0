"""An entry directory as one gzipped tar (what the remote cache stores), and back, safely."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from acme_ci.core.entry_format import archive_member_problem
from acme_ci.entries import CorruptEntryError


def pack(entry_dir: Path) -> bytes:
    """`entry_dir` (entry.json and outputs/) as a gzipped tar of members under `.`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        tar.add(entry_dir, arcname=".")
    return buffer.getvalue()


def unpack(content: bytes, target: Path) -> None:
    """Extract a packed entry into `target`; CorruptEntryError when it cannot be, or not
    safely (a member that is no plain file or directory, or whose name leaves `target`)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as tar:
            _extract(tar, target)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise CorruptEntryError(f"unreadable archive ({error})") from error


def _extract(tar: tarfile.TarFile, target: Path) -> None:
    """Extract with the "data" filter: no absolute paths, no escaping names, no links.

    Python before 3.11.4 has no extraction filters (Debian bookworm's 3.11.2 in the
    rehearsal's stand-in images): there, only plain files and directories under relative,
    non-escaping names are accepted, anything else refuses the whole entry.
    """
    if hasattr(tarfile, "data_filter"):
        tar.extractall(target, filter="data")
        return
    for member in tar.getmembers():
        problem = archive_member_problem(member.name, member.isfile() or member.isdir())
        if problem is not None:
            raise tarfile.TarError(problem)
    tar.extractall(target)  # members checked above, as the "data" filter would
