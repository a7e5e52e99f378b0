"""The content-addressed step cache under .acme/cache/.

An entry is a directory named after the step's key, in the format both shells share
(acme_ci.core.entry_format, written and read by acme_ci.entries): `entry.json` (the result
and a checksum) and the step's outputs. Entries are built in a temporary directory and
renamed into place, so two racing runs never see half an entry; the checksum covers the
metadata and every output file, so a corrupt entry is detected, discarded and recomputed.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from acme_ci.core.entry_format import ENTRY_FILE, ENTRY_FORMAT, OUTPUTS_DIR, CachedResult
from acme_ci.core.plan import Step
from acme_ci.entries import CorruptEntryError
from acme_ci.entries.directory import read_meta, write_entry_file


class FileHasher:
    """Git blob ids of files under a root: git's own for unmodified tracked files, else
    computed from the bytes (the same id git would give), each file read at most once."""

    def __init__(
        self, root: Path, files: Iterable[str], known: Mapping[str, str] | None = None
    ) -> None:
        self.root = root
        self.files = tuple(sorted(files))
        self._digests: dict[str, str] = dict(known or {})

    def digest(self, path: str) -> str:
        if path not in self._digests:
            self._digests[path] = blob_id(self.root / path)
        return self._digests[path]

    def under(self, prefix: str) -> tuple[str, ...]:
        """`prefix` itself if it is a file, then the files below it, in sorted order.

        Found by bisection (a key names several prefixes, a repository holds thousands of
        files): in sorted order the paths below `prefix` are contiguous, from `prefix/` up
        to `prefix0` ("0" follows "/" in every encoding's order).
        """
        if prefix in ("", "."):
            return self.files
        files = self.files
        start = bisect.bisect_left(files, prefix)
        exact = files[start : start + 1] if files[start : start + 1] == (prefix,) else ()
        below = bisect.bisect_left(files, prefix + "/", start)
        return exact + files[below : bisect.bisect_left(files, prefix + "0", below)]


def blob_id(path: Path) -> str:
    """The id git gives the file's content (a symlink: its target), or a marker if missing."""
    try:
        data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return "missing"
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def environment_fingerprint(uv_version: str) -> str:
    """The Python and uv versions; the other tools (ruff, pytest...) are pinned by uv.lock,
    which every key hashes."""
    return f"{sys.version}|{sys.platform}|{uv_version}"


def step_key(step: Step, hasher: FileHasher, fingerprint: str) -> str:
    """sha256 of the step definition, the environment and the contents of its inputs."""
    h = hashlib.sha256()
    definition = {
        "format": ENTRY_FORMAT,
        "id": step.id,
        "commands": step.commands,
        "workdir": step.workdir,
        "env": step.env,
        "outputs": step.outputs,
        "fingerprint": fingerprint,
    }
    h.update(json.dumps(definition, sort_keys=True).encode())
    for prefix in step.inputs:
        for path in hasher.under(prefix):
            h.update(f"\n{path}\0{hasher.digest(path)}".encode())
    return h.hexdigest()


class Cache:
    """Lookup and store of step results by key."""

    def __init__(self, directory: Path, root: Path) -> None:
        self.directory = directory
        self.root = root

    def _entry_dir(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def has(self, key: str) -> bool:
        """An entry is stored under `key` (`load` still checks it)."""
        return (self._entry_dir(key) / ENTRY_FILE).is_file()

    def load(self, key: str, step: Step) -> CachedResult | None:
        """The cached result with its outputs restored, None on a miss.

        Raises CorruptEntryError (after removing the entry) when it fails its checksum.
        """
        entry_dir = self._entry_dir(key)
        if not (entry_dir / ENTRY_FILE).exists():
            return None
        try:
            result = CachedResult.from_meta(read_meta(entry_dir))
        except CorruptEntryError as error:
            self.discard(key)
            raise CorruptEntryError(f"cache entry {key[:12]} for {step.id}: {error}") from error
        except (KeyError, TypeError, ValueError) as error:  # checked, yet it holds no result
            self.discard(key)
            raise CorruptEntryError(
                f"cache entry {key[:12]} for {step.id}: unreadable ({error})"
            ) from error
        _restore(entry_dir / OUTPUTS_DIR, self.root, step.outputs)
        return result

    def store(self, key: str, step: Step, result: CachedResult) -> None:
        """Write the entry atomically; if a racing run stored it first, keep theirs."""

        def fill(staging: Path) -> None:
            outputs = staging / OUTPUTS_DIR
            outputs.mkdir()
            for output in step.outputs:
                source = self.root / output
                if source.is_dir():
                    shutil.copytree(source, outputs / output)
                elif source.is_file():
                    (outputs / output).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, outputs / output)
            write_entry_file(staging, result.meta())

        self._publish(key, fill)

    def pack(self, key: str) -> bytes | None:
        """The entry as one gzipped tar (entry.json and outputs/), None if there is none."""
        entry_dir = self._entry_dir(key)
        if not (entry_dir / ENTRY_FILE).is_file():
            return None
        from acme_ci.entries.archive import pack  # here: only a remote cache packs entries

        return pack(entry_dir)

    def install(self, key: str, packed: bytes) -> None:
        """Put a packed entry (from `pack`, via the remote cache) in place, atomically.

        Raises CorruptEntryError when the archive cannot be unpacked; `load` then checks it.
        """
        from acme_ci.entries.archive import unpack

        def fill(staging: Path) -> None:
            try:
                unpack(packed, staging)
            except CorruptEntryError as error:
                raise CorruptEntryError(f"cache entry {key[:12]}: {error}") from error

        self._publish(key, fill)

    def _publish(self, key: str, fill: Callable[[Path], None]) -> None:
        """Put an entry together in a private directory with `fill`, then rename it into
        place: a reader never sees half an entry, and a racing run's entry stays."""
        final = self._entry_dir(key)
        if final.exists():
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = _staging_dir(final, key)
        try:
            fill(staging)
            _move_into_place(staging, final)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def discard(self, key: str) -> None:
        """Remove an entry: rename first so a concurrent reader never sees it half-deleted."""
        entry_dir = self._entry_dir(key)
        trash = entry_dir.with_name(f".trash-{entry_dir.name}-{os.getpid()}")
        try:
            entry_dir.rename(trash)
        except OSError:
            return
        shutil.rmtree(trash, ignore_errors=True)


def _restore(outputs: Path, root: Path, names: Iterable[str]) -> None:
    for name in names:
        source = outputs / name
        target = root / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, copy_function=_copy_if_changed)
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy_if_changed(source, target)


def _copy_if_changed(source: str | Path, target: str | Path) -> None:
    """copy2, unless `target` is already that copy (same size and modification time: copy2
    keeps the time, so a warm run in the same tree copies nothing)."""
    try:
        have, want = os.stat(target), os.stat(source)
    except FileNotFoundError:
        shutil.copy2(source, target)
        return
    if (have.st_size, have.st_mtime_ns) != (want.st_size, want.st_mtime_ns):
        shutil.copy2(source, target)


def _staging_dir(final: Path, key: str) -> Path:
    """A new private directory beside `final`, where an entry is put together."""
    import tempfile  # here: a warm run (every step a hit) stores nothing

    return Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=final.parent))


def _move_into_place(staging: Path, final: Path) -> None:
    """Publish a finished entry atomically; a concurrent writer that got there first wins."""
    try:
        staging.rename(final)
    except OSError:
        if not final.exists():
            raise
