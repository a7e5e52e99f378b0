"""`dag.address(value)`: how the dagger CLI turns an object flag into an object.

A flag naming a Directory, File, Secret or Container is loaded from its address
(cmd/dagger/flags.go: `c.Address(v).Directory(exclude: arg.ignore)`, `.Secret()`...). The
engine reads a local path on the client's host (core/schema/address.go), and a secret
through the client's providers (engine/client/secretprovider: `env://NAME` is the CLI's
environment, `file://PATH` a file, `cmd://COMMAND` its standard output under `sh -c`); a bare
name or the legacy `env:NAME` is normalised to `env://NAME` first. The engine reads a
secret's value when the secret is made, to key it; a provider that fails there makes the
engine warn and fail where the value is used, the rehearsal fails at once, naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

import anyio

from acme_ci.rehearsal.evaluator.errors import query_error
from acme_ci.rehearsal.evaluator.values import Secret
from acme_ci.rehearsal.ignore import PathFilter

if TYPE_CHECKING:
    from acme_ci.rehearsal.evaluator.handlers import Arguments, Evaluation, FieldHandler
    from acme_ci.rehearsal.evaluator.values import Container, Directory, File


@dataclass(frozen=True)
class Address:
    value: str


def secret_uri(address: str) -> str:
    """The engine's normalisation (core/schema/address.go, addressSchema.secret), less the
    `cacheKey` query parameter, which only names the cache key."""
    if ":" not in address:
        address = "env://" + address
    scheme, _, rest = address.partition(":")
    if not rest.startswith("//"):
        address = f"{scheme}://{rest}"
    base, has_query, query = address.partition("?")
    if has_query:
        kept = [(k, v) for k, v in parse_qsl(query) if k != "cacheKey"]
        address = f"{base}?{urlencode(kept)}" if kept else base
    return address


async def read_secret(uri: str) -> bytes:
    """The value a client-side provider gives for `uri` (env, file, cmd)."""
    scheme, _, path = uri.partition("://")
    if scheme == "env":
        if path not in os.environ:
            shown = path[:3] + "..." if len(path) >= 4 else path
            raise query_error(f'secret env var not found: "{shown}"')
        return os.environ[path].encode()
    if scheme == "file":
        try:
            return await (await anyio.Path(path).expanduser()).read_bytes()
        except OSError as error:
            raise query_error(f'failed to read secret file "{path}": {error}') from error
    if scheme == "cmd":
        done = await anyio.run_process(["sh", "-c", path], check=False)
        if done.returncode != 0:
            raise query_error(f'failed to run secret command "{path}": exit {done.returncode}')
        return bytes(done.stdout)
    raise query_error(f"the rehearsal does not model the secret provider {scheme!r}")


def local_path(address: str) -> str:
    """A local address as a path on the client's host (`file://` dropped; git URLs are not
    modelled)."""
    scheme, has_scheme, _ = address.partition("://")
    if (has_scheme and scheme != "file") or address.startswith("git@"):
        raise query_error(f"the rehearsal does not model remote addresses ({address})")
    return str(Path(address.removeprefix("file://")).expanduser().resolve())


async def address(_: Evaluation, __: object, arguments: Arguments) -> Address:
    if not arguments["value"]:
        raise query_error("resource cannot have empty address")
    return Address(str(arguments["value"]))


async def directory(evaluator: Evaluation, found: Address, arguments: Arguments) -> Directory:
    path_filter = PathFilter.of(arguments.get("exclude"), arguments.get("include"))
    return evaluator.file_systems.host_directory(local_path(found.value), path_filter)


async def file(evaluator: Evaluation, found: Address, _: Arguments) -> File:
    path = Path(local_path(found.value))
    parent = evaluator.file_systems.host_directory(str(path.parent), PathFilter())
    return evaluator.file_systems.file_in(parent, path.name)


async def secret(_: Evaluation, found: Address, __: Arguments) -> Secret:
    uri = secret_uri(found.value)
    return Secret(uri, (await read_secret(uri)).decode("utf-8", "surrogateescape"))


async def container(evaluator: Evaluation, found: Address, _: Arguments) -> Container:
    return await evaluator.file_systems.from_address(found.value)


ADDRESS_QUERY_FIELDS: dict[str, FieldHandler] = {"address": address}
ADDRESS_FIELDS: dict[str, FieldHandler] = {
    "directory": directory,
    "file": file,
    "secret": secret,
    "container": container,
}
