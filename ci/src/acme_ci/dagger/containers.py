"""The containers of the Dagger shell: layered package environments, runtime images, services.

Every image is pinned so that a run is reproducible and the engine's layer cache stays warm.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import dagger
from dagger import dag

from acme_ci.core.plan import LOCK_FILE, ROOT_MANIFEST, Step
from acme_ci.core.workspace import Package, Workspace

PYTHON_IMAGE = "python:3.12-slim"
# The uv release the lock was produced with; its image is distroless and holds /uv and /uvx.
UV_IMAGE = "ghcr.io/astral-sh/uv:0.13.9"
GIT_IMAGE = "alpine/git:2.47.2"
# The moto release of the root lock, so S3 behaves as in the native integration tests.
MOTO_IMAGE = "motoserver/moto:5.2.5"
POSTGRES_IMAGE = "postgres:15"
KAFKA_IMAGE = "apache/kafka:3.9.0"
KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.31.4"

SRC = "/src"
VENV = "/opt/venv"
UV_CACHE_DIR = "/root/.cache/uv"
UV_CACHE_VOLUME = "acme-ci-uv"
PATH = f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The fake credentials of the throwaway moto server bound to test containers; nothing real.
TEST_AWS_KEY = "testing"
S3_PORT = 5000
POSTGRES_PORT = 5432
KAFKA_PORT = 9092
TEST_POSTGRES_URL = f"postgresql://acme:acme@postgres:{POSTGRES_PORT}/acme"


# An input unique to each call. `cache="never"` adds a per-call input to the function call
# only (core/modfunc.go, FunctionCachePolicyNever -> dagql.PerCallInput); a withExec is still
# cached by its own inputs (core/schema/container.go: only publish and exports are
# DoNotCache). So every exec with a side effect outside its container carries this.
CALL_ID_VARIABLE = "ACME_CI_CALL_ID"


def once_per_call(ctr: dagger.Container) -> dagger.Container:
    """`ctr` with an input no other call shares: the next exec runs on every call."""
    return ctr.with_env_variable(CALL_ID_VARIABLE, uuid.uuid4().hex)


class UnknownServiceError(Exception):
    """A package asks for a backing service the Dagger module cannot provide."""


# python:3.12-slim has no git; the pipeline's own tests (and any test building a repository)
# run it.
INSTALL_GIT = (
    "apt-get update && apt-get install --yes --no-install-recommends git"
    " && rm -rf /var/lib/apt/lists/*"
)
# The package that holds the Dagger module (dagger.json's "source": acme-ci) tests the
# repository's pipeline files, which belong to no package: the module's declaration, the
# workflows, the ignore rules, the README's commands, the human entry point. Only its test
# containers get them, so a change to them invalidates no other package's tests.
TOOL_TEST_ROOT_FILES = ("dagger.json", ".github", ".gitignore", "README.md", "pipeline.sh")


def in_container(workdir: str) -> str:
    """The absolute container path of a root-relative workdir."""
    return SRC if workdir in ("", ".") else f"{SRC}/{workdir.strip('/')}"


def uv_base() -> dagger.Container:
    """python:3.12-slim with uv, a venv outside the source tree, and the shared uv cache."""
    uv = dag.container().from_(UV_IMAGE).file("/uv")
    return (
        dag.container()
        .from_(PYTHON_IMAGE)
        .with_exec(["sh", "-c", INSTALL_GIT])
        .with_file("/usr/local/bin/uv", uv)
        .with_env_variable("UV_PROJECT_ENVIRONMENT", VENV)
        # The cache volume is another file system: hard links would fail.
        .with_env_variable("UV_LINK_MODE", "copy")
        .with_env_variable("UV_PYTHON_DOWNLOADS", "never")
        .with_env_variable("UV_CACHE_DIR", UV_CACHE_DIR)
        .with_env_variable("PATH", PATH)
        .with_mounted_cache(UV_CACHE_DIR, dag.cache_volume(UV_CACHE_VOLUME))
        .with_workdir(SRC)
    )


def with_manifests(
    ctr: dagger.Container, ws: Workspace, source: dagger.Directory
) -> dagger.Container:
    """Add the lock and every manifest: enough for uv to install the dependencies only."""
    ctr = ctr.with_file(f"{SRC}/uv.lock", source.file("uv.lock")).with_file(
        f"{SRC}/pyproject.toml", source.file("pyproject.toml")
    )
    for package in ws.packages:
        ctr = ctr.with_file(
            f"{SRC}/{package.path}/pyproject.toml", source.file(f"{package.path}/pyproject.toml")
        )
    return ctr


def with_sources(
    ctr: dagger.Container, packages: Iterable[Package], source: dagger.Directory
) -> dagger.Container:
    """Add the source directories of `packages` (nothing else, so other changes keep the cache)."""
    for package in packages:
        ctr = ctr.with_directory(in_container(package.path), source.directory(package.path))
    return ctr


def package_env(ws: Workspace, name: str, source: dagger.Directory) -> dagger.Container:
    """The layered development container of one package: deps, then its own sources."""
    return PackageEnvs(ws, source).of(name)


@dataclass
class PackageEnvs:
    """The package containers of one call, each built once: every step of a package starts
    from its package's, every package from the one dependency layer.

    A Dagger object is an immutable query, so sharing one changes no query the engine sees;
    what it saves is the module's own work: dagger-io builds a cattrs converter for every
    field selection (dagger/client/_core.py, Context.__post_init__), ~2 ms each, and a
    package container is about forty of them.
    """

    ws: Workspace
    source: dagger.Directory
    _deps: dagger.Container | None = field(default=None, init=False, repr=False)
    _built: dict[str, dagger.Container] = field(default_factory=dict, init=False, repr=False)

    def dependency_layer(self) -> dagger.Container:
        if self._deps is None:
            self._deps = with_manifests(uv_base(), self.ws, self.source).with_exec(
                # One layer for the whole workspace: identical for every package.
                ["uv", "sync", "--frozen", "--all-packages", "--no-install-workspace"]
            )
        return self._deps

    def of(self, name: str) -> dagger.Container:
        if name not in self._built:
            package = self.ws.get(name)
            closure = self.ws.dependencies_closure(package.name)
            members = [package, *(self.ws.get(d) for d in closure)]
            self._built[name] = with_sources(
                self.dependency_layer(), members, self.source
            ).with_exec(
                # --inexact keeps the dev tools of the layer above (ruff, pytest) installed.
                ["uv", "sync", "--frozen", "--inexact", "--package", package.name]
            )
        return self._built[name]


def runtime_image(ws: Workspace, name: str, source: dagger.Directory) -> dagger.Container:
    """A service's production image: its non-dev venv copied onto a clean Python image."""
    package = ws.get(name)
    settings = package.settings
    if settings.kind != "service" or settings.service_app is None or settings.service_port is None:
        services = ", ".join(p.name for p in ws.packages if p.settings.kind == "service")
        raise UnknownServiceError(
            f"{package.name} is not a service with [tool.acme.service] app and port; "
            f"services: {services or 'none'}"
        )
    members = [package, *(ws.get(d) for d in ws.dependencies_closure(package.name))]
    deps = with_manifests(uv_base(), ws, source).with_exec(
        ["uv", "sync", "--frozen", "--no-dev", "--no-install-workspace", "--package", package.name]
    )
    built = with_sources(deps, members, source).with_exec(
        # Not editable: the venv must work without the source tree next to it.
        ["uv", "sync", "--frozen", "--no-dev", "--no-editable", "--package", package.name]
    )
    port = settings.service_port
    return (
        dag.container()
        .from_(PYTHON_IMAGE)
        .with_directory(VENV, built.directory(VENV))
        .with_env_variable("PATH", PATH)
        # All interfaces of the container: the exposed port is what gets published.
        .with_env_variable("HOST", "0.0.0.0")
        .with_env_variable("PORT", str(port))
        .with_workdir("/app")
        .with_label("org.opencontainers.image.title", package.name)
        .with_label("org.opencontainers.image.version", package.version)
        .with_exposed_port(port)
        .with_entrypoint(service_command(settings.service_script, settings.service_app, port))
    )


