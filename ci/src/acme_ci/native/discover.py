"""Find the workspace root and read the members' manifests from the file system."""

from __future__ import annotations

from pathlib import Path

from acme_ci.core.workspace import Workspace, WorkspaceError, member_patterns, parse_workspace
from acme_ci.native.toml_memo import MEMO_DIR, TomlMemo

STATE_DIR = ".acme"  # the pipeline's own state: caches, logs, records


def memo_for(root: Path, *, remember: bool = True) -> TomlMemo:
    """The workspace's TOML memo (.acme/toml/)."""
    return TomlMemo(root / STATE_DIR / MEMO_DIR, remember=remember)


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` whose pyproject.toml declares a uv workspace."""
    for directory in (start.resolve(), *start.resolve().parents):
        manifest = directory / "pyproject.toml"
        if manifest.is_file():
            text = manifest.read_text(encoding="utf-8")
            if "workspace" not in text:
                continue  # cannot declare [tool.uv.workspace]: no need to parse it
            # Only a root keeps a memo: a member's manifest is read, never remembered.
            memo = memo_for(directory, remember=False)
            try:
                data = memo.loads(text)
            except ValueError:
                continue
            if "workspace" in data.get("tool", {}).get("uv", {}):
                memo.keep(text, data)
                return directory
    raise WorkspaceError(
        f"no uv workspace found at or above {start}: run acme-ci inside the repository"
    )


def load_workspace(root: Path) -> Workspace:
    """Expand the member globs under `root` and parse every member's pyproject.toml."""
    memo = memo_for(root)
    patterns = member_patterns((root / "pyproject.toml").read_text(encoding="utf-8"), memo.loads)
    manifests: dict[str, str] = {}
    for pattern in patterns:
        for directory in sorted(root.glob(pattern)):
            manifest = directory / "pyproject.toml"
            if manifest.is_file():
                manifests[directory.relative_to(root).as_posix()] = manifest.read_text(
                    encoding="utf-8"
                )
    if not manifests:
        raise WorkspaceError(f"{root}/pyproject.toml: no workspace member has a pyproject.toml")
    return parse_workspace(manifests, memo.loads)
