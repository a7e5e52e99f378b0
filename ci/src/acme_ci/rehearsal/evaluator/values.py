"""What the rehearsal engine evaluates a lazy Dagger query to: containers, directories, files,
services, secrets and cache volumes, each with a content digest (the engine's cache key)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Literal

from acme_ci.rehearsal.ignore import PathFilter


def digest_of(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


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
class Dir:
    """A directory: below a host path (filtered), or below a path of a container's rootfs."""

    host: str | None
    ctr: Ctr | None
    root: str
    filter: PathFilter
    sub: str
    digest: str

    def below(self, path: str) -> Dir:
        sub = "/".join(p for p in (self.sub, path.strip("/")) if p and p != ".")
        return replace(self, sub=sub, digest=digest_of(self.digest, "directory", path))


@dataclass(frozen=True)
class File:
    dir: Dir
    path: str
    digest: str


@dataclass(frozen=True)
class CopyFile:
    dest: str
    file: File
    permissions: int | None


@dataclass(frozen=True)
class CopyDir:
    dest: str
    dir: Dir
    filter: PathFilter


@dataclass(frozen=True)
class NewFile:
    dest: str
    contents: bytes = field(repr=False)
    permissions: int


@dataclass(frozen=True)
class Remove:
    path: str


Op = CopyFile | CopyDir | NewFile | Remove
Expect = Literal["SUCCESS", "FAILURE", "ANY"]


@dataclass(frozen=True)
class Ctr:
    """A container: its root file system (a layer plus pending file operations) and config."""

    ref: str = ""
    layer: Layer | None = None
    ops: tuple[Op, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    secrets: tuple[tuple[str, Secret], ...] = ()
    workdir: str = "/"
    entrypoint: tuple[str, ...] = ()
    default_args: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    mounts: tuple[tuple[str, str], ...] = ()
    bindings: tuple[tuple[str, Svc], ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()
    auth: tuple[tuple[str, str, Secret], ...] = ()
    last: ExecResult | None = None
    digest: str = digest_of("scratch")

    def then(self, *op: object, **changes: object) -> Ctr:
        """This container after one more operation (its digest chains the operation in)."""
        return replace(self, digest=digest_of(self.digest, *op), **changes)  # type: ignore[arg-type]

    def with_env(self, name: str, value: str) -> Ctr:
        env = (*tuple((k, v) for k, v in self.env if k != name), (name, value))
        return self.then("env", name, value, env=env)


@dataclass(frozen=True)
class Svc:
    """A container run as a service: its command and the ports it must open."""

    ctr: Ctr
    argv: tuple[str, ...]
    digest: str