def service_command(script: str | None, app: str, port: int) -> list[str]:
    """The package's console script (uvicorn with its JSON log config, on HOST:PORT), else
    uvicorn on the ASGI app factory."""
    if script:
        return [script]
    return ["uvicorn", "--factory", app, "--host", "0.0.0.0", "--port", str(port)]


def with_root_files(
    ctr: dagger.Container, source: dagger.Directory, root_entries: Iterable[str]
) -> dagger.Container:
    """Add the root files the module package's tests read, those the source has."""
    present = {entry.rstrip("/") for entry in root_entries}
    for name in TOOL_TEST_ROOT_FILES:
        if name not in present:
            continue
        if name == ".github":
            ctr = ctr.with_directory(f"{SRC}/{name}", source.directory(name))
        else:
            ctr = ctr.with_file(f"{SRC}/{name}", source.file(name))
    return ctr


def root_directories(ws: Workspace, step: Step) -> tuple[str, ...]:
    """The step's inputs that no package container holds: not the lock, a manifest or a
    package's tree, but a directory the plan adds (a lint's `[tool.acme.lint] workflows`)."""
    packaged = {LOCK_FILE, ROOT_MANIFEST}
    for package in ws.packages:
        packaged.update((package.path, f"{package.path}/{ROOT_MANIFEST}"))
    return tuple(path for path in step.inputs if path not in packaged)


