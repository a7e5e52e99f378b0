"""The remote step cache on Dagger: a step's key from engine digests, lookup and store in a
container, outputs restored from the entry.

The key (acme_ci.core.step_key) hashes the step definition, the images and recipe of its
container, and the engine's content digests of the inputs the container receives (the lock
file, every manifest, the package's and its internal dependencies' directories, the root
files of the module package's tests), each under its root-relative path: never a host path.

Lookup and store run `python -m acme_ci.entries.cli` in the module package's
container (acme-ci has boto3), with the cache URL, the credentials and the signing key as
secret variables and an input unique to the call, so a miss is never replayed from the
engine's cache. A hit restores the step's outputs from the fetched entry; any fault leaves
the step to run and the summary says why.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
import dagger
from dagger import dag

from acme_ci.core.entry_format import OUTPUTS_DIR, CachedResult
from acme_ci.core.plan import LOCK_FILE, ROOT_MANIFEST, Step
from acme_ci.core.scheduler import StepResult
from acme_ci.core.step_key import container_step_key
from acme_ci.core.workspace import Workspace
from acme_ci.dagger import containers
from acme_ci.dagger.cache_options import CacheOptions
from acme_ci.dagger.containers import SRC, TOOL_TEST_ROOT_FILES, once_per_call
from acme_ci.dagger.junit_echo import PLUGIN_SOURCE, READER_SOURCE
from acme_ci.entries import cli as entries_cli

CLI = entries_cli.__name__  # run with `python -m` in the container
CACHE_DIR = "/acme-cache"
SERVICE_IMAGES = {
    "s3": containers.MOTO_IMAGE,
    "postgres": containers.POSTGRES_IMAGE,
    "kafka": containers.KAFKA_IMAGE,
}


# A key hashes content and names, never modes or owners. Directory.digest hashes each entry's
# mode, uid and gid (engine/contenthash/tarsum.go, v1TarHeaderSelect; mtime it leaves out), so
# checkouts made with umask 0002 and 0022, or by two users, would never share an entry. A
# copy made by withDirectory with an owner and permissions gives every entry, the copied
# directory's own included, that owner and mode (core/directory.go, WithDirectory:
# util/layercopy's copyMetadata applies CopyOptions.Chown and Mode to each copied entry), so
# its digest is the content's and the names'. Like the native keys (git blob ids), then, a
# change of mode alone (chmod +x) changes no key. The copy goes to a name the source upload
# always leaves out (`**/.acme`, source.SOURCE_IGNORE), so it starts empty.
NORMALISED_COPY = ".acme"
NORMALISED_OWNER = "0:0"
NORMALISED_MODE = 0o644


def content_only(tree: dagger.Directory) -> dagger.Directory:
    """`tree` with one owner and one mode on every entry: its digest keys its content."""
    return tree.with_directory(
        NORMALISED_COPY, tree, owner=NORMALISED_OWNER, permissions=NORMALISED_MODE
    ).directory(NORMALISED_COPY)


@dataclass(frozen=True)
class StepInputs:
    """What a step's container receives from the source: files and directories."""

    files: tuple[str, ...]
    directories: tuple[str, ...]


def step_inputs(
    ws: Workspace, step: Step, module_dir: str, root_entries: Iterable[str]
) -> StepInputs:
    """The source paths that key the step: what its container is built from
    (containers.package_env, with_root_directories and, for the module package's tests,
    with_root_files), less the dependency trees the plan leaves out of its inputs (a build
    reads its own only)."""
    files = [LOCK_FILE, ROOT_MANIFEST, *(f"{p.path}/pyproject.toml" for p in ws.packages)]
    package = ws.get(step.package)
    closure = [package.path, *(ws.get(d).path for d in ws.dependencies_closure(package.name))]
    # The plan's inputs decide which of them count (a build: its own tree only).
    directories = [path for path in closure if path in step.inputs]
    directories.extend(containers.root_directories(ws, step))
    if step.task == "test" and package.path == module_dir:
        present = {entry.rstrip("/") for entry in root_entries}
        for name in TOOL_TEST_ROOT_FILES:
            if name in present:
                (directories if name == ".github" else files).append(name)
    return StepInputs(tuple(files), tuple(directories))


def environment(ws: Workspace, step: Step) -> dict[str, str]:
    """What the step's container is made of, besides the inputs: images and recipe."""
    env = {
        "engine": "dagger",
        "python": containers.PYTHON_IMAGE,
        "uv": containers.UV_IMAGE,
        "base": containers.INSTALL_GIT,
        "path": containers.PATH,
    }
    if step.task == "test":
        services = ws.get(step.package).settings.test_services
        env["services"] = ",".join(f"{s}={SERVICE_IMAGES.get(s, '?')}" for s in services)
        echo = (PLUGIN_SOURCE + READER_SOURCE).encode()
        env["junit_echo"] = hashlib.sha256(echo).hexdigest()
    return env


def store_access(tool: dagger.Container, options: CacheOptions) -> dagger.Container:
    """`tool` with the store's location and credentials (secrets) and a call id, for an
    exec of the entries CLI."""
    ctr = tool.with_secret_variable("ACME_CACHE_URL", options.url)
    if options.endpoint_url:
        ctr = ctr.with_env_variable("AWS_ENDPOINT_URL_S3", options.endpoint_url)
    if options.region:
        ctr = ctr.with_env_variable("AWS_DEFAULT_REGION", options.region)
    for name, secret in (
        ("AWS_ACCESS_KEY_ID", options.aws_access_key_id),
        ("AWS_SECRET_ACCESS_KEY", options.aws_secret_access_key),
        ("ACME_CACHE_SIGNING_KEY", options.signing_key),
    ):
        if secret is not None:
            ctr = ctr.with_secret_variable(name, secret)
    # What the exec reads or changes lives outside the container (the store): it must run
    # on every call, never be served from the engine's cache.
    return once_per_call(ctr)


