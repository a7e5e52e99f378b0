"""The Dagger module's pipelines, built offline and inspected (no container engine needed).

dagger-io builds every call lazily: a chain of GraphQL field selections in `obj._ctx.selections`
(dagger/client/_core.py, Context.select), sent to the engine only when a leaf value is awaited
(Context.execute). `FakeEngine` replaces that one method: it answers the leaves the module awaits
(file contents and globs from the real directory the source was loaded from, git from the real
repository, exit codes and output of the other execs as told) and records every query, so the
tests can assert the exact pipelines: images, cache mounts, argv, services, secrets.
"""

# dagger-io 0.21.11 types `@function` with an `infer_variance` TypeVar that mypy cannot solve
# (dagger/mod/_resolver.py), so mypy sees every module function as returning `R?`, and it
# does not apply `@object_type`'s dataclass_transform. Pyright checks both (test_typing.py).
# mypy: disable-error-code="attr-defined, call-arg"

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagger
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; types-PyYAML is not a dependency
from dagger import dag
from dagger._exceptions import QueryErrorValue
from dagger.client._core import Context
from dagger.client._core import Field as Selection
from dagger.client.base import Type
from gql import gql

from acme_ci.core import changes
from acme_ci.core.affected import select_affected, select_all, select_packages
from acme_ci.core.plan import PlanOptions, make_plan
from acme_ci.core.plan_format import plan_text
from acme_ci.dagger import containers as images
from acme_ci.dagger import junit_echo
from acme_ci.dagger.deploy import image_ref
from acme_ci.dagger.executor import PipelineFailedError
from acme_ci.dagger.main import AcmeCi
from acme_ci.dagger.maintenance import MaintenanceFailedError, TargetsError
from acme_ci.dagger.secret_args import EmptySecretError
from acme_ci.dagger.source import SOURCE_IGNORE, UnknownBaseError
from acme_ci.native.discover import load_workspace
from acme_ci.native.git import changed_files
from acme_ci.rehearsal.converter import one_converter

from ..conftest import Repo, repository_file
from .test_junit_echo import failed_suite

ROOT = Path(__file__).resolve().parents[3]
Chain = list[Selection]


def args_of(chain: Sequence[Selection], name: str) -> list[dict[str, Any]]:
    """The arguments of every selection called `name`, in order."""
    return [s.args for s in chain if s.name == name]


def execs(chain: Sequence[Selection]) -> list[list[str]]:
    return [list(a["args"]) for a in args_of(chain, "withExec")]


def chain_of(obj: Type) -> Chain:
    return list(obj._ctx.selections)


PASSING_JUNIT = (
    '<testsuites><testsuite><testcase classname="tests.t" name="ok"/></testsuite></testsuites>'
)


