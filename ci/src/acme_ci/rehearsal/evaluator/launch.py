"""A `Container` value as a podman container: its config as flags, its secrets as podman
secrets, its working directory made; shared by execs, services and publish."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Sequence

from acme_ci.rehearsal import fs
from acme_ci.rehearsal.evaluator.resources import Resources
from acme_ci.rehearsal.evaluator.values import Container
from acme_ci.rehearsal.podman import LIMITS


def references(value: str, alias: str) -> bool:
    """Whether an environment value points at host `alias` (alias:port, //alias, @alias)."""
    return re.search(rf"(^|[/@,=]){re.escape(alias)}(:\d+|/|$|,)", value) is not None


def visible_env(container: Container) -> list[tuple[str, str]]:
    """The container's variables, less those that point at a dropped (unrehearsable) service."""
    return [
        (name, value)
        for name, value in container.env
        if not any(references(value, alias) for alias, _ in container.dropped)
    ]


def volume_name(key: str) -> str:
    """The podman volume of a cache volume key: kept between rehearsals, like the engine's."""
    return "acme-rehearsal-cache-" + re.sub(r"[^A-Za-z0-9_.-]", "_", key)


def config_flags(container: Container) -> list[str]:
    flags = ["--workdir", container.workdir or "/"]
    for name, value in visible_env(container):
        flags += ["--env", f"{name}={value}"]
    for path, key in container.mounts:
        flags += ["--volume", f"{volume_name(key)}:{path}"]
    return flags


@contextlib.asynccontextmanager
async def created(
    resources: Resources,
    kind: str,
    container: Container,
    argv: Sequence[str],
    image: str,
    network: str,
) -> AsyncIterator[str]:
    """A created podman container of `container` running `argv` on `network`, for the block
    to start: its secrets exist only until the block ends."""
    async with resources.secret_flags(container.secrets) as secret_flags:
        flags = [*LIMITS, "--network", network, *secret_flags, *config_flags(container)]
        name = await resources.create_container(kind, image, argv, *flags)
        await make_workdir(resources, name, container.workdir)
        yield name


async def make_workdir(resources: Resources, name: str, workdir: str) -> None:
    """Create the working directory if the file system lacks it, as the engine's exec does
    (podman refuses a --workdir that does not exist)."""
    if workdir in ("", "/"):
        return
    root = await resources.mount_container(name)
    try:
        fs.inside(root, workdir).mkdir(parents=True, exist_ok=True)
    finally:
        await resources.unmount_container(name)
