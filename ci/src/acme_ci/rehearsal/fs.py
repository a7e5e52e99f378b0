"""File trees on the host side of the rehearsal: filtered walks, content digests, and copies
into a container's mounted root file system (symlinks kept, never followed out of it)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from acme_ci.rehearsal.ignore import PathFilter


def inside(root: Path, path: str) -> Path:
    """`path` of a root file system mounted at `root`, resolving symlinks inside it."""
    current = root
    parts = [p for p in path.split("/") if p and p != "."]
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        if candidate.is_symlink() and hops < 40:
            hops += 1
            target = os.readlink(candidate)
            parts = [p for p in target.split("/") if p] + parts
            if target.startswith("/"):
                current = root
            continue
        current = candidate
    return current


def entry_in(root: Path, path: str) -> Path:
    """Like `inside`, but the last component itself is not followed (it may be replaced)."""
    parent, _, name = path.rstrip("/").rpartition("/")
    return inside(root, parent) / name


def walk(base: Path, path_filter: PathFilter, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """(path relative to `base`, host path) of every kept entry, directories first.

    `prefix` is where `base` sits below the root the filter's patterns are anchored at.
    """
    if not base.is_dir():
        return

    def rel_to_root(rel: str) -> str:
        return f"{prefix}/{rel}".strip("/")

    for dirpath, dirnames, filenames in os.walk(base):
        here = Path(dirpath)
        rel_here = here.relative_to(base).as_posix()
        rel_here = "" if rel_here == "." else rel_here
        kept_dirs = []
        for name in sorted(dirnames):
            rel = f"{rel_here}/{name}".strip("/")
            if (here / name).is_symlink():
                if path_filter.keeps(rel_to_root(rel)):
                    yield rel, here / name
            elif path_filter.keeps_dir(rel_to_root(rel)):
                kept_dirs.append(name)
                if path_filter.keeps(rel_to_root(rel)) or path_filter.include:
                    yield rel, here / name
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            rel = f"{rel_here}/{name}".strip("/")
            if path_filter.keeps(rel_to_root(rel)):
                yield rel, here / name


@dataclass(frozen=True)
class Stamp:
    """The owner (uid, gid) and mode a copy gives every entry it copies; None keeps each
    entry's own. The engine's `withDirectory(owner=, permissions=)` (core/directory.go,
    WithDirectory): util/layercopy's copyMetadata lchowns every copied entry, the copied
    directory's own included, to the owner and chmods it to the permissions (a symlink keeps
    its mode), which layercopyMode keeps to the permission, setuid, setgid and sticky bits."""

    owner: tuple[int, int] | None = None
    mode: int | None = None


KEPT = Stamp()


def tree_digest(base: Path, path_filter: PathFilter, prefix: str = "", stamp: Stamp = KEPT) -> str:
    """sha256 over every kept entry's path, kind, mode, owner and contents, as the engine's
    `Directory.digest` (engine/contenthash/tarsum.go hashes mode, uid and gid, not mtime);
    `stamp` stands for a copy's owner and mode."""
    h = hashlib.sha256()
    for rel, path in walk(base, path_filter, prefix):
        st = path.lstat()
        mode = stat.S_IMODE(st.st_mode)
        if stamp.mode is not None and not stat.S_ISLNK(st.st_mode):
            mode = stamp.mode
        uid, gid = stamp.owner or (st.st_uid, st.st_gid)
        h.update(f"{rel}\0{stat.S_IFMT(st.st_mode)}\0{mode}\0{uid}:{gid}\0".encode())
        if stat.S_ISLNK(st.st_mode):
            h.update(os.readlink(path).encode())
        elif stat.S_ISREG(st.st_mode):
            h.update(file_digest(path).encode())
    return h.hexdigest()


def file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def copy_entry(src: Path, dest: Path) -> None:
    """Copy one file, symlink or (empty) directory, replacing what is there."""
    if src.is_symlink():
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.is_dir():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.readlink(src), dest)
    elif src.is_dir():
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copystat(src, dest)
    else:
        if dest.is_symlink() or dest.is_dir():
            remove(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest, follow_symlinks=False)


def remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
