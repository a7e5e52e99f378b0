"""Find the workspace root and read the members' manifests from the file system."""

from __future__ import annotations

import tomllib
from pathlib import Path

from acme_ci.core.workspace import Workspace, WorkspaceError, member_patterns, parse_workspace


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` whose pyproject.toml declares a uv workspace."""
    for directory in (start.resolve(), *start.resolve().parents):
        manifest = directory / "pyproject.toml"
        if manifest.is_file():
            try:
                data = tomllib.loads(manifest.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError:
                continue
            if "workspace" in data.get("tool", {}).get("uv", {}):
                return directory
    raise WorkspaceError(
        f"no uv workspace found at or above {start}: run acme-ci inside the repository"
    )


def load_workspace(root: Path) -> Workspace:
    """Expand the member globs under `root` and parse every member's pyproject.toml."""
    patterns = member_patterns((root / "pyproject.toml").read_text(encoding="utf-8"))
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
    return parse_workspace(manifests)