@dataclass(frozen=True)
class Hit:
    """A usable entry: the step's result, and a container holding its outputs under /src."""

    result: StepResult
    outputs: dagger.Container


@dataclass
class RemoteStepCache:
    """Lookup before and store after each step, through `tool` (the module package's
    container); `inputs_of` names each step's source inputs."""

    options: CacheOptions
    source: dagger.Directory
    tool: dagger.Container
    ws: Workspace
    inputs_of: Callable[[Step], StepInputs]
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None
    _digests: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.warnings.extend(self.options.notes)

    def describe(self) -> str:
        return self.options.describe()

    async def key(self, step: Step) -> str | None:
        """The step's key from the engine's content digests of its inputs (None: the digests
        could not be had, the cache is given up and the step runs)."""
        if self.skipped is not None:
            return None
        try:
            return await self._key(step)
        except dagger.QueryError as error:
            self._give_up("digest", error)
            return None

    async def _key(self, step: Step) -> str:
        inputs = self.inputs_of(step)
        digests: dict[str, str] = {}

        async def digest(path: str, is_dir: bool) -> None:
            if path not in self._digests:
                if is_dir:
                    found = await content_only(self.source.directory(path)).digest()
                else:
                    found = await self.source.file(path).digest(exclude_metadata=True)
                self._digests[path] = found
            digests[path] = self._digests[path]

        async with anyio.create_task_group() as tg:
            for path in inputs.files:
                tg.start_soon(digest, path, False)
            for path in inputs.directories:
                tg.start_soon(digest, path, True)
        return container_step_key(step, digests, environment(self.ws, step))

    def _container(self) -> dagger.Container:
        return store_access(self.tool, self.options)

    async def lookup(self, step: Step, key: str) -> Hit | None:
        """The step's entry from the readable scopes, None on a miss (or a fault: warned)."""
        if self.skipped is not None:
            return None
        policy = self.options.policy()
        scopes = [arg for scope in policy.read for arg in ("--scope", scope)]
        argv = ["python", "-m", CLI, "fetch", "--key", key, *scopes, "--dir", CACHE_DIR]
        ctr = self._container().with_exec(argv)
        answer = ctr.file(f"{CACHE_DIR}/{entries_cli.STATUS_FILE}")
        try:
            status = json.loads(await answer.contents())
            self.warnings.extend(
                f"remote cache, {step.id}: {p}; the step runs" for p in status.get("problems", [])
            )
            if status.get("skipped"):
                self.skipped = f"remote cache skipped from {step.id} on: {status['skipped']}"
            if not status.get("hit"):
                return None
            return Hit(_cached_result(step, key, status), _outputs(step, ctr))
        except (dagger.QueryError, ValueError, KeyError, TypeError, AttributeError) as error:
            self._give_up("lookup", error)
            return None

    async def store(self, step: Step, key: str, result: StepResult, ran: dagger.Container) -> int:
        """Store a passed step's entry in the writable scope; the bytes sent (0: none)."""
        policy = self.options.policy()
        if policy.write is None or self.skipped is not None:
            return 0
        meta = json.dumps(CachedResult.of(result).meta())
        ctr = self._container().with_new_file(f"{CACHE_DIR}/{entries_cli.META_FILE}", meta)
        for output in step.outputs:
            target = f"{CACHE_DIR}/{OUTPUTS_DIR}/{output}"
            if output == step.junit_path:
                ctr = ctr.with_file(target, ran.file(f"{SRC}/{output}"))
            else:
                ctr = ctr.with_directory(target, ran.directory(f"{SRC}/{output}"))
        argv = ["python", "-m", CLI, "store", "--key", key, "--scope", policy.write]
        answer = ctr.with_exec([*argv, "--dir", CACHE_DIR]).file(
            f"{CACHE_DIR}/{entries_cli.STORED_FILE}"
        )
        try:
            stored = json.loads(await answer.contents())
            if stored.get("problem"):
                self.skipped = f"remote cache skipped from {step.id} on: {stored['problem']}"
                return 0
            return int(stored["bytes"])
        except (dagger.QueryError, ValueError, KeyError, TypeError, AttributeError) as error:
            self._give_up("store", error)
            return 0

    def _give_up(self, action: str, error: Exception) -> None:
        if self.skipped is None:
            self.skipped = (
                f"remote cache skipped from the first failed {action} on: "
                f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            )


def _cached_result(step: Step, key: str, status: dict[str, Any]) -> StepResult:
    hit = CachedResult.from_meta(status["meta"])
    return hit.replayed(step, key, "remote", int(status.get("bytes", 0)))


def _outputs(step: Step, fetched: dagger.Container) -> dagger.Container:
    """A container with the entry's outputs where the step would have left them."""
    ctr = dag.container().with_workdir(SRC)
    for output in step.outputs:
        source = f"{CACHE_DIR}/{entries_cli.FETCHED_DIR}/{OUTPUTS_DIR}/{output}"
        if output == step.junit_path:
            ctr = ctr.with_file(f"{SRC}/{output}", fetched.file(source))
        else:
            ctr = ctr.with_directory(f"{SRC}/{output}", fetched.directory(source))
    return ctr
