"""Publish: the container committed with its config (env, entrypoint, workdir, ports,
labels) and pushed to the address, with the registry credentials it was given."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from acme_ci.rehearsal.evaluator.errors import query_error
from acme_ci.rehearsal.evaluator.file_systems import FileSystems
from acme_ci.rehearsal.evaluator.interfaces import Report
from acme_ci.rehearsal.evaluator.launch import visible_env
from acme_ci.rehearsal.evaluator.resources import Resources
from acme_ci.rehearsal.evaluator.values import Container
from acme_ci.rehearsal.podman import PodmanError


def config_changes(container: Container) -> list[str]:
    """The container's config as `podman commit --change` instructions."""
    changes = [
        f"WORKDIR {container.workdir}",
        f"ENTRYPOINT {json.dumps(list(container.entrypoint))}",
        f"CMD {json.dumps(list(container.default_args))}",
    ]
    changes += [f"ENV {k}={json.dumps(v)}" for k, v in visible_env(container)]
    changes += [f"EXPOSE {p}" for p in container.ports]
    changes += [f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in container.labels]
    return changes


def auth_file(container: Container, address: str, directory: Path) -> list[str]:
    """`--authfile` flags for the credentials `withRegistryAuth` gave the address's registry."""
    flags: list[str] = []
    for registry, username, secret in container.auth:
        host = registry.split("/")[0]
        if address.startswith(host):
            encoded = base64.b64encode(f"{username}:{secret.plaintext}".encode()).decode()
            path = directory / "auth.json"
            path.write_text(json.dumps({"auths": {host: {"auth": encoded}}}))
            flags += ["--authfile", str(path)]
    return flags


class Publisher:
    """`Container.publish`: pushes to a registry and answers `address@digest`."""

    def __init__(self, resources: Resources, file_systems: FileSystems, report: Report) -> None:
        self._resources = resources
        self._file_systems = file_systems
        self._report = report

    async def publish(self, container: Container, address: str) -> str:
        local = await self._commit(container)
        with self._resources.temporary_directory() as directory:
            digest_file = directory / "digest"
            flags = ["--tls-verify=false", "--digestfile", str(digest_file)]
            flags += auth_file(container, address, directory)
            try:
                await self._resources.podman("push", *flags, local, f"docker://{address}")
            except PodmanError as error:
                raise query_error(f"publish {address}: {error}") from error
            digest = digest_file.read_text().strip()
        self._report(f"rehearsal: published {address}@{digest}")
        return f"{address}@{digest}"

    async def _commit(self, container: Container) -> str:
        """The container as a local image with its config (removed when the evaluator
        closes, as every image it commits): its id."""
        image = await self._file_systems.image(container)
        name = await self._resources.create_container("publish", image, ["true"])
        try:
            return await self._resources.commit(name, *config_changes(container))
        finally:
            await self._resources.remove_container(name)
