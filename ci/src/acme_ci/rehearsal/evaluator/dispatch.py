"""The rehearsal engine: the lazy queries dagger-io builds, executed on podman.

dagger-io sends a query to the engine only when a leaf value is awaited
(dagger/client/_core.py, `Context.execute`). `Engine.execute` takes that method's place: it
walks the same chain of selections the real engine would receive (`from`, `withExec`,
`withServiceBinding`, ... `stdout`) and performs each one on podman. Nothing here knows the
module's containers: the chain is the only input.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import dagger
from dagger._exceptions import QueryErrorValue
from dagger.client._core import Context, Field
from dagger.client.base import Type
from gql import gql

from acme_ci.rehearsal import fs
from acme_ci.rehearsal.converter import one_converter
from acme_ci.rehearsal.evaluator.values import (
    CacheVolume,
    CopyDir,
    CopyFile,
    Ctr,
    Dir,
    ExecResult,
    File,
    Host,
    Layer,
    NewFile,
    Op,
    Remove,
    Secret,
    Svc,
    digest_of,
)
from acme_ci.rehearsal.ignore import PathFilter
from acme_ci.rehearsal.podman import LIMITS, PodmanError, entrypoint_flag, image_config, podman

Report = Callable[[str], None]
# A probe waits this long for a bound service's ports, as the engine's health check does.
SERVICE_TIMEOUT = 120.0
# How long a service outlives its last binding exec (core/services.go, DetachGracePeriod).
DETACH_GRACE = 10.0
LAYER_TAG = "localhost/acme-rehearsal/layer"


@dataclass
class Running:
    """A started service: its container and how many execs bind it now."""

    name: str
    users: int = 0
    generation: int = 0


class NoStandInError(Exception):
    """An image reference the rehearsal has no local stand-in for."""


class ImageSource:
    """Where `from(address)` finds its image: a local stand-in tag, or NoStandInError."""

    async def image_for(self, address: str) -> str:
        raise NotImplementedError

    async def probe_image(self) -> str:
        """An image with python3, for the port probes of bound services."""
        raise NotImplementedError


def query_error(message: str, **extensions: Any) -> dagger.QueryError:
    return dagger.QueryError(
        [QueryErrorValue(message, extensions=extensions)], gql("{ rehearsal }")
    )


def exec_error(ctr: Ctr, result: ExecResult) -> dagger.QueryError:
    return query_error(
        f"process {list(result.argv)!r} did not complete successfully: exit code: {result.code}",
        _type="EXEC_ERROR",
        cmd=list(result.argv),
        exitCode=result.code,
        stdout=result.stdout,
        stderr=result.stderr,
    )


def env_pairs(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """An OCI config's `Env` (NAME=value strings) as pairs."""
    return tuple((k, v) for k, _, v in (item.partition("=") for item in items) if k)


def references(value: str, alias: str) -> bool:
    """Whether an environment value points at host `alias` (alias:port, //alias, @alias)."""
    return re.search(rf"(^|[/@,=]){re.escape(alias)}(:\d+|/|$|,)", value) is not None


