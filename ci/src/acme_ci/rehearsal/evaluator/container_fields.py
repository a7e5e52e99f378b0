"""The `Container` fields the module selects, one small handler each.

Building fields (`with...`) return a new `Container` value whose digest chains the change
in; nothing runs until an exec, a file read or a publish needs the file system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acme_ci.rehearsal.evaluator.errors import query_error
from acme_ci.rehearsal.evaluator.interfaces import NoStandInError
from acme_ci.rehearsal.evaluator.query_fields import identify
from acme_ci.rehearsal.evaluator.values import (
    CopyDirectory,
    CopyFile,
    NewFile,
    Remove,
    digest_of,
)
from acme_ci.rehearsal.ignore import PathFilter

if TYPE_CHECKING:
    from acme_ci.rehearsal.evaluator.handlers import Arguments, Evaluation, FieldHandler
    from acme_ci.rehearsal.evaluator.values import Container, Directory, File, Service


async def from_address(evaluator: Evaluation, _: Container, arguments: Arguments) -> Container:
    return await evaluator.file_systems.from_address(arguments["address"])


async def with_file(evaluator: Evaluation, container: Container, arguments: Arguments) -> Container:
    file: File = await evaluator.value_of(arguments["source"])
    path, permissions = arguments["path"], arguments.get("permissions")
    copy = CopyFile(path, file, permissions)
    return container.then(
        "file", path, file.digest, permissions, file_operations=(*container.file_operations, copy)
    )


async def with_directory(
    evaluator: Evaluation, container: Container, arguments: Arguments
) -> Container:
    source: Directory = await evaluator.value_of(arguments["source"])
    path_filter = PathFilter.of(arguments.get("exclude"), arguments.get("include"))
    copy = CopyDirectory(arguments["path"], source, path_filter)
    return container.then(
        "dir",
        arguments["path"],
        source.digest,
        path_filter,
        file_operations=(*container.file_operations, copy),
    )


async def with_new_file(_: Evaluation, container: Container, arguments: Arguments) -> Container:
    contents = arguments.get("contents", "").encode()
    new = NewFile(arguments["path"], contents, arguments.get("permissions", 0o644))
    return container.then(
        "new",
        new.destination,
        digest_of(contents),
        new.permissions,
        file_operations=(*container.file_operations, new),
    )


async def without_path(_: Evaluation, container: Container, arguments: Arguments) -> Container:
    removal = Remove(arguments["path"])
    return container.then("rm", removal.path, file_operations=(*container.file_operations, removal))


async def with_env_variable(_: Evaluation, container: Container, arguments: Arguments) -> Container:
    return container.with_env(arguments["name"], arguments["value"])


async def without_env_variable(
    _: Evaluation, container: Container, arguments: Arguments
) -> Container:
    env = tuple((k, v) for k, v in container.env if k != arguments["name"])
    return container.then("unenv", arguments["name"], env=env)


async def with_secret_variable(
    evaluator: Evaluation, container: Container, arguments: Arguments
) -> Container:
    name = arguments["name"]
    secret = await evaluator.value_of(arguments["secret"])
    secrets = (*((k, s) for k, s in container.secrets if k != name), (name, secret))
    return container.then("secret", name, secret.digest, secrets=secrets)


async def with_mounted_cache(
    evaluator: Evaluation, container: Container, arguments: Arguments
) -> Container:
    path = arguments["path"]
    volume = await evaluator.value_of(arguments["cache"])
    mounts = (*((p, k) for p, k in container.mounts if p != path), (path, volume.key))
    return container.then("cache", path, volume.key, mounts=mounts)


async def with_workdir(_: Evaluation, container: Container, arguments: Arguments) -> Container:
    path = arguments["path"]
    return container.then("workdir", path, workdir=container.absolute(path))


async def with_entrypoint(_: Evaluation, container: Container, arguments: Arguments) -> Container:
    keep = arguments.get("keepDefaultArgs", False)
    return container.then(
        "entrypoint",
        arguments["args"],
        entrypoint=tuple(arguments["args"]),
        default_args=container.default_args if keep else (),
    )


async def with_default_args(_: Evaluation, container: Container, arguments: Arguments) -> Container:
    return container.then("args", arguments["args"], default_args=tuple(arguments["args"]))


async def with_exposed_port(_: Evaluation, container: Container, arguments: Arguments) -> Container:
    ports = (*container.ports, int(arguments["port"]))
    return container.then("port", arguments["port"], ports=ports)


async def with_label(_: Evaluation, container: Container, arguments: Arguments) -> Container:
    name, value = arguments["name"], arguments["value"]
    return container.then("label", name, value, labels=(*container.labels, (name, value)))


async def with_registry_auth(
    evaluator: Evaluation, container: Container, arguments: Arguments
) -> Container:
    secret = await evaluator.value_of(arguments["secret"])
    auth = (*container.auth, (arguments["address"], arguments["username"], secret))
    return container.then("auth", arguments["address"], auth=auth)


async def with_service_binding(
    evaluator: Evaluation, container: Container, arguments: Arguments
) -> Container:
    alias = arguments["alias"]
    try:
        service: Service = await evaluator.value_of(arguments["service"])
    except NoStandInError as missing:
        return evaluator.services.drop(container, alias, missing)
    return evaluator.services.bind(container, alias, service)


async def with_exec(evaluator: Evaluation, container: Container, arguments: Arguments) -> Container:
    return await evaluator.execs.run(container, arguments)


async def as_service(evaluator: Evaluation, container: Container, arguments: Arguments) -> Service:
    return evaluator.services.service_of(
        container, tuple(arguments.get("args") or ()), arguments.get("useEntrypoint", False)
    )


async def directory(evaluator: Evaluation, container: Container, arguments: Arguments) -> Directory:
    return evaluator.file_systems.container_directory(container, arguments["path"])


async def file(evaluator: Evaluation, container: Container, arguments: Arguments) -> File:
    parent, _, name = container.absolute(arguments["path"]).rpartition("/")
    return evaluator.file_systems.file_in(
        evaluator.file_systems.container_directory(container, parent or "/"), name
    )


def last_exec(output: str) -> FieldHandler:
    """`stdout`, `stderr` or `exitCode`: of the container's last exec."""

    async def handler(_: Evaluation, container: Container, __: Arguments) -> Any:
        if container.last is None:
            raise query_error(f"{output}: no command has been executed")
        result = container.last
        return {"stdout": result.stdout, "stderr": result.stderr, "exitCode": result.code}[output]

    return handler


