"""Everything the evaluator makes on podman and on disk, owned in one place: containers,
networks, images, mounts, podman secrets, temporary directories, and the background work
that stops services late; `close()` removes all of it (kept layers and stand-ins stay).

Every image committed here carries this run's tag until close: the evaluator remembers
images by id across calls, and podman's `rmi` also removes the untagged parents it leaves
dangling (publish's pushed image and a pulled-back image removed the container's own image
that way, so a later publish of the same container found "image not known")."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVarTuple

import anyio
import anyio.abc

from acme_ci.rehearsal.evaluator.values import Secret
from acme_ci.rehearsal.podman import Podman, entrypoint_flag

WorkArguments = TypeVarTuple("WorkArguments")
# This run's images: `localhost/acme-rehearsal/run-<run id>:<n>`.
RUN_TAG = "localhost/acme-rehearsal/run"
# How long podman gives a running container (a service) to stop before killing it.
STOP_SECONDS = "2"


class Resources:
    """Creates podman objects under this run's names, and removes them when closed."""

    def __init__(self, podman: Podman) -> None:
        self.podman = podman
        self.run_id = uuid.uuid4().hex[:8]
        self.shared_network_name = f"acme-reh-{self.run_id}"
        self._shared_network_made = False
        self._shared_network_lock = anyio.Lock()
        self._containers: dict[str, None] = {}  # in creation order
        self._networks: list[str] = []
        self._image_tags: list[str] = []  # in creation order
        self._mounted_containers: dict[str, Path] = {}
        self._mounted_images: dict[str, Path] = {}
        self._background: anyio.abc.TaskGroup | None = None

    def name(self, kind: str) -> str:
        return f"acme-reh-{self.run_id}-{kind}-{uuid.uuid4().hex[:8]}"

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Background work may start while the block runs; everything is removed after it."""
        try:
            async with anyio.create_task_group() as background:
                self._background = background
                yield
                background.cancel_scope.cancel()
        finally:
            self._background = None
            with anyio.CancelScope(shield=True):
                await self.close()

    def start_soon(
        self,
        work: Callable[[*WorkArguments], Coroutine[Any, Any, object]],
        *args: *WorkArguments,
    ) -> None:
        """`work` in the background while `held`; outside it, close() does the work's job."""
        if self._background is not None:
            self._background.start_soon(work, *args)

    # ------------------------------------------------------------------ containers

    async def create_container(
        self, kind: str, image: str, argv: Sequence[str], *flags: str
    ) -> str:
        """A created (not started) container of `image` whose whole command is `argv`."""
        name = self.name(kind)
        await self.podman("create", "--name", name, *flags, entrypoint_flag(argv), image)
        self._containers[name] = None
        return name

    async def remove_container(self, name: str) -> None:
        self._mounted_containers.pop(name, None)
        self._containers.pop(name, None)
        await self.podman("rm", "--force", "--time", STOP_SECONDS, name, check=False)

    async def mount_container(self, name: str) -> Path:
        if name not in self._mounted_containers:
            path = (await self.podman("mount", name)).stdout.strip()
            self._mounted_containers[name] = Path(path)
        return self._mounted_containers[name]

    async def unmount_container(self, name: str) -> None:
        if self._mounted_containers.pop(name, None) is not None:
            await self.podman("unmount", name, check=False)

    # ------------------------------------------------------------------ images

    async def commit(self, container: str, *changes: str) -> str:
        """The container's file system as an image, tagged as this run's until close (a
        kept layer's own tag then keeps it): its id."""
        flags = [item for change in changes for item in ("--change", change)]
        tag = f"{RUN_TAG}-{self.run_id}:{len(self._image_tags) + 1}"
        done = await self.podman("commit", "--quiet", *flags, container, tag)
        self._image_tags.append(tag)
        return done.stdout.strip()

    async def mount_image(self, image: str) -> Path:
        if image not in self._mounted_images:
            path = (await self.podman("image", "mount", image)).stdout.strip()
            self._mounted_images[image] = Path(path)
        return self._mounted_images[image]

    # ------------------------------------------------------------------ networks, secrets, files

    async def shared_network(self) -> str:
        """The rehearsal's own network (DNS on, egress as the host's): execs without bindings."""
        # Concurrent first callers (two services of one exec) create it once.
        async with self._shared_network_lock:
            if not self._shared_network_made:
                await self.podman("network", "create", self.shared_network_name)
                self._networks.append(self.shared_network_name)
                self._shared_network_made = True
        return self.shared_network_name

    async def private_network(self) -> str:
        """A network of its own, removed at close, after the containers attached to it:
        `network rm --force` would remove a stopped exec container, whose file system is
        the exec's result."""
        network = self.name("net")
        await self.podman("network", "create", network)
        self._networks.append(network)
        return network

    @contextlib.asynccontextmanager
    async def secret_flags(self, secrets: Sequence[tuple[str, Secret]]) -> AsyncIterator[list[str]]:
        """Each secret as a podman secret exposed as an environment variable, for a container
        created in the block: podman never writes it to a config, an image or a log."""
        made: list[str] = []
        flags: list[str] = []
        try:
            for variable, secret in secrets:
                name = self.name("secret")
                await self.podman("secret", "create", name, "-", stdin=secret.plaintext.encode())
                made.append(name)
                flags += ["--secret", f"{name},type=env,target={variable}"]
            yield flags
        finally:
            for name in made:
                await self.podman("secret", "rm", name, check=False)

    @staticmethod
    @contextlib.contextmanager
    def temporary_directory() -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="acme-rehearsal-") as directory:
            yield Path(directory)

    # ------------------------------------------------------------------ clean-up

    async def close(self) -> None:
        """Remove what this run made, containers before the networks they were attached to."""
        for name in list(self._mounted_containers):
            await self.unmount_container(name)
        for image in self._mounted_images:
            await self.podman("image", "unmount", image, check=False)
        self._mounted_images.clear()
        for name in reversed(list(self._containers)):
            await self.podman("rm", "--force", "--time", STOP_SECONDS, name, check=False)
        self._containers.clear()
        for network in self._networks:
            await self.podman("network", "rm", "--force", network, check=False)
        self._networks.clear()
        # One call, newest first: podman untags every run tag, removes each image left without
        # a tag and child, and goes on past errors. Kept layers keep their layer tag; a parent
        # of one stays, untagged, until that layer goes.
        if self._image_tags:
            await self.podman("image", "rm", *reversed(self._image_tags), check=False)
        self._image_tags.clear()
