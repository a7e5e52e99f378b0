"""What the evaluator evaluates a lazy Dagger query to: containers, directories, files,
services, secrets and cache volumes, each with a content digest (the Dagger engine's cache key).

Each class is named after the GraphQL type it stands for, so an unmodelled field is reported
as the engine's schema names it (`Container.withFoo`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from acme_ci.rehearsal.ignore import PathFilter


def digest_of(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Query:
    """`dag`: the root every chain of selections starts from."""


@dataclass(frozen=True)
class Secret:
    """A secret's plaintext never appears in a repr, a digest or a log."""

    name: str
    plaintext: str = field(repr=False)

    @property
    def digest(self) -> str:
        return digest_of("secret", self.name, hashlib.sha256(self.plaintext.encode()).hexdigest())


@dataclass(frozen=True)
class CacheVolume:
    key: str


@dataclass(frozen=True)
class Host:
    """`dag.host()`: the machine the rehearsal runs on."""


@dataclass(eq=False)
class Layer:
    """A root file system: a committed image, or the stopped container of an exec (committed
    only when something builds on it)."""

    image: str | None = None
    container: str | None = None


@dataclass(frozen=True)
class ExecResult:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Directory:
    """A directory: below a host path (filtered), or below a path of a container's rootfs."""

    host: str | None
    container: Container | None
    root: str
    filter: PathFilter
    subpath: str
    digest: str

    def below(self, path: str) -> Directory:
        subpath = "/".join(p for p in (self.subpath, path.strip("/")) if p and p != ".")
        return replace(self, subpath=subpath, digest=digest_of(self.digest, "directory", path))


@dataclass(frozen=True)
class File:
    directory: Directory
    path: str
    digest: str


@dataclass(frozen=True)
class CopyFile:
    destination: str
    file: File
    permissions: int | None


@dataclass(frozen=True)
class CopyDirectory:
    destination: str
    directory: Directory
    filter: PathFilter


@dataclass(frozen=True)
class NewFile:
    destination: str
    contents: bytes = field(repr=False)
    permissions: int


@dataclass(frozen=True)
class Remove:
    path: str


FileOperation = CopyFile | CopyDirectory | NewFile | Remove
Expect = Literal["SUCCESS", "FAILURE", "ANY"]


@dataclass(frozen=True)
class Container:
    """A container: its root file system (a layer plus pending file operations) and config."""

    ref: str = ""
    layer: Layer | None = None
    file_operations: tuple[FileOperation, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    secrets: tuple[tuple[str, Secret], ...] = ()
    workdir: str = "/"
    entrypoint: tuple[str, ...] = ()
    default_args: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    mounts: tuple[tuple[str, str], ...] = ()
    bindings: tuple[tuple[str, Service], ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()
    auth: tuple[tuple[str, str, Secret], ...] = ()
    last: ExecResult | None = None
    digest: str = digest_of("scratch")

    def then(self, *operation: object, **changes: object) -> Container:
        """This container after one more operation (its digest chains the operation in)."""
        return replace(self, digest=digest_of(self.digest, *operation), **changes)  # type: ignore[arg-type]

    def with_env(self, name: str, value: str) -> Container:
        env = (*tuple((k, v) for k, v in self.env if k != name), (name, value))
        return self.then("env", name, value, env=env)

    def absolute(self, path: str) -> str:
        """`path` made absolute against the working directory, as the engine resolves it."""
        return path if path.startswith("/") else f"{self.workdir.rstrip('/')}/{path}"


@dataclass(frozen=True)
class Service:
    """A container run as a service: its command and the ports it must open."""

    container: Container
    argv: tuple[str, ...]
    digest: str


@dataclass(frozen=True)
class Call:
    """One selection on a definition: its field and arguments (definitions evaluated)."""

    field: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Definition:
    """What the SDK builds at registration (a Module, TypeDef, Function...): the calls that
    made it, in order, as the engine would receive them."""

    type_name: str
    calls: tuple[Call, ...] = ()

    def then(self, name: str, args: Mapping[str, Any]) -> Definition:
        return replace(self, calls=(*self.calls, Call(name, dict(args))))

    def each(self, name: str) -> list[Mapping[str, Any]]:
        """The arguments of every call of field `name`, in order."""
        return [call.args for call in self.calls if call.field == name]