async def publish(evaluator: Evaluation, container: Container, arguments: Arguments) -> str:
    return await evaluator.publisher.publish(container, arguments["address"])


async def env_variable(_: Evaluation, container: Container, arguments: Arguments) -> str | None:
    return dict(container.env).get(arguments["name"])


async def workdir(_: Evaluation, container: Container, __: Arguments) -> str:
    return container.workdir


CONTAINER_FIELDS: dict[str, FieldHandler] = {
    "from": from_address,
    "withFile": with_file,
    "withDirectory": with_directory,
    "withNewFile": with_new_file,
    "withoutDirectory": without_path,
    "withoutFile": without_path,
    "withEnvVariable": with_env_variable,
    "withoutEnvVariable": without_env_variable,
    "withSecretVariable": with_secret_variable,
    "withMountedCache": with_mounted_cache,
    "withWorkdir": with_workdir,
    "withEntrypoint": with_entrypoint,
    "withDefaultArgs": with_default_args,
    "withExposedPort": with_exposed_port,
    "withLabel": with_label,
    "withRegistryAuth": with_registry_auth,
    "withServiceBinding": with_service_binding,
    "withExec": with_exec,
    "asService": as_service,
    "directory": directory,
    "file": file,
    "stdout": last_exec("stdout"),
    "stderr": last_exec("stderr"),
    "exitCode": last_exec("exitCode"),
    "sync": identify,
    "id": identify,
    "publish": publish,
    "envVariable": env_variable,
    "workdir": workdir,
}
