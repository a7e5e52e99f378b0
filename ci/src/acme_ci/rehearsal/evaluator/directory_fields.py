"""The `Directory` and `File` fields the module selects, one small handler each.

A host directory keeps its filter (exclude/include, anchored at its root) in every listing,
digest and copy; a container's directory is read from its mounted root file system.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acme_ci.rehearsal import fs
from acme_ci.rehearsal.evaluator.errors import query_error, unmodelled
from acme_ci.rehearsal.evaluator.query_fields import identify
from acme_ci.rehearsal.evaluator.values import Directory, digest_of
from acme_ci.rehearsal.ignore import PathFilter

if TYPE_CHECKING:
    from acme_ci.rehearsal.evaluator.handlers import Arguments, Evaluation, FieldHandler
    from acme_ci.rehearsal.evaluator.values import File


@dataclass(frozen=True, kw_only=True)
class StampedDirectory(Directory):
    """A directory as `withDirectory(owner=, permissions=)` copies it: the same entries, each
    with the copy's owner and mode (fs.Stamp). Its digest says so; its files read as the
    source's (same contents). Copied on into a container, its entries would keep the
    source's modes here: not modelled, the module only digests such a copy."""

    stamp: fs.Stamp


@dataclass(frozen=True, kw_only=True)
class DirectoryWithCopy(Directory):
    """`parent.withDirectory(destination, copy)`, read through `.directory(...)`: below
    `destination` the copy, elsewhere the parent. Reading it whole (its digest, entries...)
    would mix both: not modelled, the module only digests the copy."""

    parent: Directory
    destination: str
    copy: Directory


def filter_of(directory: Directory) -> tuple[PathFilter, str]:
    """The filter a directory's entries pass, and where it sits below the filter's root."""
    if directory.host is not None:
        return directory.filter, directory.subpath
    return PathFilter(), ""


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def beneath(directory: Directory, path: str) -> tuple[Directory, str]:
    """The directory that holds `path` of `directory`, and `path` relative to it: for a
    directory withDirectory wrote into, the copy below its destination, else the parent."""
    if not isinstance(directory, DirectoryWithCopy):
        return directory, path
    wanted, destination = _parts(path), _parts(directory.destination)
    if wanted[: len(destination)] == destination:
        return directory.copy, "/".join(wanted[len(destination) :])
    if destination[: len(wanted)] == wanted:
        raise unmodelled("Directory", f"directory({path!r}) (what withDirectory wrote, and more)")
    return directory.parent, path


def whole(directory: Directory, field: str) -> Directory:
    """`directory`, read as a whole by `field`: not modelled after a withDirectory into it."""
    if isinstance(directory, DirectoryWithCopy):
        raise unmodelled("Directory", f"{field} (of a directory withDirectory wrote into)")
    return directory


async def subdirectory(_: Evaluation, directory: Directory, arguments: Arguments) -> Directory:
    holder, path = beneath(directory, arguments["path"])
    return holder.below(path)


def parse_owner(owner: str) -> tuple[int, int]:
    """`UID[:GID]` as the engine reads it (core/directory.go, resolveDirectoryOwner); a name
    needs the destination's /etc/passwd, which a rehearsal directory has not."""
    user, _, group = owner.partition(":")
    if not user.isdigit() or (group and not group.isdigit()):
        raise query_error(f"owner {owner!r}: only numeric UID[:GID] is modelled")
    return int(user), int(group or user)


async def with_directory(
    evaluator: Evaluation, directory: Directory, arguments: Arguments
) -> Directory:
    """The copy, with its owner and mode where given, placed at `path` of `directory`."""
    copy: Directory = await evaluator.value_of(arguments["source"])
    if arguments.get("exclude") or arguments.get("include") or arguments.get("gitignore"):
        raise unmodelled("Directory", "withDirectory with a filter")
    if not _parts(arguments["path"]):  # the copy's entries merged with the parent's
        raise unmodelled("Directory", "withDirectory into the directory's own root")
    owner, permissions = arguments.get("owner") or "", arguments.get("permissions")
    stamp = fs.Stamp(
        parse_owner(owner) if owner else None,
        permissions & 0o7777 if permissions is not None else None,
    )
    if stamp != fs.KEPT:
        fields = {**_fields(copy), "digest": digest_of(copy.digest, "stamp", stamp)}
        copy = StampedDirectory(**fields, stamp=stamp)
    digest = digest_of(directory.digest, "withDirectory", arguments["path"], copy.digest, stamp)
    return DirectoryWithCopy(
        **{**_fields(directory), "digest": digest},
        parent=directory,
        destination=arguments["path"],
        copy=copy,
    )