def with_root_directories(
    ctr: dagger.Container, source: dagger.Directory, ws: Workspace, step: Step
) -> dagger.Container:
    """Add the step's root directories, so it reads what its inputs (its key) name."""
    for path in root_directories(ws, step):
        ctr = ctr.with_directory(in_container(path), source.directory(path))
    return ctr


def test_services(ctr: dagger.Container, services: Iterable[str]) -> dagger.Container:
    """Bind each backing service the package declares, under the variables its tests read
    (acme_integrations.testing: TEST_POSTGRES_URL, TEST_S3_ENDPOINT_URL and its keys;
    test_kafka: KAFKA_BOOTSTRAP_SERVERS). Never the variables of a real target (S3_*, AWS_*,
    DATABASE_URL): a suite that reads those must not find a server it did not ask for."""
    for name in services:
        if name == "s3":
            ctr = (
                ctr.with_service_binding("s3", s3_service())
                .with_env_variable("TEST_S3_ENDPOINT_URL", f"http://s3:{S3_PORT}")
                .with_env_variable("TEST_AWS_ACCESS_KEY_ID", TEST_AWS_KEY)
                .with_env_variable("TEST_AWS_SECRET_ACCESS_KEY", TEST_AWS_KEY)
            )
        elif name == "postgres":
            ctr = ctr.with_service_binding("postgres", postgres_service()).with_env_variable(
                "TEST_POSTGRES_URL", TEST_POSTGRES_URL
            )
        elif name == "kafka":
            ctr = ctr.with_service_binding("kafka", kafka_service()).with_env_variable(
                "KAFKA_BOOTSTRAP_SERVERS", f"kafka:{KAFKA_PORT}"
            )
        else:
            raise UnknownServiceError(
                f"unknown test service {name!r} in [tool.acme.test] services; "
                "the Dagger module provides s3, postgres and kafka"
            )
    return ctr


def s3_service() -> dagger.Service:
    """A moto server: S3 for integration tests, nothing leaves the engine."""
    return (
        dag.container().from_(MOTO_IMAGE).with_exposed_port(S3_PORT).as_service(use_entrypoint=True)
    )


def postgres_server() -> dagger.Container:
    """PostgreSQL 15 as its official image starts it: database and user `acme`."""
    return (
        dag.container()
        .from_(POSTGRES_IMAGE)
        .with_env_variable("POSTGRES_USER", "acme")
        .with_env_variable("POSTGRES_PASSWORD", "acme")
        .with_env_variable("POSTGRES_DB", "acme")
    )


def postgres_service() -> dagger.Service:
    """A throwaway PostgreSQL 15 (database and user `acme`)."""
    return postgres_server().with_exposed_port(POSTGRES_PORT).as_service(use_entrypoint=True)


def kafka_service() -> dagger.Service:
    """A single-node KRaft Kafka that advertises itself under its binding alias `kafka`."""
    settings = {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://:{KAFKA_PORT},CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://kafka:{KAFKA_PORT}",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "true",
    }
    ctr = dag.container().from_(KAFKA_IMAGE)
    for key, value in settings.items():
        ctr = ctr.with_env_variable(key, value)
    return ctr.with_exposed_port(KAFKA_PORT).as_service(use_entrypoint=True)


def git_container(source: dagger.Directory) -> dagger.Container:
    """git over the whole source tree, .git included (CI must check out full history)."""
    return dag.container().from_(GIT_IMAGE).with_directory(SRC, source).with_workdir(SRC)
