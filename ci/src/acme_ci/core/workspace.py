"""The workspace model: packages, their `[tool.acme]` settings and the internal dependency graph.

Pure: callers read the manifests and pass their text in (and, if they like, the TOML parser:
`loads`, tomllib's by default; the native shell remembers its answers).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("library", "service", "tool")

# TOML text to its data; raises ValueError (tomllib.TOMLDecodeError is one) on bad TOML.
TomlLoads = Callable[[str], Mapping[str, Any]]

# A PEP 508 requirement's name ends at the first extra, version, marker or URL character.
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class WorkspaceError(Exception):
    """The workspace manifests are inconsistent (cycle, missing member, bad settings)."""


@dataclass(frozen=True)
class PackageSettings:
    """A package's `[tool.acme]` table, with defaults filled in."""

    kind: str = "library"
    max_suite_reruns: int = 0
    test_services: tuple[str, ...] = ()
    service_app: str | None = None
    service_port: int | None = None
    service_script: str | None = None
    # The package declares an architecture contract (`[tool.importlinter]`): lint checks it.
    import_contracts: bool = False
    # The package configures pyright (`[tool.pyright]`): lint runs it on what that includes.
    pyright: bool = False
    # `[tool.acme.lint] workflows`: a directory of GitHub Actions workflows the package's lint
    # audits with zizmor, relative to the workspace root (the manifest says it relative to
    # the package, as other tools' paths are).
    workflows: str | None = None


@dataclass(frozen=True)
class Package:
    """One workspace member."""

    name: str
    path: str
    import_name: str
    dependencies: tuple[str, ...]
    settings: PackageSettings
    version: str = "0.0.0"
    scripts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workspace:
    """All members, sorted by name, with their internal dependency edges."""

    packages: tuple[Package, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.packages)

    def get(self, name: str) -> Package:
        """The package called `name`; KeyError naming the known packages otherwise."""
        for package in self.packages:
            if package.name == normalize_name(name):
                return package
        raise KeyError(f"unknown package {name!r}; known packages: {', '.join(self.names)}")

    def owner_of(self, path: str) -> Package | None:
        """The package whose directory contains the root-relative `path`, if any."""
        owners = [p for p in self.packages if path == p.path or path.startswith(p.path + "/")]
        # The innermost directory wins should members ever nest.
        return max(owners, key=lambda p: len(p.path), default=None)

    def dependents_closure(self, names: Iterable[str]) -> frozenset[str]:
        """`names` plus every package that depends on one of them, transitively."""
        result = {normalize_name(n) for n in names}
        changed = True
        while changed:
            changed = False
            for package in self.packages:
                if package.name not in result and result.intersection(package.dependencies):
                    result.add(package.name)
                    changed = True
        return frozenset(result)

    def dependencies_closure(self, name: str) -> tuple[str, ...]:
        """The transitive internal dependencies of `name` (without itself), sorted."""
        seen: set[str] = set()
        stack = list(self.get(name).dependencies)
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self.get(current).dependencies)
        return tuple(sorted(seen))


def normalize_name(name: str) -> str:
    """PEP 503 normalisation, so `Acme_Logger` and `acme-logger` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def toml_loads(text: str) -> Mapping[str, Any]:
    """tomllib's parser, imported when first needed (a remembered answer needs none)."""
    import tomllib

    return tomllib.loads(text)


def member_patterns(root_manifest_text: str, loads: TomlLoads = toml_loads) -> tuple[str, ...]:
    """The `[tool.uv.workspace] members` globs of the root pyproject.toml."""
    data = loads(root_manifest_text)
    members = data.get("tool", {}).get("uv", {}).get("workspace", {}).get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise WorkspaceError("root pyproject.toml: [tool.uv.workspace] members must be strings")
    return tuple(members)


def parse_workspace(manifests: Mapping[str, str], loads: TomlLoads = toml_loads) -> Workspace:
    """Build the workspace from `{member dir: pyproject.toml text}`; validate the graph."""
    raw: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for path, text in manifests.items():
        try:
            data = loads(text)
        except ValueError as error:
            raise WorkspaceError(f"{path}/pyproject.toml is not valid TOML: {error}") from error
        project = data.get("project")
        if not isinstance(project, dict) or not isinstance(project.get("name"), str):
            raise WorkspaceError(f"{path}/pyproject.toml has no [project] name")
        name = normalize_name(project["name"])
        if name in raw:
            raise WorkspaceError(f"package {name} is declared twice: {raw[name][0]} and {path}")
        raw[name] = (path.strip("/") or ".", data)

    packages = [_package(name, path, data, frozenset(raw)) for name, (path, data) in raw.items()]
    workspace = Workspace(tuple(sorted(packages, key=lambda p: p.name)))
    _check_acyclic(workspace)
    return workspace


