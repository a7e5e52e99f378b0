"""The swap journal: one JSON line per acknowledged swap, appended and fsynced.

A line is `{"stockId": "...", "owned": "..."}`: an absolute assignment, so replaying the
journal over a snapshot that already contains some of its entries gives the same state
(the last assignment of each stock wins). That makes compaction crash-safe in any order.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import msgspec

from acme_trading_service.durable import fsync_dir


class JournalEntry(msgspec.Struct, forbid_unknown_fields=True):
    """One ownership assignment."""

    stockId: str  # same spelling as the API
    owned: str


class JournalError(Exception):
    """The journal cannot be read or opened for writing."""


_decoder = msgspec.json.Decoder(JournalEntry)
_encoder = msgspec.json.Encoder()


def journal_path_for(snapshot: Path) -> Path:
    """The journal lives beside its snapshot: `stocks.json` -> `stocks.json.journal`."""
    return snapshot.with_name(f"{snapshot.name}.journal")


def parse(content: bytes) -> tuple[list[JournalEntry], int]:
    """The entries of a journal and the length of its valid prefix.

    A last line without its newline is the tail of an append a crash interrupted before it
    was acknowledged (an append is one write of a line ending in its newline): it is left
    out. A complete line that does not decode means the file is damaged: JournalError.
    """
    entries: list[JournalEntry] = []
    valid = 0
    lines = content.split(b"\n")
    # After the final newline, split leaves the unterminated tail (b"" when there is none).
    for number, line in enumerate(lines[:-1], start=1):
        try:
            entries.append(_decoder.decode(line))
        except msgspec.DecodeError as exc:
            raise JournalError(f"line {number} is not a journal entry ({exc})") from None
        valid += len(line) + 1
    return entries, valid


def read(path: Path) -> tuple[list[JournalEntry], int]:
    """Parse the journal at `path` (a missing journal is an empty one)."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    return parse(content)


class JournalWriter:
    """The single writer of a journal: holds an exclusive lock, appends fsynced lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        created = not path.exists()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise JournalError(f"another process is writing {path}") from None
        if created:
            fsync_dir(path.parent)

    def truncate_to(self, length: int) -> None:
        """Drop a torn tail (or, with 0, everything once a snapshot holds it)."""
        os.ftruncate(self._fd, length)
        os.fsync(self._fd)

    def append(self, entry: JournalEntry) -> None:
        """Append one entry; when this returns, the entry survives a crash."""
        line = _encoder.encode(entry) + b"\n"
        end = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            self._write(line)
            os.fsync(self._fd)
        except BaseException:
            # Cut off what may have reached the file, so a failed (unacknowledged) swap
            # neither leaves a partial line before the next entry nor reappears on restart.
            os.ftruncate(self._fd, end)
            raise

    def _write(self, line: bytes) -> None:
        written = os.write(self._fd, line)
        if written != len(line):
            raise JournalError(f"short write to {self.path} ({written} of {len(line)} bytes)")

    def close(self) -> None:
        """Release the lock and the file."""
        os.close(self._fd)