def _fields(directory: Directory) -> dict[str, Any]:
    """The fields every Directory has, to make one of its kinds from another."""
    return {f.name: getattr(directory, f.name) for f in dataclasses.fields(Directory)}


async def file_of(evaluator: Evaluation, directory: Directory, arguments: Arguments) -> File:
    return evaluator.file_systems.file_in(*beneath(directory, arguments["path"]))


async def glob(evaluator: Evaluation, directory: Directory, arguments: Arguments) -> list[str]:
    base = await evaluator.file_systems.directory_path(whole(directory, "glob"))
    path_filter, prefix = filter_of(directory)
    found = []
    for path in base.glob(arguments["pattern"]):
        relative = path.relative_to(base).as_posix()
        if path_filter.keeps(f"{prefix}/{relative}".strip("/")):
            found.append(relative)
    return sorted(found)


async def entries(evaluator: Evaluation, directory: Directory, arguments: Arguments) -> list[str]:
    base = await evaluator.file_systems.directory_path(whole(directory, "entries"))
    below = arguments.get("path") or ""
    path_filter, prefix = filter_of(directory)
    prefix = "/".join(p for p in (prefix, below) if p) if directory.host is not None else ""
    return sorted(
        p.name + ("/" if p.is_dir() and not p.is_symlink() else "")
        for p in (base / below).iterdir()
        if path_filter.keeps(f"{prefix}/{p.name}".strip("/"))
    )


async def directory_digest(evaluator: Evaluation, directory: Directory, _: Arguments) -> str:
    base = await evaluator.file_systems.directory_path(whole(directory, "digest"))
    stamp = directory.stamp if isinstance(directory, StampedDirectory) else fs.KEPT
    return "sha256:" + fs.tree_digest(base, *filter_of(directory), stamp=stamp)


async def export_directory(
    evaluator: Evaluation, directory: Directory, arguments: Arguments
) -> str:
    base = await evaluator.file_systems.directory_path(whole(directory, "export"))
    out = Path(arguments["path"])
    for relative, source in fs.walk(base, *filter_of(directory)):
        fs.copy_entry(source, out / relative)
    return str(out)


async def contents(evaluator: Evaluation, file: File, _: Arguments) -> str:
    path = await evaluator.file_systems.file_path(file)
    return path.read_text(encoding="utf-8", errors="replace")


async def export_file(evaluator: Evaluation, file: File, arguments: Arguments) -> str:
    shutil.copy2(await evaluator.file_systems.file_path(file), arguments["path"])
    path: str = arguments["path"]
    return path


async def size(evaluator: Evaluation, file: File, _: Arguments) -> int:
    return (await evaluator.file_systems.file_path(file)).stat().st_size


async def file_digest(evaluator: Evaluation, file: File, _: Arguments) -> str:
    return "sha256:" + fs.file_digest(await evaluator.file_systems.file_path(file))


async def name(_: Evaluation, file: File, __: Arguments) -> str:
    return file.path.rsplit("/", 1)[-1]


DIRECTORY_FIELDS: dict[str, FieldHandler] = {
    "directory": subdirectory,
    "file": file_of,
    "glob": glob,
    "entries": entries,
    "digest": directory_digest,
    "withDirectory": with_directory,
    "export": export_directory,
    "id": identify,
    "sync": identify,
}
FILE_FIELDS: dict[str, FieldHandler] = {
    "contents": contents,
    "export": export_file,
    "id": identify,
    "sync": identify,
    "size": size,
    "digest": file_digest,
    "name": name,
}