def _package(name: str, path: str, data: Mapping[str, Any], members: frozenset[str]) -> Package:
    project = data["project"]
    requirements = project.get("dependencies", [])
    sources = data.get("tool", {}).get("uv", {}).get("sources", {})
    workspace_sources = {
        normalize_name(dep)
        for dep, source in sources.items()
        if isinstance(source, dict) and source.get("workspace") is True
    }
    dependencies: set[str] = set()
    for requirement in requirements:
        match = _REQUIREMENT_NAME.match(requirement)
        if match is None:
            raise WorkspaceError(f"{name}: cannot read dependency {requirement!r}")
        dep = normalize_name(match.group(1))
        if dep in members:
            dependencies.add(dep)
    missing = sorted(workspace_sources - members)
    if missing:
        raise WorkspaceError(
            f"{name} depends on {', '.join(missing)} as a workspace member, but no member "
            f"declares that name; add the package to the workspace or fix the dependency"
        )
    if name in dependencies:
        raise WorkspaceError(f"dependency cycle: {name} -> {name}")
    scripts = project.get("scripts", {})
    return Package(
        name=name,
        path=path,
        import_name=name.replace("-", "_"),
        dependencies=tuple(sorted(dependencies)),
        settings=_settings(
            name,
            path,
            data.get("tool", {}).get("acme", {}),
            import_contracts="importlinter" in data.get("tool", {}),
            pyright="pyright" in data.get("tool", {}),
        ),
        version=str(project.get("version", "0.0.0")),
        scripts=tuple(sorted(scripts)) if isinstance(scripts, dict) else (),
    )


def _settings(
    name: str, path: str, table: Any, *, import_contracts: bool, pyright: bool
) -> PackageSettings:
    if not isinstance(table, dict):
        raise WorkspaceError(f"{name}: [tool.acme] must be a table")
    test = table.get("test", {})
    service = table.get("service", {})
    kind = table.get("kind", "library")
    if kind not in KINDS:
        raise WorkspaceError(f"{name}: [tool.acme] kind must be one of {', '.join(KINDS)}")
    reruns = test.get("max-suite-reruns", 0)
    if not isinstance(reruns, int) or isinstance(reruns, bool) or reruns < 0:
        raise WorkspaceError(f"{name}: [tool.acme.test] max-suite-reruns must be an int >= 0")
    services = test.get("services", [])
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        raise WorkspaceError(f"{name}: [tool.acme.test] services must be a list of strings")
    port = service.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
        raise WorkspaceError(f"{name}: [tool.acme.service] port must be an integer")
    return PackageSettings(
        kind=kind,
        max_suite_reruns=reruns,
        test_services=tuple(services),
        service_app=service.get("app"),
        service_port=port,
        service_script=service.get("script"),
        import_contracts=import_contracts,
        pyright=pyright,
        workflows=_workflows(name, path, table.get("lint", {})),
    )


def _workflows(name: str, path: str, lint: Any) -> str | None:
    """`[tool.acme.lint] workflows`, from the package's directory to the root's."""
    if not isinstance(lint, dict):
        raise WorkspaceError(f"{name}: [tool.acme.lint] must be a table")
    value = lint.get("workflows")
    if value is None:
        return None
    if not isinstance(value, str) or not value or posixpath.isabs(value):
        raise _outside_the_workspace(name, value)
    root_relative = posixpath.normpath(posixpath.join(path, value))
    if root_relative == ".." or root_relative.startswith("../"):
        raise _outside_the_workspace(name, value)
    return root_relative


def _outside_the_workspace(name: str, value: object) -> WorkspaceError:
    return WorkspaceError(
        f"{name}: [tool.acme.lint] workflows must be a directory inside the workspace, "
        f'relative to the package (e.g. "../.github/workflows"); got {value!r}'
    )


def _check_acyclic(workspace: Workspace) -> None:
    """Raise WorkspaceError naming the packages of the first cycle found."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in workspace.get(name).dependencies:
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                raise WorkspaceError(f"dependency cycle: {' -> '.join(cycle)}")
            if dep not in state:
                visit(dep)
        path.pop()
        state[name] = 2

    for package in workspace.packages:
        if package.name not in state:
            visit(package.name)
