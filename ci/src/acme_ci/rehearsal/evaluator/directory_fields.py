"""The `Directory` and `File` fields the module selects, one small handler each.

A host directory keeps its filter (exclude/include, anchored at its root) in every listing,
digest and copy; a container's directory is read from its mounted root file system.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from acme_ci.rehearsal import fs
from acme_ci.rehearsal.evaluator.query_fields import identify
from acme_ci.rehearsal.ignore import PathFilter

if TYPE_CHECKING:
    from acme_ci.rehearsal.evaluator.handlers import Arguments, Evaluation, FieldHandler
    from acme_ci.rehearsal.evaluator.values import Directory, File


def filter_of(directory: Directory) -> tuple[PathFilter, str]:
    """The filter a directory's entries pass, and where it sits below the filter's root."""
    if directory.host is not None:
        return directory.filter, directory.subpath
    return PathFilter(), ""


async def subdirectory(_: Evaluation, directory: Directory, arguments: Arguments) -> Directory:
    return directory.below(arguments["path"])


async def file_of(evaluator: Evaluation, directory: Directory, arguments: Arguments) -> File:
    return evaluator.file_systems.file_in(directory, arguments["path"])


async def glob(evaluator: Evaluation, directory: Directory, arguments: Arguments) -> list[str]:
    base = await evaluator.file_systems.directory_path(directory)
    path_filter, prefix = filter_of(directory)
    found = []
    for path in base.glob(arguments["pattern"]):
        relative = path.relative_to(base).as_posix()
        if path_filter.keeps(f"{prefix}/{relative}".strip("/")):
            found.append(relative)
    return sorted(found)


async def entries(evaluator: Evaluation, directory: Directory, arguments: Arguments) -> list[str]:
    base = await evaluator.file_systems.directory_path(directory)
    below = arguments.get("path") or ""
    path_filter, prefix = filter_of(directory)
    prefix = "/".join(p for p in (prefix, below) if p) if directory.host is not None else ""
    return sorted(
        p.name + ("/" if p.is_dir() and not p.is_symlink() else "")
        for p in (base / below).iterdir()
        if path_filter.keeps(f"{prefix}/{p.name}".strip("/"))
    )


async def directory_digest(evaluator: Evaluation, directory: Directory, _: Arguments) -> str:
    base = await evaluator.file_systems.directory_path(directory)
    return "sha256:" + fs.tree_digest(base, *filter_of(directory))


async def export_directory(
    evaluator: Evaluation, directory: Directory, arguments: Arguments
) -> str:
    base = await evaluator.file_systems.directory_path(directory)
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
