"""The root fields (`dag.container()`, `dag.host()` ...), the `Host` fields, and IDs: every
value's `id` (or `sync`) and the `load...FromID` and `node` fields that give it back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from acme_ci.rehearsal.evaluator.values import CacheVolume, Container, Host, Secret
from acme_ci.rehearsal.ignore import PathFilter

if TYPE_CHECKING:
    from acme_ci.rehearsal.evaluator.handlers import Arguments, Evaluation, FieldHandler
    from acme_ci.rehearsal.evaluator.values import Directory, File, Query


async def container(_: Evaluation, __: Query, ___: Arguments) -> Container:
    return Container()


async def host(_: Evaluation, __: Query, ___: Arguments) -> Host:
    return Host()


async def cache_volume(_: Evaluation, __: Query, arguments: Arguments) -> CacheVolume:
    return CacheVolume(arguments["key"])


async def set_secret(_: Evaluation, __: Query, arguments: Arguments) -> Secret:
    return Secret(arguments["name"], arguments["plaintext"])


async def load(evaluator: Evaluation, _: Query, arguments: Arguments) -> object:
    return evaluator.load(arguments["id"])


async def identify(evaluator: Evaluation, value: object, _: Arguments) -> str:
    """`id` or `sync` of any value: an ID that `load...FromID` and `node` give back."""
    return evaluator.register(value)


async def host_directory(evaluator: Evaluation, _: Host, arguments: Arguments) -> Directory:
    path_filter = PathFilter.of(arguments.get("exclude"), arguments.get("include"))
    return evaluator.file_systems.host_directory(arguments["path"], path_filter)


async def host_file(evaluator: Evaluation, _: Host, arguments: Arguments) -> File:
    path = Path(arguments["path"])
    parent = evaluator.file_systems.host_directory(str(path.parent), PathFilter())
    return evaluator.file_systems.file_in(parent, path.name)


QUERY_FIELDS: dict[str, FieldHandler] = {
    "container": container,
    "host": host,
    "cacheVolume": cache_volume,
    "setSecret": set_secret,
    "node": load,
    "loadContainerFromID": load,
    "loadDirectoryFromID": load,
    "loadFileFromID": load,
}


async def secret_plaintext(_: Evaluation, secret: Secret, __: Arguments) -> str:
    return secret.plaintext


async def secret_name(_: Evaluation, secret: Secret, __: Arguments) -> str:
    return secret.name


HOST_FIELDS: dict[str, FieldHandler] = {"directory": host_directory, "file": host_file}
# A service, a secret or a cache volume is only ever passed on by its ID.
ID_FIELDS: dict[str, FieldHandler] = {"id": identify}
# What a module may read of a secret: its value (to check it is not empty) and its name.
SECRET_FIELDS: dict[str, FieldHandler] = {
    "id": identify,
    "plaintext": secret_plaintext,
    "name": secret_name,
}
