"""File systems and images: a container's root file system as a podman image (its pending
file operations applied), mounted to be read, and the host paths of directories and files."""

from __future__ import annotations

from pathlib import Path

import anyio

from acme_ci.rehearsal import fs
from acme_ci.rehearsal.evaluator.errors import query_error
from acme_ci.rehearsal.evaluator.interfaces import ImageSource
from acme_ci.rehearsal.evaluator.once import OncePerDigest
from acme_ci.rehearsal.evaluator.resources import Resources
from acme_ci.rehearsal.evaluator.values import (
    Container,
    CopyDirectory,
    CopyFile,
    Directory,
    File,
    FileOperation,
    Layer,
    NewFile,
    digest_of,
)
from acme_ci.rehearsal.ignore import PathFilter
from acme_ci.rehearsal.podman import env_pairs, image_config


class FileSystems:
    """Images and mounts of containers' root file systems; digests of host directories."""

    def __init__(self, resources: Resources, images: ImageSource) -> None:
        self._resources = resources
        self._images = images
        self._applied = OncePerDigest[str]()
        self._layer_locks: dict[int, anyio.Lock] = {}
        self._host_digests: dict[tuple[str, PathFilter], str] = {}

    async def from_address(self, address: str) -> Container:
        """`from(address)`: the stand-in image's file system and config."""
        tag = await self._images.image_for(address)
        config = await image_config(self._resources.podman, tag)
        inspected = await self._resources.podman("image", "inspect", "--format", "{{.Id}}", tag)
        image_id = inspected.stdout.strip()
        return Container(
            ref=address,
            layer=Layer(image=image_id),
            env=env_pairs(config.get("Env") or []),
            workdir=str(config.get("WorkingDir") or "/"),
            entrypoint=tuple(config.get("Entrypoint") or ()),
            default_args=tuple(config.get("Cmd") or ()),
            digest=digest_of("from", address, image_id),
        )

    # ------------------------------------------------------------------ images

    async def image(self, container: Container) -> str:
        """A committed image of the container's root file system (pending operations applied)."""
        if container.layer is None:
            raise query_error("a container without `from` has no root file system here")
        if not container.file_operations:
            return await self.commit_layer(container.layer)
        return await self._applied.get(container.digest, lambda: self._apply(container))

    async def commit_layer(self, layer: Layer) -> str:
        """The layer's image, committing its exec's container the first time it is asked."""
        async with self._layer_locks.setdefault(id(layer), anyio.Lock()):
            if layer.image is None:
                assert layer.container is not None
                await self._resources.unmount_container(layer.container)
                layer.image = await self._resources.commit(layer.container)
            return layer.image

    async def _apply(self, container: Container) -> str:
        assert container.layer is not None
        base = await self.commit_layer(container.layer)
        name = await self._resources.create_container("fs", base, ["true"])
        try:
            root = await self._resources.mount_container(name)
            for operation in container.file_operations:
                await self._write(root, operation)
            await self._resources.unmount_container(name)
            return await self._resources.commit(name)
        finally:
            await self._resources.remove_container(name)

    async def _write(self, root: Path, operation: FileOperation) -> None:
        """One pending operation, applied to the root file system mounted at `root`."""
        if isinstance(operation, CopyFile):
            await self._copy_file(root, operation)
        elif isinstance(operation, CopyDirectory):
            await self._copy_directory(root, operation)
        elif isinstance(operation, NewFile):
            destination = fs.entry_in(root, operation.destination)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(operation.contents)
            destination.chmod(operation.permissions)
        else:
            fs.remove(fs.entry_in(root, operation.path))

    async def _copy_file(self, root: Path, operation: CopyFile) -> None:
        source = await self.file_path(operation.file)
        destination = fs.entry_in(root, operation.destination)
        fs.copy_entry(source.resolve() if source.is_symlink() else source, destination)
        if operation.permissions is not None:
            destination.chmod(operation.permissions)

    async def _copy_directory(self, root: Path, operation: CopyDirectory) -> None:
        directory = operation.directory
        base = await self.directory_path(directory)
        if directory.host is not None:
            # Both filters: the directory's own (anchored at its root) and the copy's.
            entries = [
                (relative, source)
                for relative, source in fs.walk(base, directory.filter, directory.subpath)
                if operation.filter.keeps(relative)
            ]
        else:
            entries = list(fs.walk(base, operation.filter))
        fs.inside(root, operation.destination).mkdir(parents=True, exist_ok=True)
        for relative, source in entries:
            fs.copy_entry(source, fs.entry_in(root, f"{operation.destination}/{relative}"))

    async def rootfs(self, container: Container) -> Path:
        """A read-only view of the container's root file system on the host."""
        layer = container.layer
        if not container.file_operations and layer is not None and layer.image is None:
            assert layer.container is not None
            return await self._resources.mount_container(layer.container)
        return await self._resources.mount_image(await self.image(container))

    # ------------------------------------------------------------------ directories and files

    def host_directory(self, path: str, path_filter: PathFilter) -> Directory:
        """`dag.host().directory(path)`: its digest covers only what the filter keeps."""
        root = str(Path(path).resolve())
        key = (root, path_filter)
        if key not in self._host_digests:
            self._host_digests[key] = fs.tree_digest(Path(root), path_filter)
        return Directory(
            root, None, root, path_filter, "", digest_of("host", self._host_digests[key])
        )

    def forget_host_digests(self) -> None:
        """Read host directories anew from now on (a new client session syncs them again)."""
        self._host_digests.clear()

    @staticmethod
    def container_directory(container: Container, path: str) -> Directory:
        path = container.absolute(path)
        digest = digest_of(container.digest, "directory", path)
        return Directory(None, container, path, PathFilter(), "", digest)

    @staticmethod
    def file_in(directory: Directory, path: str) -> File:
        """A file of a directory; a host file's digest is its contents'."""
        if directory.host is not None:
            target = Path(directory.root) / directory.subpath / path
            content = fs.file_digest(target) if target.is_file() else "missing"
            return File(directory, path, digest_of("file", content))
        return File(directory, path, digest_of(directory.digest, "file", path))

    async def directory_path(self, directory: Directory) -> Path:
        if directory.host is not None:
            return Path(directory.root) / directory.subpath
        assert directory.container is not None
        rootfs = await self.rootfs(directory.container)
        return fs.inside(rootfs, f"{directory.root}/{directory.subpath}")

    async def file_path(self, file: File) -> Path:
        directory = file.directory
        if directory.host is not None:
            relative = "/".join(p for p in (directory.subpath, file.path) if p)
            if not directory.filter.keeps(relative):
                raise query_error(f"{file.path}: no such file or directory (excluded)")
            path = Path(directory.root) / relative
        else:
            assert directory.container is not None
            rootfs = await self.rootfs(directory.container)
            path = fs.inside(rootfs, f"{directory.root}/{directory.subpath}/{file.path}")
        if not path.is_file():
            raise query_error(f"lstat {file.path}: no such file or directory")
        return path