class Engine:
    """Evaluates selection chains; call `close()` to stop and remove what it started."""

    def __init__(self, images: ImageSource, report: Report, state_dir: Path) -> None:
        self.images = images
        self.report = report
        self.state_dir = state_dir
        self.run_id = uuid.uuid4().hex[:8]
        self.ids: dict[str, Any] = {}
        self.tasks: dict[str, anyio.Event] = {}
        self.results: dict[str, Any] = {}
        self.host_digests: dict[tuple[str, str, PathFilter], str] = {}
        self.containers: list[str] = []
        self.images_made: list[str] = []
        self.mounted_images: dict[str, Path] = {}
        self.mounted_containers: dict[str, Path] = {}
        self.networks: list[str] = []
        self.dropped_notes: set[str] = set()
        self.cached_layers = 0
        # Layers of earlier rehearsals are reused, as the engine's cache would (--fresh: not).
        self.reuse_layers = True
        self.kept: set[str] = set()
        self.execs = 0
        self.session_network = f"acme-reh-{self.run_id}"
        self._network_ready = False
        self._locks: dict[int, anyio.Lock] = {}
        self._svc_locks: dict[str, anyio.Lock] = {}
        self.running: dict[str, Running] = {}
        self.service_containers: list[str] = []
        self.task_group: anyio.abc.TaskGroup | None = None

    # ------------------------------------------------------------------ the patched method

    @contextlib.contextmanager
    def installed(self) -> Iterator[Engine]:
        """Route every dagger-io query of this process to this engine while the block runs."""
        original = Context.execute
        engine = self

        async def execute(ctx: Context, return_type: Any = None) -> Any:
            return await engine.evaluate(list(ctx.selections))

        Context.execute = execute  # type: ignore[assignment,method-assign]
        try:
            with one_converter():  # nothing is structured by a context while we answer
                yield self
        finally:
            Context.execute = original  # type: ignore[method-assign]

    async def evaluate(self, chain: Sequence[Field]) -> Any:
        value: Any = None
        for index, selection in enumerate(chain):
            if index == 0:
                value = await self._root(selection)
            else:
                value = await self._apply(value, selection)
        return value

    async def value_of(self, obj: Any) -> Any:
        """A dagger object argument (Directory, File, Secret, ...) evaluated."""
        if isinstance(obj, Type):
            return await self.evaluate(list(obj._ctx.selections))
        return obj

    async def once(self, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
        """The engine's own dedup: one evaluation per digest, concurrent callers wait for it."""
        if key in self.tasks:
            await self.tasks[key].wait()
        else:
            done = self.tasks[key] = anyio.Event()
            try:
                self.results[key] = ("ok", await make())
            except Exception as error:  # replayed to every caller of the same digest
                self.results[key] = ("error", error)
            finally:
                done.set()
        kind, value = self.results[key]
        if kind == "error":
            raise value
        return value

    # ------------------------------------------------------------------ dispatch

    async def _root(self, sel: Field) -> Any:
        a = sel.args
        match sel.name:
            case "container":
                return Ctr()
            case "host":
                return Host()
            case "cacheVolume":
                return CacheVolume(a["key"])
            case "setSecret":
                return Secret(a["name"], a["plaintext"])
            case "node" | "loadContainerFromID" | "loadDirectoryFromID" | "loadFileFromID":
                return self.ids[a["id"]]
        raise query_error(f"the rehearsal does not model Query.{sel.name}")

    async def _apply(self, value: Any, sel: Field) -> Any:
        if isinstance(value, Ctr):
            return await self._container(value, sel)
        if isinstance(value, Dir):
            return await self._directory(value, sel)
        if isinstance(value, File):
            return await self._file(value, sel)
        if isinstance(value, Host) and sel.name in ("directory", "file"):
            flt = PathFilter.of(sel.args.get("exclude"), sel.args.get("include"))
            if sel.name == "file":
                path = Path(sel.args["path"])
                base = self._host_dir(str(path.parent), PathFilter())
                return self._file_in(base, path.name)
            return self._host_dir(sel.args["path"], flt)
        if isinstance(value, Svc) and sel.name == "id":
            return self._register(value)
        if isinstance(value, (Secret, CacheVolume)) and sel.name == "id":
            return self._register(value)
        raise query_error(f"the rehearsal does not model {type(value).__name__}.{sel.name}")

    def _register(self, value: Any) -> str:
        ident = f"rehearsal-{len(self.ids)}-{self.run_id}"
        self.ids[ident] = value
        return ident

    async def _container(self, ctr: Ctr, sel: Field) -> Any:
        a = sel.args
        match sel.name:
            case "from":
                return await self._from(a["address"])
            case "withFile":
                file = await self.value_of(a["source"])
                op = CopyFile(a["path"], file, a.get("permissions"))
                return ctr.then(
                    "file", a["path"], file.digest, a.get("permissions"), ops=(*ctr.ops, op)
                )
            case "withDirectory":
                src = await self.value_of(a["source"])
                flt = PathFilter.of(a.get("exclude"), a.get("include"))
                copy = CopyDir(a["path"], src, flt)
                return ctr.then("dir", a["path"], src.digest, flt, ops=(*ctr.ops, copy))
            case "withNewFile":
                data = a.get("contents", "").encode()
                new = NewFile(a["path"], data, a.get("permissions", 0o644))
                return ctr.then(
                    "new", a["path"], digest_of(data), new.permissions, ops=(*ctr.ops, new)
                )
            case "withoutDirectory" | "withoutFile":
                return ctr.then("rm", a["path"], ops=(*ctr.ops, Remove(a["path"])))
            case "withEnvVariable":
                return ctr.with_env(a["name"], a["value"])
            case "withoutEnvVariable":
                env = tuple((k, v) for k, v in ctr.env if k != a["name"])
                return ctr.then("unenv", a["name"], env=env)
            case "withSecretVariable":
                secret = await self.value_of(a["secret"])
                secrets = (*((k, s) for k, s in ctr.secrets if k != a["name"]), (a["name"], secret))
                return ctr.then("secret", a["name"], secret.digest, secrets=secrets)
            case "withMountedCache":
                volume = await self.value_of(a["cache"])
                mounts = (
                    *((p, k) for p, k in ctr.mounts if p != a["path"]),
                    (a["path"], volume.key),
                )
                return ctr.then("cache", a["path"], volume.key, mounts=mounts)
            case "withWorkdir":
                return ctr.then("workdir", a["path"], workdir=self._abs(ctr, a["path"]))
            case "withEntrypoint":
                keep = a.get("keepDefaultArgs", False)
                return ctr.then(
                    "entrypoint",
                    a["args"],
                    entrypoint=tuple(a["args"]),
                    default_args=ctr.default_args if keep else (),
                )
            case "withDefaultArgs":
                return ctr.then("args", a["args"], default_args=tuple(a["args"]))
            case "withExposedPort":
                ports = (*ctr.ports, int(a["port"]))
                return ctr.then("port", a["port"], ports=ports)
            case "withLabel":
                return ctr.then(
                    "label", a["name"], a["value"], labels=(*ctr.labels, (a["name"], a["value"]))
                )
            case "withRegistryAuth":
                secret = await self.value_of(a["secret"])
                auth = (*ctr.auth, (a["address"], a["username"], secret))
                return ctr.then("auth", a["address"], auth=auth)
            case "withServiceBinding":
                return await self._bind(ctr, a["alias"], a["service"])
            case "withExec":
                return await self._exec(ctr, a)
            case "asService":
                return self._service(ctr, a)
            case "directory":
                return self._ctr_dir(ctr, a["path"])
            case "file":
                path = self._abs(ctr, a["path"])
                parent, _, name = path.rpartition("/")
                return self._file_in(self._ctr_dir(ctr, parent or "/"), name)
            case "stdout" | "stderr" | "exitCode":
                if ctr.last is None:
                    raise query_error(f"{sel.name}: no command has been executed")
                return {
                    "stdout": ctr.last.stdout,
                    "stderr": ctr.last.stderr,
                    "exitCode": ctr.last.code,
                }[sel.name]
            case "sync" | "id":
                return self._register(ctr)
            case "publish":
                return await self._publish(ctr, a["address"])
            case "envVariable":
                return dict(ctr.env).get(a["name"])
            case "workdir":
                return ctr.workdir
        raise query_error(f"the rehearsal does not model Container.{sel.name}")

    async def _directory(self, d: Dir, sel: Field) -> Any:
        a = sel.args
        match sel.name:
            case "directory":
                return d.below(a["path"])
            case "file":
                return self._file_in(d, a["path"])
            case "glob":
                return await self._glob(d, a["pattern"])
            case "entries":
                base = await self._dir_path(d)
                sub = a.get("path") or ""
                prefix = "/".join(p for p in (d.sub, sub) if p) if d.host is not None else ""
                flt = d.filter if d.host is not None else PathFilter()
                return sorted(
                    p.name + ("/" if p.is_dir() and not p.is_symlink() else "")
                    for p in (base / sub).iterdir()
                    if flt.keeps(f"{prefix}/{p.name}".strip("/"))
                )
            case "digest":
                base = await self._dir_path(d)
                if d.host is not None:
                    return "sha256:" + fs.tree_digest(base, d.filter, d.sub)
                return "sha256:" + fs.tree_digest(base, PathFilter())
            case "export":
                base = await self._dir_path(d)
                out = Path(a["path"])
                for rel, src in fs.walk(
                    base, d.filter if d.host else PathFilter(), d.sub if d.host else ""
                ):
                    fs.copy_entry(src, out / rel)
                return str(out)
            case "id" | "sync":
                return self._register(d)
        raise query_error(f"the rehearsal does not model Directory.{sel.name}")

    async def _file(self, f: File, sel: Field) -> Any:
        match sel.name:
            case "contents":
                path = await self._file_path(f)
                return path.read_text(encoding="utf-8", errors="replace")
            case "export":
                path = await self._file_path(f)
                shutil.copy2(path, sel.args["path"])
                return sel.args["path"]
            case "id" | "sync":
                return self._register(f)
            case "size":
                return (await self._file_path(f)).stat().st_size
            case "digest":
                return "sha256:" + fs.file_digest(await self._file_path(f))
            case "name":
                return f.path.rsplit("/", 1)[-1]
        raise query_error(f"the rehearsal does not model File.{sel.name}")

    # ------------------------------------------------------------------ values

    @staticmethod
    def _abs(ctr: Ctr, path: str) -> str:
        return path if path.startswith("/") else f"{ctr.workdir.rstrip('/')}/{path}"

    def _host_dir(self, path: str, flt: PathFilter) -> Dir:
        root = str(Path(path).resolve())
        key = (root, "", flt)
        if key not in self.host_digests:
            self.host_digests[key] = fs.tree_digest(Path(root), flt)
        return Dir(root, None, root, flt, "", digest_of("host", self.host_digests[key]))

    def _ctr_dir(self, ctr: Ctr, path: str) -> Dir:
        path = self._abs(ctr, path)
        return Dir(None, ctr, path, PathFilter(), "", digest_of(ctr.digest, "directory", path))

    def _file_in(self, d: Dir, path: str) -> File:
        if d.host is not None:
            parent = Path(d.root) / d.sub
            target = parent / path
            content = fs.file_digest(target) if target.is_file() else "missing"
            return File(d, path, digest_of("file", content))
        return File(d, path, digest_of(d.digest, "file", path))

    async def _dir_path(self, d: Dir) -> Path:
        if d.host is not None:
            return Path(d.root) / d.sub
        assert d.ctr is not None
        rootfs = await self.rootfs(d.ctr)
        return fs.inside(rootfs, f"{d.root}/{d.sub}")

    async def _file_path(self, f: File) -> Path:
        if f.dir.host is not None:
            rel = "/".join(p for p in (f.dir.sub, f.path) if p)
            if not f.dir.filter.keeps(rel):
                raise query_error(f"{f.path}: no such file or directory (excluded)")
            path = Path(f.dir.root) / rel
        else:
            assert f.dir.ctr is not None
            rootfs = await self.rootfs(f.dir.ctr)
            path = fs.inside(rootfs, f"{f.dir.root}/{f.dir.sub}/{f.path}")
        if not path.is_file():
            raise query_error(f"lstat {f.path}: no such file or directory")
        return path

    async def _glob(self, d: Dir, pattern: str) -> list[str]:
        base = await self._dir_path(d)
        flt = d.filter if d.host is not None else PathFilter()
        prefix = d.sub if d.host is not None else ""
        found = []
        for path in base.glob(pattern):
            rel = path.relative_to(base).as_posix()
            if flt.keeps(f"{prefix}/{rel}".strip("/")):
                found.append(rel)
        return sorted(found)

    async def _from(self, address: str) -> Ctr:
        tag = await self.images.image_for(address)
        config = await image_config(tag)
        image_id = (await podman("image", "inspect", "--format", "{{.Id}}", tag)).stdout.strip()
        return Ctr(
            ref=address,
            layer=Layer(image=image_id),
            env=env_pairs(config.get("Env") or []),
            workdir=str(config.get("WorkingDir") or "/"),
            entrypoint=tuple(config.get("Entrypoint") or ()),
            default_args=tuple(config.get("Cmd") or ()),
            digest=digest_of("from", address, image_id),
        )

    def _service(self, ctr: Ctr, a: dict[str, Any]) -> Svc:
        args = tuple(a.get("args") or ())
        if a.get("useEntrypoint"):
            argv = (*ctr.entrypoint, *(args or ctr.default_args))
        else:
            argv = args or ctr.default_args
        return Svc(ctr, argv, digest_of(ctr.digest, "service", argv))

    async def _bind(self, ctr: Ctr, alias: str, service: Any) -> Ctr:
        try:
            svc = await self.value_of(service)
        except NoStandInError as missing:
            note = f"{alias}: {missing}: binding dropped, variables naming {alias!r} not exported"
            if note not in self.dropped_notes:
                self.dropped_notes.add(note)
                self.report(f"rehearsal: {note}")
            return ctr.then("dropped", alias, dropped=(*ctr.dropped, (alias, str(missing))))
        bindings = (*((k, s) for k, s in ctr.bindings if k != alias), (alias, svc))
        return ctr.then("bind", alias, svc.digest, bindings=bindings)

    def visible_env(self, ctr: Ctr) -> list[tuple[str, str]]:
        """The exec's variables, less those that point at a dropped (unrehearsable) service."""
        return [
            (k, v) for k, v in ctr.env if not any(references(v, alias) for alias, _ in ctr.dropped)
        ]

    # ------------------------------------------------------------------ file systems

    async def image(self, ctr: Ctr) -> str:
        """A committed image of the container's root file system (pending operations applied)."""
        if ctr.layer is None:
            raise query_error("a container without `from` has no root file system here")
        if not ctr.ops:
            return await self._commit_layer(ctr.layer)
        return str(await self.once("image:" + ctr.digest, lambda: self._apply_ops(ctr)))

    async def _commit_layer(self, layer: Layer) -> str:
        lock = self._locks.setdefault(id(layer), anyio.Lock())
        async with lock:
            if layer.image is None:
                assert layer.container is not None
                await self._unmount_container(layer.container)
                done = await podman("commit", "--quiet", layer.container)
                layer.image = done.stdout.strip()
                self.images_made.append(layer.image)
            return layer.image

    async def _apply_ops(self, ctr: Ctr) -> str:
        base = await self._commit_layer(ctr.layer)  # type: ignore[arg-type]
        name = self._name("fs")
        await podman("create", "--name", name, entrypoint_flag(["true"]), base)
        try:
            root = Path((await podman("mount", name)).stdout.strip())
            for op in ctr.ops:
                await self._apply_op(root, op)
            await podman("unmount", name)
            image = (await podman("commit", "--quiet", name)).stdout.strip()
            self.images_made.append(image)
            return image
        finally:
            await podman("rm", "--force", name, check=False)

    async def _apply_op(self, root: Path, op: Op) -> None:
        if isinstance(op, CopyFile):
            src = await self._file_path(op.file)
            dest = fs.entry_in(root, op.dest)
            fs.copy_entry(src.resolve() if src.is_symlink() else src, dest)
            if op.permissions is not None:
                dest.chmod(op.permissions)
        elif isinstance(op, CopyDir):
            d = op.dir
            base = await self._dir_path(d)
            if d.host is not None:
                # Both filters: the directory's own (anchored at its root) and the copy's.
                entries = [
                    (rel, src)
                    for rel, src in fs.walk(base, d.filter, d.sub)
                    if op.filter.keeps(rel)
                ]
            else:
                entries = list(fs.walk(base, op.filter))
            fs.inside(root, op.dest).mkdir(parents=True, exist_ok=True)
            for rel, src in entries:
                fs.copy_entry(src, fs.entry_in(root, f"{op.dest}/{rel}"))
        elif isinstance(op, NewFile):
            dest = fs.entry_in(root, op.dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(op.contents)
            dest.chmod(op.permissions)
        else:
            fs.remove(fs.entry_in(root, op.path))

    async def rootfs(self, ctr: Ctr) -> Path:
        """A read-only view of the container's root file system on the host."""
        if not ctr.ops and ctr.layer is not None and ctr.layer.image is None:
            name = ctr.layer.container
            assert name is not None
            if name not in self.mounted_containers:
                path = (await podman("mount", name)).stdout.strip()
                self.mounted_containers[name] = Path(path)
            return self.mounted_containers[name]
        image = await self.image(ctr)
        if image not in self.mounted_images:
            path = (await podman("image", "mount", image)).stdout.strip()
            self.mounted_images[image] = Path(path)
        return self.mounted_images[image]

    async def _unmount_container(self, name: str) -> None:
        if self.mounted_containers.pop(name, None) is not None:
            await podman("unmount", name, check=False)

    # ------------------------------------------------------------------ execs and services

    def _name(self, kind: str) -> str:
        return f"acme-reh-{self.run_id}-{kind}-{uuid.uuid4().hex[:8]}"

    async def _exec(self, ctr: Ctr, a: dict[str, Any]) -> Ctr:
        argv = tuple(a["args"])
        if a.get("useEntrypoint"):
            argv = (*ctr.entrypoint, *argv)
        for unsupported in (
            "stdin",
            "redirectStdout",
            "redirectStderr",
            "insecureRootCapabilities",
        ):
            if a.get(unsupported):
                raise query_error(f"the rehearsal does not model withExec({unsupported}=...)")
        expect = str(a.get("expect", "SUCCESS"))
        key = digest_of(ctr.digest, "exec", argv)
        # Only execs that must succeed are layers worth keeping between rehearsals; a step
        # run with expect=ANY (a test, a lint) runs again every time.
        keep = expect == "SUCCESS"
        done: Ctr = await self.once("exec:" + key, lambda: self._run_exec(ctr, argv, key, keep))
        assert done.last is not None
        failed = (expect == "SUCCESS" and done.last.code != 0) or (
            expect == "FAILURE" and done.last.code == 0
        )
        if failed:
            raise exec_error(done, done.last)
        return done

    async def _run_exec(self, ctr: Ctr, argv: tuple[str, ...], key: str, keep: bool) -> Ctr:
        cached = await self._cached_layer(key) if keep and self.reuse_layers else None
        if cached is not None:
            self.cached_layers += 1
            self.report(f"rehearsal: cached  {self._describe(ctr, argv)}")
            return replace(ctr, layer=Layer(image=cached[0]), ops=(), last=cached[1], digest=key)
        base = await self.image(ctr)
        name = self._name("exec")
        started = time.monotonic()
        async with self._network_for(ctr) as network, self._secrets(ctr) as secret_flags:
            flags = [*LIMITS, "--network", network, *secret_flags]
            flags += self._config_flags(ctr, self.visible_env(ctr))
            await podman("create", "--name", name, *flags, entrypoint_flag(argv), base)
            self.containers.append(name)
            await self._make_workdir(name, ctr.workdir)
            run = await podman("start", "--attach", name, check=False)
        state = await podman("inspect", "--format", "{{.State.ExitCode}}", name)
        code = int(state.stdout.strip() or run.code)
        self.execs += 1
        result = ExecResult(argv, code, run.stdout, run.stderr)
        seconds = time.monotonic() - started
        self.report(f"rehearsal: exit {code:<3} {seconds:6.1f}s  {self._describe(ctr, argv)}")
        layer = Layer(container=name)
        if code == 0 and keep:
            await self._store_layer(key, layer, result)
        return replace(ctr, layer=layer, ops=(), last=result, digest=key)

    @staticmethod
    async def _make_workdir(name: str, workdir: str) -> None:
        """Create the working directory if the file system lacks it, as the engine's exec does
        (podman refuses a --workdir that does not exist)."""
        if workdir in ("", "/"):
            return
        root = Path((await podman("mount", name)).stdout.strip())
        try:
            fs.inside(root, workdir).mkdir(parents=True, exist_ok=True)
        finally:
            await podman("unmount", name, check=False)

    @staticmethod
    def _describe(ctr: Ctr, argv: Sequence[str]) -> str:
        text = " ".join(argv)
        return f"[{ctr.workdir}] {text[:110]}{'...' if len(text) > 110 else ''}"

    def _config_flags(self, ctr: Ctr, env: Sequence[tuple[str, str]]) -> list[str]:
        flags = ["--workdir", ctr.workdir or "/"]
        for name, value in env:
            flags += ["--env", f"{name}={value}"]
        for path, key in ctr.mounts:
            flags += ["--volume", f"{self.volume(key)}:{path}"]
        return flags

    @staticmethod
    def volume(key: str) -> str:
        """The podman volume of a cache volume key: kept between rehearsals, like the engine's."""
        return "acme-rehearsal-cache-" + re.sub(r"[^A-Za-z0-9_.-]", "_", key)

    @contextlib.asynccontextmanager
    async def _secrets(self, ctr: Ctr) -> AsyncIterator[list[str]]:
        """Each secret as a podman secret exposed as an environment variable of this exec only:
        podman never writes it to the container's config, an image or a log."""
        made: list[str] = []
        flags: list[str] = []
        try:
            for variable, secret in ctr.secrets:
                name = self._name("secret")
                await podman("secret", "create", name, "-", stdin=secret.plaintext.encode())
                made.append(name)
                flags += ["--secret", f"{name},type=env,target={variable}"]
            yield flags
        finally:
            for name in made:
                await podman("secret", "rm", name, check=False)

    async def network(self) -> str:
        """The rehearsal's own network (DNS on, egress as the host's): execs without bindings."""
        if not self._network_ready:
            await podman("network", "create", self.session_network)
            self.networks.append(self.session_network)
            self._network_ready = True
        return self.session_network

    @contextlib.asynccontextmanager
    async def _network_for(self, ctr: Ctr) -> AsyncIterator[str]:
        """A private network per exec with bindings, where each bound service answers to its
        alias: concurrent steps binding the same service under any alias never collide."""
        if not ctr.bindings:
            yield await self.network()
            return
        network = self._name("net")
        await podman("network", "create", network)
        # Removed at the end of the rehearsal, after its containers: `network rm --force`
        # would remove the stopped exec container, whose file system is the exec's result.
        self.networks.append(network)
        held: list[tuple[Svc, str]] = []
        try:
            async with anyio.create_task_group() as tg:
                for alias, svc in ctr.bindings:
                    tg.start_soon(self._attach, svc, network, alias, held)
            yield network
        finally:
            for svc, name in held:
                await self._release(svc, name, network)

    async def _attach(
        self, svc: Svc, network: str, alias: str, held: list[tuple[Svc, str]]
    ) -> None:
        name = await self._acquire(svc)
        held.append((svc, name))
        await podman("network", "connect", "--alias", alias, network, name)

    async def _acquire(self, svc: Svc) -> str:
        """The running instance of `svc`, started and healthy: one per service digest, shared
        by every exec that binds it, as the engine shares a service between its clients
        (core/services.go: one instance per client, kept DETACH_GRACE after its last use)."""
        async with self._svc_locks.setdefault(svc.digest, anyio.Lock()):
            running = self.running.get(svc.digest)
            if running is None:
                name = self._name("svc")
                try:
                    await self.start_service(svc, name, ["--network", await self.network()])
                    self.service_containers.append(name)
                    await self.wait_for_ports(svc, name, await self.network(), name)
                except BaseException:
                    await podman("rm", "--force", name, check=False)
                    raise
                running = self.running[svc.digest] = Running(name)
            running.users += 1
            running.generation += 1
            return running.name

    async def _release(self, svc: Svc, name: str, network: str) -> None:
        await podman("network", "disconnect", "--force", network, name, check=False)
        running = self.running.get(svc.digest)
        if running is None:
            return
        running.users -= 1
        if running.users == 0 and self.task_group is not None:
            self.task_group.start_soon(self._stop_later, svc.digest, running.generation)

    async def _stop_later(self, digest: str, generation: int) -> None:
        await anyio.sleep(DETACH_GRACE)
        async with self._svc_locks[digest]:
            running = self.running.get(digest)
            if running is not None and running.users == 0 and running.generation == generation:
                del self.running[digest]
                await podman("rm", "--force", "--time", "2", running.name, check=False)

    async def start_service(self, svc: Svc, name: str, network_flags: Sequence[str]) -> None:
        base = await self.image(svc.ctr)
        async with self._secrets(svc.ctr) as secret_flags:
            flags = [*LIMITS, *network_flags, *secret_flags]
            flags += self._config_flags(svc.ctr, self.visible_env(svc.ctr))
            await podman("create", "--name", name, *flags, entrypoint_flag(svc.argv), base)
            await self._make_workdir(name, svc.ctr.workdir)
            await podman("start", name)

    async def wait_for_ports(self, svc: Svc, name: str, network: str, host: str) -> None:
        """Wait until every exposed port accepts connections (the engine's health check)."""
        if not svc.ctr.ports:
            return
        script = (
            "import socket,sys,time\n"
            f"end=time.time()+{SERVICE_TIMEOUT}\n"
            f"for port in {list(svc.ctr.ports)!r}:\n"
            "    while True:\n"
            "        try:\n"
            f"            socket.create_connection(({host!r}, port), 2).close(); break\n"
            "        except OSError:\n"
            "            if time.time()>end: sys.exit(f'port {port} never opened')\n"
            "            time.sleep(0.3)\n"
        )
        probe = await self.images.probe_image()
        done = await podman(
            "run",
            "--rm",
            *LIMITS,
            "--network",
            network,
            entrypoint_flag(["python3", "-c", script]),
            probe,
            check=False,
        )
        if done.code != 0:
            logs = await podman("logs", "--tail", "30", name, check=False)
            raise query_error(
                f"service {host!r} ({svc.ctr.ref}) did not open {list(svc.ctr.ports)}: "
                f"{done.stderr.strip()}\n{logs.stdout}{logs.stderr}"
            )

    # ------------------------------------------------------------------ publish

    async def publish_image(self, ctr: Ctr, tag: str) -> str:
        """Commit the container with its config (env, entrypoint, workdir, ports, labels)."""
        base = await self.image(ctr)
        changes = [
            f"WORKDIR {ctr.workdir}",
            f"ENTRYPOINT {json.dumps(list(ctr.entrypoint))}",
            f"CMD {json.dumps(list(ctr.default_args))}",
        ]
        changes += [f"ENV {k}={json.dumps(v)}" for k, v in self.visible_env(ctr)]
        changes += [f"EXPOSE {p}" for p in ctr.ports]
        changes += [f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in ctr.labels]
        name = self._name("publish")
        await podman("create", "--name", name, entrypoint_flag(["true"]), base)
        try:
            flags = [item for change in changes for item in ("--change", change)]
            image = (await podman("commit", "--quiet", *flags, name, tag)).stdout.strip()
        finally:
            await podman("rm", "--force", name, check=False)
        return image

    async def _publish(self, ctr: Ctr, address: str) -> str:
        local = f"localhost/acme-rehearsal/publish-{uuid.uuid4().hex[:8]}"
        await self.publish_image(ctr, local)
        with tempfile.TemporaryDirectory() as tmp:
            digest_file = Path(tmp) / "digest"
            flags = ["--tls-verify=false", "--digestfile", str(digest_file)]
            for registry, username, secret in ctr.auth:
                if address.startswith(registry.split("/")[0]):
                    auth = Path(tmp) / "auth.json"
                    token = f"{username}:{secret.plaintext}"
                    import base64  # only when a registry wants credentials

                    encoded = base64.b64encode(token.encode()).decode()
                    auth.write_text(
                        json.dumps({"auths": {registry.split("/")[0]: {"auth": encoded}}})
                    )
                    flags += ["--authfile", str(auth)]
            try:
                await podman("push", *flags, local, f"docker://{address}")
            except PodmanError as error:
                raise query_error(f"publish {address}: {error}") from error
            finally:
                await podman("rmi", "--force", local, check=False)
            digest = digest_file.read_text().strip()
        self.report(f"rehearsal: published {address}@{digest}")
        return f"{address}@{digest}"

    # ------------------------------------------------------------------ layers kept between runs

    async def _cached_layer(self, key: str) -> tuple[str, ExecResult] | None:
        meta = self.state_dir / "layers" / f"{key}.json"
        tag = f"{LAYER_TAG}:{key[:40]}"
        if not meta.is_file():
            return None
        done = await podman("image", "inspect", "--format", "{{.Id}}", tag, check=False)
        if done.code != 0:
            return None
        data = json.loads(meta.read_text())
        return done.stdout.strip(), ExecResult(
            tuple(data["argv"]), 0, data["stdout"], data["stderr"]
        )

    async def _store_layer(self, key: str, layer: Layer, result: ExecResult) -> None:
        """A successful exec's layer, kept for the next rehearsal under its content digest
        (the engine's layer cache: same inputs, same argv, not run again)."""
        image = await self._commit_layer(layer)
        await podman("tag", image, f"{LAYER_TAG}:{key[:40]}")
        self.kept.add(image)
        meta = self.state_dir / "layers" / f"{key}.json"
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(
            json.dumps(
                {"argv": list(result.argv), "stdout": result.stdout, "stderr": result.stderr}
            )
        )

    # ------------------------------------------------------------------ cleanup

    async def close(self) -> None:
        for name in self.service_containers:
            await podman("rm", "--force", "--time", "2", name, check=False)
        self.running.clear()
        for name in list(self.mounted_containers):
            await self._unmount_container(name)
        for image in self.mounted_images:
            await podman("image", "unmount", image, check=False)
        self.mounted_images.clear()
        for name in self.containers:
            await podman("rm", "--force", name, check=False)
        for network in self.networks:
            await podman("network", "rm", "--force", network, check=False)
        # Untagged intermediate images only; kept layers and stand-ins stay tagged.
        for image in reversed(self.images_made):
            if image in self.kept:
                continue
            await podman("image", "rm", image, check=False)