@dataclass
class FakeEngine:
    """Answers the leaf queries of the module offline and records them (see module docstring)."""

    exit_codes: Mapping[tuple[str, ...], int] = field(default_factory=dict)
    outputs: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    no_report: frozenset[tuple[str, ...]] = frozenset()
    stderr_on_failure: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    queries: list[Chain] = field(default_factory=list)
    synced: dict[str, Chain] = field(default_factory=dict)

    def expand(self, chain: Chain) -> Chain:
        if chain and chain[0].name == "node":
            return [*self.synced[chain[0].args["id"]], *chain[1:]]
        return chain

    async def execute(self, ctx: Context, return_type: Any = None) -> Any:
        chain = self.expand(list(ctx.selections))
        self.queries.append(chain)
        leaf = chain[-1]
        if leaf.name == "sync":
            self.fail_like_the_engine(chain)
            ident = f"fake-{len(self.synced)}"
            self.synced[ident] = chain[:-1]
            return ident
        if chain[0].name == "host":
            return self.read_host(chain)
        if leaf.name == "plaintext":  # a secret's value, as `dag.set_secret` was given it
            (secret,) = args_of(chain, "setSecret")
            return secret["plaintext"]
        if leaf.name == "publish":
            return f"{leaf.args['address']}@sha256:{'0' * 64}"
        argv = tuple(execs(chain)[-1])
        if images.GIT_IMAGE in [a["address"] for a in args_of(chain, "from")]:
            return self.run_git(chain, argv, leaf.name)
        if leaf.name == "exitCode":
            return self.exit_codes.get(argv, 0)
        if leaf.name == "stdout":
            return self.outputs.get(argv, "")
        if leaf.name == "stderr":
            return ""
        if leaf.name == "contents":  # a file of a container: the test step's JUnit report
            if argv in self.no_report:
                raise dagger.QueryError([QueryErrorValue("no such file")], gql("query { noop }"))
            return PASSING_JUNIT
        raise AssertionError(f"unexpected query: {[s.name for s in chain]}")

    def fail_like_the_engine(self, chain: Chain) -> None:
        """An exec expecting success that exits non-zero: the engine's ExecError."""
        if chain[-2].name != "withExec" or chain[-2].args.get("expect", "SUCCESS") != "SUCCESS":
            return
        argv = tuple(chain[-2].args["args"])
        code = self.exit_codes.get(argv, 0)
        if code == 0:
            return
        extensions = {
            "_type": "EXEC_ERROR",
            "cmd": list(argv),
            "exitCode": code,
            "stdout": self.outputs.get(argv, ""),
            "stderr": self.stderr_on_failure.get(argv, ""),
        }
        error = QueryErrorValue(f"process {argv} did not complete", extensions=extensions)
        raise dagger.QueryError([error], gql("query { noop }"))

    @staticmethod
    def host_path(chain: Sequence[Selection]) -> Path:
        path = Path()
        for s in chain:
            if s.name in ("directory", "file") and "path" in s.args:
                path = path / s.args["path"]
        return path

    def read_host(self, chain: Chain) -> Any:
        leaf = chain[-1]
        path = self.host_path(chain)
        if leaf.name == "contents":
            return path.read_text(encoding="utf-8")
        if leaf.name == "glob":
            return sorted(p.relative_to(path).as_posix() for p in path.glob(leaf.args["pattern"]))
        if leaf.name == "size":
            return path.stat().st_size
        if leaf.name == "entries":  # directories end in "/" (core/directory.go, Entries)
            return sorted(e.name + ("/" if e.is_dir() else "") for e in path.iterdir())
        raise AssertionError(f"unexpected host query: {leaf.name}")

    def run_git(self, chain: Chain, argv: tuple[str, ...], leaf: str) -> Any:
        """git really runs, in the repository the source directory was loaded from."""
        source = next(a["source"] for a in args_of(chain, "withDirectory"))
        done = subprocess.run(
            argv, cwd=self.host_path(chain_of(source)), capture_output=True, text=True, check=False
        )
        return {"exitCode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}[leaf]

    def step_runs(self) -> list[Chain]:
        """The chains of every step command run: a package container's exec, synced."""
        return [
            q
            for q in self.queries
            if q[-1].name == "sync"
            and q[-2].name == "withExec"
            and images.GIT_IMAGE not in str(q[1].args)
            and q[-2].args["args"][:2] != ["uv", "sync"]
        ]

    def step_commands(self) -> list[tuple[str, str, tuple[tuple[str, ...], ...]]]:
        """(package, workdir, argv list) of every step run: the execs after the package sync."""
        found: dict[tuple[str, ...], tuple[str, str, tuple[tuple[str, ...], ...]]] = {}
        for chain in self.step_runs():
            all_execs = execs(chain)
            sync = max(i for i, a in enumerate(all_execs) if a[:2] == ["uv", "sync"])
            package = all_execs[sync][-1]
            workdir = args_of(chain, "withWorkdir")[-1]["path"]
            commands = tuple(tuple(a) for a in all_execs[sync + 1 :])
            found[(package, workdir, *map(" ".join, commands))] = (package, workdir, commands)
        # A step's intermediate commands are prefixes of its final chain: keep the longest.
        steps = list(found.values())
        return [
            s
            for s in steps
            if not any(o is not s and o[:2] == s[:2] and o[2][: len(s[2])] == s[2] for o in steps)
        ]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    fake = FakeEngine()

    async def execute(ctx: Context, return_type: Any = None) -> Any:
        return await fake.execute(ctx, return_type)

    monkeypatch.setattr(Context, "execute", execute)
    with one_converter():  # the fake structures nothing: see acme_ci.rehearsal.converter
        yield fake


def module(root: Path = ROOT) -> AcmeCi:
    return AcmeCi(source=dag.host().directory(str(root), exclude=SOURCE_IGNORE))


def in_src(path: str) -> str:
    return images.in_container(path)


# ---------------------------------------------------------------- package containers


@pytest.mark.anyio
async def test_env_layers_base_uv_cache_deps_then_only_the_package_sources(
    engine: FakeEngine,
) -> None:
    ctr = await module().env("acme-user-service")
    chain = chain_of(ctr)
    assert chain[1].name == "from"
    assert chain[1].args["address"] == images.PYTHON_IMAGE

    uv = next(a for a in args_of(chain, "withFile") if a["path"] == "/usr/local/bin/uv")
    uv_chain = chain_of(uv["source"])
    assert args_of(uv_chain, "from") == [{"address": images.UV_IMAGE}]
    assert args_of(uv_chain, "file") == [{"path": "/uv"}]

    names = [s.name for s in chain]
    mount = args_of(chain, "withMountedCache")
    assert [m["path"] for m in mount] == [images.UV_CACHE_DIR]
    assert args_of(chain_of(mount[0]["cache"]), "cacheVolume") == [{"key": "acme-ci-uv"}]
    first_sync = next(
        i for i, s in enumerate(chain) if s.name == "withExec" and s.args["args"][0] == "uv"
    )
    assert names.index("withMountedCache") < first_sync

    assert execs(chain) == [
        ["sh", "-c", images.INSTALL_GIT],  # git: in the base layer, for every package's tests
        ["uv", "sync", "--frozen", "--all-packages", "--no-install-workspace"],
        ["uv", "sync", "--frozen", "--inexact", "--package", "acme-user-service"],
    ]
    ws = load_workspace(ROOT)
    files_before_deps = [
        a["path"] for a in [s.args for s in chain[:first_sync] if s.name == "withFile"]
    ]
    assert files_before_deps == [
        "/usr/local/bin/uv",
        "/src/uv.lock",
        "/src/pyproject.toml",
        *(f"/src/{p.path}/pyproject.toml" for p in ws.packages),
    ]
    # Sources only after the dependency layer, and only the package's and its deps'.
    assert not any(s.name == "withDirectory" for s in chain[:first_sync])
    copied = [a["path"] for a in args_of(chain, "withDirectory")]
    wanted = ["acme-user-service", *ws.dependencies_closure("acme-user-service")]
    assert copied == [in_src(ws.get(n).path) for n in wanted]
    assert engine.queries  # the workspace came through the Directory API


@pytest.mark.anyio
async def test_dependency_layer_is_identical_for_every_package(engine: FakeEngine) -> None:
    """Built once: the engine caches the layer that every package container shares."""
    acme = module()

    def deps_layer(chain: Chain) -> list[tuple[str, str]]:
        upto = [repr(s.args.get("args", ""))[:5] for s in chain].index("['uv'") + 1
        return [(s.name, repr(sorted(s.args))) for s in chain[:upto]]

    layers = {
        name: deps_layer(chain_of(await acme.env(name)))
        for name in ("acme-logger", "acme-user-service", "acme-maintenance")
    }
    assert len({repr(v) for v in layers.values()}) == 1


@pytest.mark.anyio
async def test_unknown_test_service_is_rejected_with_the_known_ones() -> None:
    with pytest.raises(images.UnknownServiceError, match="s3, postgres and kafka"):
        images.test_services(dag.container(), ["redis"])


def test_test_containers_bind_services_with_the_agreed_variables() -> None:
    chain = chain_of(images.test_services(dag.container(), ["s3", "postgres", "kafka"]))
    bindings = {a["alias"]: a["service"] for a in args_of(chain, "withServiceBinding")}
    assert sorted(bindings) == ["kafka", "postgres", "s3"]
    env = {a["name"]: a["value"] for a in args_of(chain, "withEnvVariable")}
    # The names acme_integrations.testing reads (TEST_*), and test_kafka's broker address.
    assert env == {
        "TEST_S3_ENDPOINT_URL": "http://s3:5000",
        "TEST_AWS_ACCESS_KEY_ID": "testing",
        "TEST_AWS_SECRET_ACCESS_KEY": "testing",
        "TEST_POSTGRES_URL": "postgresql://acme:acme@postgres:5432/acme",
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
    }
    for alias, image in (
        ("s3", images.MOTO_IMAGE),
        ("postgres", images.POSTGRES_IMAGE),
        ("kafka", images.KAFKA_IMAGE),
    ):
        service = chain_of(bindings[alias])
        assert args_of(service, "from") == [{"address": image}]
        assert service[-1].name == "asService"
        assert service[-1].args == {"useEntrypoint": True}
    kafka = {a["name"]: a["value"] for a in args_of(chain_of(bindings["kafka"]), "withEnvVariable")}
    assert kafka["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"


# ---------------------------------------------------------------- the same plan as native


@pytest.mark.anyio
async def test_ci_runs_exactly_the_native_plans_argv_per_step(engine: FakeEngine) -> None:
    ws = load_workspace(ROOT)
    native = make_plan(ws, select_all(ws, "--all"))
    summary = await module().ci(all_=True, jobs=2)

    ran = sorted(engine.step_commands())
    expected = sorted((s.package, in_src(s.workdir), s.commands) for s in native.steps)
    assert ran == expected
    assert f"{len(native.steps)} steps: {len(native.steps)} passed" in summary


@pytest.mark.anyio
async def test_plan_text_matches_the_native_plan(engine: FakeEngine) -> None:
    ws = load_workspace(ROOT)
    assert await module().plan(all_=True) == plan_text(make_plan(ws, select_all(ws, "--all")))


@pytest.mark.anyio
async def test_affected_selection_comes_from_git_like_native(
    engine: FakeEngine, repo: Repo
) -> None:
    repo.write("libs/util/src/util/extra.py", "X = 1\n")
    repo.commit("util changed")
    base = "HEAD~1"
    native = select_affected(load_workspace(repo.root), changed_files(repo.root, base))
    assert sorted(native.reasons) == ["api", "util"]

    text = await module(repo.root).plan(base=base)
    ws = load_workspace(repo.root)
    assert text == plan_text(make_plan(ws, native))
    git_execs = [execs(q)[-1] for q in engine.queries if images.GIT_IMAGE in str(q[1].args)]
    assert git_execs[0][-3:] == ["--verify", "--quiet", "HEAD~1^{commit}"]
    questions = [changes.diff_since(base), changes.UNCOMMITTED, changes.UNTRACKED]
    assert git_execs[1:] == [["git", "-c", "safe.directory=*", *q] for q in questions]


@pytest.mark.anyio
async def test_unknown_base_is_an_error_as_in_the_native_shell(
    engine: FakeEngine, repo: Repo
) -> None:
    # Never a silent full run: the same refusal as `acme-ci ci --base no-such-ref` (exit 2).
    with pytest.raises(UnknownBaseError, match="unknown base ref 'no-such-ref'"):
        await module(repo.root).plan(base="no-such-ref")


@pytest.mark.anyio
async def test_failures_are_aggregated_into_one_error_listing_every_failed_step(
    engine: FakeEngine,
) -> None:
    engine.exit_codes = {("ruff", "check", "."): 1}
    with pytest.raises(PipelineFailedError) as caught:
        await module().ci(all_=True, jobs=2)
    run = caught.value.run
    ws = load_workspace(ROOT)
    lint_ids = {f"{p.name}:lint" for p in ws.packages}
    assert {r.step_id for r in run.failed} == lint_ids
    for step_id in lint_ids:
        assert step_id in str(caught.value)
    # Unrelated work went on: every test ran, every build was blocked by its lint.
    statuses = {r.step_id: r.status for r in run.results}
    assert {statuses[f"{p.name}:test"] for p in ws.packages} == {"passed"}
    assert {statuses[f"{p.name}:build"] for p in ws.packages} == {"blocked"}


@pytest.mark.anyio
async def test_a_test_step_judged_from_its_junit_report_like_native(engine: FakeEngine) -> None:
    # pytest exiting 0 without a report is a failure, in both shells (acme_ci.core.verdict).
    plan = make_plan(load_workspace(ROOT), select_all(load_workspace(ROOT)))
    user_test = plan.get("acme-user-service:test")
    engine.no_report = frozenset(user_test.commands)
    with pytest.raises(PipelineFailedError) as caught:
        await module().ci(all_=True, jobs=2)
    assert [r.step_id for r in caught.value.run.failed] == ["acme-user-service:test"]
    assert "acme-user-service: pytest wrote no JUnit report" in str(caught.value)


@pytest.mark.anyio
async def test_lint_returns_the_step_output(engine: FakeEngine) -> None:
    engine.outputs = {("ruff", "check", "."): "All checks passed!"}
    out = await module().lint("acme-logger")
    assert "All checks passed!" in out
    ws = load_workspace(ROOT)
    plan = make_plan(ws, select_packages(ws, ["acme-logger"]), PlanOptions(tasks=("lint",)))
    lint = plan.get("acme-logger:lint").commands
    assert engine.step_commands() == [("acme-logger", "/src/common/logger", lint)]
    assert lint[:3] == (
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy", "src", "tests"),
    )


@pytest.mark.anyio
async def test_build_returns_the_dist_directory_of_the_build_step(engine: FakeEngine) -> None:
    dist = await module().build("acme-health")
    chain = engine.expand(chain_of(dist))
    assert chain[-1].name == "directory"
    assert chain[-1].args == {"path": "/src/dist/acme-health"}
    assert execs(chain)[-1] == [
        "uv",
        "build",
        "--package",
        "acme-health",
        "--out-dir",
        "dist/acme-health",
        "--quiet",
    ]


# ---------------------------------------------------------------- images, delivery


@pytest.mark.anyio
async def test_image_runs_uvicorn_on_the_service_port_without_the_build_tools(
    engine: FakeEngine,
) -> None:
    ws = load_workspace(ROOT)
    package = ws.get("acme-user-service")
    chain = chain_of(await module().image(package.name))
    assert chain[1].args == {"address": images.PYTHON_IMAGE}
    assert execs(chain) == []  # nothing runs in the runtime image itself
    venv = args_of(chain, "withDirectory")
    assert [v["path"] for v in venv] == [images.VENV]
    built = chain_of(venv[0]["source"])
    assert execs(built)[-1] == [
        "uv",
        "sync",
        "--frozen",
        "--no-dev",
        "--no-editable",
        "--package",
        package.name,
    ]
    port = package.settings.service_port
    assert args_of(chain, "withExposedPort") == [{"port": port}]
    assert args_of(chain, "withEntrypoint") == [{"args": [package.settings.service_script]}]
    env = {a["name"]: a["value"] for a in args_of(chain, "withEnvVariable")}
    assert (env["HOST"], env["PORT"]) == ("0.0.0.0", str(port))
    service = chain_of(await module().serve(package.name))
    assert service[-1].name == "asService"


def test_a_service_without_a_script_runs_uvicorn_on_its_app_factory() -> None:
    assert images.service_command(None, "pkg.app:make", 8000) == [
        "uvicorn",
        "--factory",
        "pkg.app:make",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]


@pytest.mark.anyio
async def test_image_of_a_library_is_refused(engine: FakeEngine) -> None:
    with pytest.raises(images.UnknownServiceError, match="acme-user-service"):
        await module().image("acme-logger")


@pytest.mark.anyio
async def test_publish_pushes_every_service_with_registry_auth(engine: FakeEngine) -> None:
    password = dag.set_secret("registry-password", "hunter2")
    refs = await module().publish("abc123", "registry.example/acme", "bot", password)
    services = [p.name for p in load_workspace(ROOT).packages if p.settings.kind == "service"]
    assert refs == [f"registry.example/acme/{s}:abc123@sha256:{'0' * 64}" for s in services]
    pushes = [q for q in engine.queries if q[-1].name == "publish"]
    assert len(pushes) == len(services)
    for push in pushes:
        auth = args_of(push, "withRegistryAuth")
        assert len(auth) == 1
        assert auth[0]["username"] == "bot"
        assert auth[0]["secret"] is password
        assert "hunter2" not in str([s.args for s in push])


@pytest.mark.anyio
async def test_deploy_renders_deployments_with_probes_and_services(engine: FakeEngine) -> None:
    text = await module().deploy("abc123", "registry.example/acme", namespace="prod")
    docs = list(yaml.safe_load_all(text))
    services = [p for p in load_workspace(ROOT).packages if p.settings.kind == "service"]
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        (kind, p.name) for p in services for kind in ("Deployment", "Service")
    ]
    for package, deployment in zip(services, docs[::2], strict=True):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"registry.example/acme/{package.name}:abc123"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readiness"
        assert container["livenessProbe"]["httpGet"]["path"] == "/liveness"
        assert container["ports"][0]["containerPort"] == package.settings.service_port
        assert deployment["metadata"]["namespace"] == "prod"
    assert not [q for q in engine.queries if q[0].name == "container"]  # nothing applied


@pytest.mark.anyio
async def test_deploy_applies_with_kubectl_and_a_mounted_kubeconfig(engine: FakeEngine) -> None:
    kubeconfig = dag.set_secret("kubeconfig", "apiVersion: v1")
    await module().deploy("abc123", "registry.example/acme", kubeconfig=kubeconfig)
    (apply,) = [q for q in engine.queries if q[0].name == "container"]
    assert args_of(apply, "from") == [{"address": images.KUBECTL_IMAGE}]
    assert args_of(apply, "withMountedSecret")[0]["source"] is kubeconfig
    assert args_of(apply, "withExec") == [
        {"args": ["apply", "-f", "/manifests/acme.yaml"], "useEntrypoint": True}
    ]


# ---------------------------------------------------------------- maintenance


def maintenance_run(engine: FakeEngine) -> Chain:
    (run,) = [q for q in engine.queries if q[-1].name == "exitCode"]
    return run


def env_of(chain: Chain) -> dict[str, str]:
    return {a["name"]: a["value"] for a in args_of(chain, "withEnvVariable")}


@pytest.mark.anyio
async def test_maintenance_passes_credentials_only_as_secret_variables(engine: FakeEngine) -> None:
    engine.outputs = {("maintenance", "--cleanup"): "report: 3 subsystems ok"}
    key_id = dag.set_secret("key-id", "AKIA-REAL")
    secret = dag.set_secret("secret", "s3cr3t")
    database = dag.set_secret("db", "postgresql://u:p@db/x")
    report = await module().maintenance(
        cleanup=True,
        database_url=database,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        s3_endpoint_url="https://s3.example",
        kafka_bootstrap_servers="kafka.example:9092",
    )
    assert report == "report: 3 subsystems ok"
    run = maintenance_run(engine)
    assert execs(run)[-1] == ["maintenance", "--cleanup"]
    secrets = {a["name"]: a["secret"] for a in args_of(run, "withSecretVariable")}
    assert secrets == {
        "DATABASE_URL": database,
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
    }
    env = env_of(run)
    assert not {"DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(env)
    assert env["S3_ENDPOINT_URL"] == "https://s3.example"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka.example:9092"
    assert not args_of(run, "withServiceBinding")


@pytest.mark.anyio
async def test_maintenance_journal_is_left_to_the_cli_never_a_cache_volume(
    engine: FakeEngine,
) -> None:
    """The CLI's default keeps it with the systems maintained (database, else the bucket)."""
    await module().maintenance(database_url=dag.set_secret("db", "postgresql://u:p@db/x"))
    run = maintenance_run(engine)
    assert "MAINTENANCE_JOURNAL" not in env_of(run)
    assert [a["path"] for a in args_of(run, "withMountedCache")] == [images.UV_CACHE_DIR]


@pytest.mark.anyio
async def test_maintenance_without_an_endpoint_means_aws_as_the_cli_says(
    engine: FakeEngine,
) -> None:
    await module().maintenance(
        aws_access_key_id=dag.set_secret("k", "AKIA"),
        aws_secret_access_key=dag.set_secret("s", "x"),
    )
    run = maintenance_run(engine)
    env = env_of(run)
    # S3_ENDPOINT_URL unset is AWS itself (acme_integrations.settings); no Kafka address,
    # no Kafka: nothing throwaway is bound behind the user's back.
    assert "S3_ENDPOINT_URL" not in env
    assert "KAFKA_BOOTSTRAP_SERVERS" not in env
    assert not args_of(run, "withServiceBinding")
    assert execs(run)[-1] == ["maintenance"]


@pytest.mark.anyio
async def test_maintenance_rehearsal_binds_throwaway_targets_with_the_bucket_created(
    engine: FakeEngine,
) -> None:
    await module().maintenance(rehearsal=True, s3_bucket="rehearsed")
    run = maintenance_run(engine)
    bindings = {a["alias"]: a["service"] for a in args_of(run, "withServiceBinding")}
    assert sorted(bindings) == ["rehearsal-db", "rehearsal-s3"]  # Kafka only when given
    env = env_of(run)
    assert env["S3_ENDPOINT_URL"] == "http://rehearsal-s3:5000"
    assert env["S3_BUCKET"] == "rehearsed"
    secrets = {a["name"] for a in args_of(run, "withSecretVariable")}
    assert secrets == {"DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    # The bucket exists before maintenance runs: created in the same container, just before.
    create, maintain = execs(run)[-2:]
    assert create[:2] == ["python", "-c"]
    assert 'create_bucket(Bucket=os.environ["S3_BUCKET"])' in create[2]
    # No broker in a rehearsal: it maintains the targets it starts (else Kafka "not
    # configured" exits 2 and fails every rehearsal).
    assert maintain == ["maintenance", "--only", "db,s3"]
    # The database keeps its data (and so the journal) in a named cache volume.
    database = chain_of(bindings["rehearsal-db"])
    (mount,) = args_of(database, "withMountedCache")
    assert args_of(chain_of(mount["cache"]), "cacheVolume") == [
        {"key": "acme-ci-rehearsal-postgres"}
    ]
    assert env_of(database)["PGDATA"].startswith(mount["path"] + "/")


@pytest.mark.anyio
async def test_a_rehearsal_with_real_targets_is_refused(engine: FakeEngine) -> None:
    with pytest.raises(TargetsError, match="--s3-endpoint-url"):
        await module().maintenance(rehearsal=True, s3_endpoint_url="https://s3.example")
    assert not [q for q in engine.queries if q[-1].name == "exitCode"]


@pytest.mark.anyio
async def test_cd_without_production_targets_stops_before_anything_runs(
    engine: FakeEngine,
) -> None:
    with pytest.raises(TargetsError) as caught:
        await module().cd("abc123", "registry.example/acme", database_url=dag.set_secret("db", "x"))
    message = str(caught.value)
    for flag in ("--aws-access-key-id", "--aws-secret-access-key", "--kafka-bootstrap-servers"):
        assert flag in message
    assert "--database-url" not in message
    assert "--rehearsal" in message
    assert not [q for q in engine.queries if q[-1].name in ("publish", "sync", "exitCode")]


def production(**overrides: Any) -> dict[str, Any]:
    """Every secret and target cd needs in production, each set, but for `overrides`."""
    given = {
        name: dag.set_secret(name, f"value of {name}")
        for name in ("password", "kubeconfig", "database_url")
    }
    given["aws_access_key_id"] = dag.set_secret("key-id", "AKIA-REAL")
    given["aws_secret_access_key"] = dag.set_secret("secret", "s3cr3t")
    return {**given, "kafka_bootstrap_servers": "kafka.example:9092", **overrides}


def side_effects(engine: FakeEngine) -> list[Chain]:
    """The queries that run or change anything: execs, publishes, maintenance, digests."""
    return [q for q in engine.queries if q[-1].name not in ("plaintext", "contents", "glob")]


@pytest.mark.anyio
async def test_cd_stops_before_anything_runs_when_a_required_secret_is_empty(
    engine: FakeEngine,
) -> None:
    """GitHub passes a secret the repository does not define as an empty variable, and
    `env:NAME` reads a set-but-empty variable as an empty secret."""
    empty = {name: dag.set_secret(name, "") for name in ("kubeconfig", "aws_secret_access_key")}
    with pytest.raises(EmptySecretError) as caught:
        await module().cd("abc123", "registry.example/acme", **production(**empty))
    message = str(caught.value)
    assert message.startswith("--kubeconfig, --aws-secret-access-key: empty")
    assert "nothing was run" in message
    assert "leave the flag out" in message
    for other in ("--password", "--database-url", "--aws-access-key-id"):
        assert other not in message
    assert not side_effects(engine)


@pytest.mark.anyio
async def test_every_function_refuses_an_empty_secret_it_would_use(engine: FakeEngine) -> None:
    acme = module()
    empty = dag.set_secret("unset", "")
    calls = {
        "--password": acme.publish("abc123", "registry.example/acme", "bot", empty),
        "--kubeconfig": acme.deploy("abc123", "registry.example/acme", kubeconfig=empty),
        "--database-url": acme.maintenance(database_url=empty),
    }
    for flag, call in calls.items():
        with pytest.raises(EmptySecretError, match=f"^{flag}: empty"):
            await call
    assert not side_effects(engine)


@pytest.mark.anyio
async def test_cd_rehearsal_publishes_and_maintains_throwaway_targets(engine: FakeEngine) -> None:
    report = await module().cd("abc123", "registry.example/acme", rehearsal=True)
    assert "Published:" in report
    run = maintenance_run(engine)
    assert sorted(a["alias"] for a in args_of(run, "withServiceBinding")) == [
        "rehearsal-db",
        "rehearsal-s3",
    ]


# ---------------------------------------------------------------- side effects on every call


def call_ids_before_side_effects(chain: Chain) -> list[str]:
    """The call id set before each exec after the environment's build (git, uv sync): ''
    where none is."""
    builds = [i for i, s in enumerate(chain) if s.name == "withExec" and s.args["args"][0] == "uv"]
    ids, current = [], ""
    for selection in chain[max(builds, default=-1) + 1 :]:
        if selection.name == "withEnvVariable" and selection.args["name"] == "ACME_CI_CALL_ID":
            current = selection.args["value"]
        elif selection.name == "withExec":
            ids.append(current)
            current = ""
    return ids


@pytest.mark.anyio
async def test_every_side_effect_exec_has_an_input_unique_to_the_call(
    engine: FakeEngine,
) -> None:
    """`cache="never"` makes only the function call unique (core/modfunc.go); the execs
    inside are cached by their inputs unless one differs on every call."""
    acme = module()
    for _ in range(2):
        await acme.maintenance(rehearsal=True)
        await acme.deploy("abc", "registry.example/acme", kubeconfig=dag.set_secret("k", "x"))
    maintenance = [q for q in engine.queries if q[-1].name == "exitCode"]
    applies = [
        q
        for q in engine.queries
        if [a["address"] for a in args_of(q, "from")] == [images.KUBECTL_IMAGE]
    ]
    assert len(maintenance) == len(applies) == 2
    for first, second in (maintenance, applies):
        # Each side-effect exec (bucket creation, maintenance, kubectl apply) is preceded by
        # a call id of its own, and no two calls share one.
        assert execs(first) == execs(second)
        first_ids, second_ids = (call_ids_before_side_effects(c) for c in (first, second))
        assert "" not in first_ids + second_ids, execs(first)
        assert not set(first_ids) & set(second_ids)


@pytest.mark.anyio
async def test_maintenance_failure_raises_with_its_report(engine: FakeEngine) -> None:
    engine.exit_codes = {("maintenance",): 1}
    engine.outputs = {("maintenance",): "kafka: clean failed after 3 attempts"}
    with pytest.raises(MaintenanceFailedError, match="kafka: clean failed"):
        await module().maintenance()


@pytest.mark.anyio
async def test_test_steps_get_the_services_their_package_declares(engine: FakeEngine) -> None:
    ws = load_workspace(ROOT)
    await module().ci(all_=True, jobs=2)
    pytest_runs = [q for q in engine.step_runs() if execs(q)[-1][:3] == ["python", "-m", "pytest"]]
    for package in ws.packages:
        (run,) = [
            q for q in pytest_runs if args_of(q, "withWorkdir")[-1]["path"] == in_src(package.path)
        ]
        aliases = sorted(a["alias"] for a in args_of(run, "withServiceBinding"))
        assert aliases == sorted(package.settings.test_services), package.name


# ---------------------------------------------------------------- failures are never cached


@pytest.mark.anyio
async def test_every_step_command_expects_success_so_a_failure_is_never_cached(
    engine: FakeEngine,
) -> None:
    # The engine caches a completed exec, whatever its exit code, when the exec allows it
    # (expect=ANY); it never caches an error (acme_ci.dagger.junit_echo cites the source).
    await module().ci(all_=True, jobs=2)
    runs = engine.step_runs()
    assert runs
    for run in runs:
        assert run[-2].args.get("expect", "SUCCESS") == "SUCCESS", execs(run)[-1]


@pytest.mark.anyio
async def test_a_failed_test_steps_verdict_comes_from_the_report_echoed_on_stderr(
    engine: FakeEngine, tmp_path: Path
) -> None:
    plan = make_plan(load_workspace(ROOT), select_all(load_workspace(ROOT)))
    (argv,) = plan.get("acme-user-service:test").commands
    engine.exit_codes = {argv: 1}
    engine.outputs = {argv: "1 failed, 4 passed, 3 rerun"}
    # What the echo plugin writes at the end of a real failing run (test_junit_echo.py).
    engine.stderr_on_failure = {argv: "a warning\n" + failed_suite(tmp_path)}
    with pytest.raises(PipelineFailedError) as caught:
        await module().ci(all_=True, jobs=2)
    (failed,) = caught.value.run.failed
    assert failed.step_id == "acme-user-service:test"
    assert failed.failed_tests == ("test_small::test_bad",)
    assert [(f.test_id, f.attempts) for f in failed.flakes] == [
        (f"test_flaky::test_flaky[{n}]", 2) for n in "abc"
    ]
    assert failed.passed_tests == 4
    assert "1 failed, 4 passed, 3 rerun" in failed.output
    assert "a warning" in failed.output
    assert "exit code 1" in failed.output
    assert junit_echo.BEGIN not in failed.output


# ---------------------------------------------------------------- what the test suites need


@pytest.mark.anyio
async def test_the_module_packages_tests_get_the_root_files_they_read(engine: FakeEngine) -> None:
    ws = load_workspace(ROOT)
    await module().ci(all_=True, jobs=2)
    by_package = {
        args_of(q, "withWorkdir")[-1]["path"]: q
        for q in engine.step_runs()
        if execs(q)[-1][:3] == ["python", "-m", "pytest"]
    }
    for package in ws.packages:
        run = by_package[in_src(package.path)]
        files = {a["path"] for a in args_of(run, "withFile")} | {
            a["path"] for a in args_of(run, "withDirectory")
        }
        root_files = {f"/src/{name}" for name in images.TOOL_TEST_ROOT_FILES}
        if package.path == "ci":  # dagger.json's source: acme-ci tests the pipeline's files
            assert root_files <= files
        else:
            assert not root_files & files, package.name
        assert ["sh", "-c", images.INSTALL_GIT] in execs(run)
    assert "git" in images.INSTALL_GIT.split()


def test_a_test_reading_an_absent_root_file_fails_saying_so() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"no-such-file\.json is missing"):
        repository_file("no-such-file.json")


def test_image_references_are_lowercase_whatever_the_owners_case() -> None:
    # The OCI reference grammar (distribution/reference): a repository path is lowercase.
    ref = image_ref("ghcr.io/ACME-Corp/", "acme-user-service", "3f2a9cDEF")
    assert ref == "ghcr.io/acme-corp/acme-user-service:3f2a9cDEF"
    repository, tag = ref.rsplit(":", 1)
    assert re.fullmatch(
        r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*", repository.split("/", 1)[1]
    )
    assert re.fullmatch(r"[\w][\w.-]{0,127}", tag)


@pytest.mark.anyio
async def test_publish_and_deploy_use_the_lowercased_references(engine: FakeEngine) -> None:
    refs = await module().publish("abc123", "ghcr.io/ACME-Corp")
    assert all(r.startswith("ghcr.io/acme-corp/") for r in refs)
    docs = list(yaml.safe_load_all(await module().deploy("abc123", "ghcr.io/ACME-Corp")))
    images_used = [
        c["image"] for d in docs[::2] for c in d["spec"]["template"]["spec"]["containers"]
    ]
    assert images_used
    assert all(i.startswith("ghcr.io/acme-corp/") for i in images_used)
