"""Affected selection: which packages a set of changed files puts in the plan, and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from acme_ci.core.workspace import Workspace, normalize_name

# Root files every package is built and tested with: a change to them can break any package.
ROOT_FILES_SELECTING_ALL = frozenset(
    {"uv.lock", "pyproject.toml", ".python-version", "ruff.toml", ".ruff.toml"}
)


class SelectionError(Exception):
    """The user asked for a package the workspace does not have."""


@dataclass(frozen=True)
class Selection:
    """The selected packages, each with the reasons it was selected."""

    reasons: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    note: str = ""
    ignored_files: tuple[str, ...] = ()

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(sorted(self.reasons))


def select_all(ws: Workspace, reason: str = "--all") -> Selection:
    """Every package, for `reason`."""
    return Selection({name: (reason,) for name in ws.names}, note=f"all packages: {reason}")


def select_packages(ws: Workspace, names: Iterable[str]) -> Selection:
    """Exactly the named packages (no dependents: the user asked for these)."""
    wanted = [normalize_name(n) for n in names]
    unknown = sorted(set(wanted) - set(ws.names))
    if unknown:
        raise SelectionError(
            f"unknown package(s): {', '.join(unknown)}; known packages: {', '.join(ws.names)}"
        )
    return Selection({name: ("--package",) for name in sorted(set(wanted))}, note="--package")


def select_affected(ws: Workspace, changed_files: Iterable[str]) -> Selection:
    """Packages owning a changed file, plus their transitive dependents."""
    reasons: dict[str, list[str]] = {}
    ignored: list[str] = []
    selects_all: list[str] = []
    for path in sorted(set(changed_files)):
        owner = ws.owner_of(path)
        if owner is not None:
            reasons.setdefault(owner.name, []).append(f"changed: {path}")
        elif path in ROOT_FILES_SELECTING_ALL:
            selects_all.append(path)
        else:
            ignored.append(path)
    for path in selects_all:
        for name in ws.names:
            reasons.setdefault(name, []).append(f"root file changed: {path}")
    changed = set(reasons)
    for name in sorted(ws.dependents_closure(changed) - changed):
        via = sorted(changed.intersection(ws.dependencies_closure(name)))
        reasons[name] = [f"depends on {dep}" for dep in via]
    note = _note(len(reasons), len(ws.packages), ignored)
    return Selection(
        {name: tuple(r) for name, r in sorted(reasons.items())},
        note=note,
        ignored_files=tuple(ignored),
    )


def _note(selected: int, total: int, ignored: list[str]) -> str:
    text = f"{selected} of {total} packages affected"
    if ignored:
        kinds = sorted({PurePosixPath(p).suffix or PurePosixPath(p).name for p in ignored})
        text += (
            f"; {len(ignored)} changed file(s) outside every package select nothing"
            f" ({', '.join(kinds)})"
        )
    return text
