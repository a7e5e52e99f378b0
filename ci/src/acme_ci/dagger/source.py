"""The Dagger shell's inputs: the workspace and the changed files, read through the Dagger API."""

from __future__ import annotations

import anyio
import dagger

from acme_ci.core import changes
from acme_ci.core.affected import Selection, select_affected, select_all
from acme_ci.core.workspace import Workspace, WorkspaceError, member_patterns, parse_workspace
from acme_ci.dagger.containers import git_container

# DefaultPath("/") does not apply .gitignore: these mirror it. They are .dockerignore
# patterns (moby patternmatcher, anchored at the root): what .gitignore matches at any depth
# (`var/`, `dist/`...) needs `**/` here. .git stays in: affected selection runs git over the
# source. tests/test_dagger_ignore.py checks them against git's own verdict.
SOURCE_IGNORE = [
    "**/.venv",
    "**/.acme",
    "**/var",
    "**/dist",
    "**/build",
    "ci/sdk",
    "**/mutants",
    "**/__pycache__",
    "**/*.pyc",
    "**/.pytest_cache",
    "**/.mypy_cache",
    "**/.ruff_cache",
    "**/.hypothesis",
    "**/*.egg-info",
]

GIT = ("git", "-c", "safe.directory=*")


class UnknownBaseError(Exception):
    """The base ref is not a commit in the source's git history."""


async def read_workspace(source: dagger.Directory) -> Workspace:
    """Expand the root's member globs in `source` and parse every member manifest."""
    patterns = member_patterns(await source.file("pyproject.toml").contents())
    manifest_paths: set[str] = set()
    for pattern in patterns:
        manifest_paths.update(await source.glob(f"{pattern.rstrip('/')}/pyproject.toml"))
    if not manifest_paths:
        raise WorkspaceError("pyproject.toml: no workspace member has a pyproject.toml")
    manifests: dict[str, str] = {}

    async def read(path: str) -> None:
        manifests[path.removesuffix("/pyproject.toml")] = await source.file(path).contents()

    async with anyio.create_task_group() as tg:
        for path in sorted(manifest_paths):
            tg.start_soon(read, path)
    return parse_workspace(dict(sorted(manifests.items())))


async def changed_files(source: dagger.Directory, base: str) -> tuple[str, ...]:
    """Files changed since `base` (merge-base diff) plus uncommitted: the native shell's
    questions (acme_ci.core.changes), asked in a git container."""
    git = git_container(source)
    known = git.with_exec([*GIT, *changes.verify_ref(base)], expect=dagger.ReturnType.ANY)
    if await known.exit_code() != 0:
        raise UnknownBaseError(changes.unknown_ref_message(base, "the source directory"))
    questions = (changes.diff_since(base), changes.UNCOMMITTED, changes.UNTRACKED)
    answers = [await git.with_exec([*GIT, *question]).stdout() for question in questions]
    return changes.changed_paths(*answers)


async def select(ws: Workspace, source: dagger.Directory, base: str, all_: bool) -> Selection:
    """--all, else the packages affected since `base`, else (no base) everything; an unknown
    base is an error, as in the native shell (never a silent full run)."""
    if all_:
        return select_all(ws, "--all")
    if not base:
        return select_all(ws, "no --base given: all packages")
    return select_affected(ws, await changed_files(source, base))
