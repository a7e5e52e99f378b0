"""The Dagger module: the ACME pipeline (lint, test, build, images, deploy, maintenance).

A thin shell: the plan, its selection and the scheduling come from the engine-neutral core,
the containers from the dagger_* modules next to this one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any, ParamSpec, TypeVar, cast

import anyio
import dagger
from dagger import DefaultPath, Doc, Ignore, check, function, object_type

from acme_ci.core.affected import select_all, select_packages
from acme_ci.core.plan import Plan, PlanOptions, Step, make_plan
from acme_ci.core.plan_format import plan_text
from acme_ci.core.remote_cache import RemoteCacheError
from acme_ci.core.scheduler import RunResult, run_plan
from acme_ci.core.workspace import Workspace
from acme_ci.dagger.containers import (
    SRC,
    PackageEnvs,
    package_env,
    runtime_image,
    test_services,
    with_root_files,
)
from acme_ci.dagger.deploy import image_ref, kubectl_apply, manifests, service_packages, to_yaml
from acme_ci.dagger.executor import ContainerExecutor, check_run
from acme_ci.dagger.junit_echo import with_junit_echo
from acme_ci.dagger.maintenance import (
    Targets,
    TargetsError,
    run_maintenance,
    subsystems_to_run,
    with_targets,
)
from acme_ci.dagger.remote_cache import CacheOptions, RemoteStepCache, step_inputs
from acme_ci.dagger.source import SOURCE_IGNORE, read_workspace, select

MAINTENANCE_PACKAGE = "acme-maintenance"
S3_ENDPOINT_DOC = "S3 endpoint URL; empty: AWS itself (as the maintenance CLI)"
KAFKA_DOC = "Kafka bootstrap servers; empty: Kafka is not configured"
REHEARSAL_DOC = (
    "Throwaway targets: a moto S3 with the bucket created and a PostgreSQL kept in a cache "
    "volume (Kafka only at --kafka-bootstrap-servers)"
)
CACHE_URL_DOC = "Remote step cache, s3://BUCKET/PREFIX; empty: none"
CACHE_SCOPE_DOC = "The run's cache scope (its branch): written, then read before the default's"
P = ParamSpec("P")
R = TypeVar("R")


def uncached(func: Callable[P, R]) -> Callable[P, R]:
    """`@function(cache="never")`, for functions with side effects.

    dagger-io 0.21.11 accepts `cache` at run time (mod/_module.py, Module.function) but its
    typing overloads omit it, so the call is made through Any.
    """
    decorate = cast(Any, function)
    return cast(Callable[P, R], decorate(cache="never")(func))


def checked(func: Callable[P, R]) -> Callable[P, R]:
    """`@check` (a function `dagger check` runs), typed.

    In dagger-io 0.21.11 `check` returns a union of function and decorator
    (mod/_module.py, Module.check), which the type checkers cannot pass on to `function`.
    """
    return cast(Callable[P, R], check(func))


@dataclass(frozen=True)
class RootFiles:
    """The entries at the source's root, and the module package's directory ('' if none)."""

    entries: tuple[str, ...]
    module_dir: str


@object_type
class AcmeCi:
    """The ACME monorepo pipeline, the same plan as `./pipeline.sh` runs natively."""

    source: Annotated[
        dagger.Directory,
        Doc("The repository (default: the module's context root, .git included)"),
        DefaultPath("/"),
        Ignore(SOURCE_IGNORE),
    ]

    async def _workspace(self) -> Workspace:
        return await read_workspace(self.source)

    def _step_container(
        self, envs: PackageEnvs, step: Step, root_files: RootFiles
    ) -> dagger.Container:
        ws = envs.ws
        ctr = envs.of(step.package)
        if step.task != "test":
            return ctr
        package = ws.get(step.package)
        ctr = with_junit_echo(test_services(ctr, package.settings.test_services))
        if package.path == root_files.module_dir:
            ctr = with_root_files(ctr, self.source, root_files.entries)
        return ctr

    async def _root_files(self) -> RootFiles:
        """The source's root entries, and the package dagger.json names as the module's."""
        entries = tuple(await self.source.entries())
        if "dagger.json" not in entries:
            return RootFiles(entries, "")
        declared = json.loads(await self.source.file("dagger.json").contents())
        return RootFiles(entries, str(declared.get("source", "")).strip("/"))

    async def _run(
        self, ws: Workspace, plan: Plan, jobs: int, cache: CacheOptions | None = None
    ) -> tuple[RunResult, ContainerExecutor]:
        root_files = await self._root_files()
        envs = PackageEnvs(ws, self.source)
        executor = ContainerExecutor(lambda step: self._step_container(envs, step, root_files))
        if cache is not None:
            executor.remote = self._remote_cache(envs, root_files, cache)
        run = await run_plan(plan, executor, jobs=jobs, engine="dagger")
        if executor.remote is not None:
            remote = executor.remote
            warnings = (*run.warnings, *remote.warnings, *filter(None, [remote.skipped]))
            run = replace(run, warnings=warnings, remote_cache=remote.describe())
        return run, executor

    def _remote_cache(
        self, envs: PackageEnvs, root_files: RootFiles, cache: CacheOptions
    ) -> RemoteStepCache:
        """The remote cache, its lookups run in the module package's container (boto3)."""
        ws = envs.ws
        tool = next((p for p in ws.packages if p.path == root_files.module_dir), None)
        if tool is None:
            raise RemoteCacheError(
                "the remote cache runs in the module package's container, and the source "
                "has no dagger.json naming a workspace package"
            )
        return RemoteStepCache(
            options=cache,
            source=self.source,
            tool=envs.of(tool.name),
            ws=ws,
            inputs_of=lambda step: step_inputs(ws, step, root_files.module_dir, root_files.entries),
        )

    async def _single(self, package: str, task: str) -> tuple[RunResult, ContainerExecutor]:
        ws = await self._workspace()
        plan = make_plan(ws, select_packages(ws, [package]), PlanOptions(tasks=(task,)))
        run, executor = await self._run(ws, plan, jobs=1)
        check_run(run)
        return run, executor

    async def _all(self, task: str, jobs: int) -> str:
        ws = await self._workspace()
        plan = make_plan(ws, select_all(ws, "dagger check"), PlanOptions(tasks=(task,)))
        run, _ = await self._run(ws, plan, jobs)
        return check_run(run)

    @function
    async def env(
        self, package: Annotated[str, Doc("Package name, e.g. acme-user-service")]
    ) -> dagger.Container:
        """The package's layered container: locked deps, then its sources (try `terminal`)."""
        return package_env(await self._workspace(), package, self.source)

    @function
    async def lint(self, package: Annotated[str, Doc("Package name")]) -> str:
        """Lint one package (ruff check, ruff format --check, mypy --strict); the step's output."""
        run, _ = await self._single(package, "lint")
        return run.results[0].output

    @function
    async def test(self, package: Annotated[str, Doc("Package name")]) -> str:
        """Test one package, with its backing services bound; the step's output."""
        run, _ = await self._single(package, "test")
        return run.results[0].output

    @function
    async def build(self, package: Annotated[str, Doc("Package name")]) -> dagger.Directory:
        """Build one package's wheel and sdist; the dist directory."""
        run, executor = await self._single(package, "build")
        step = run.plan.steps[0]
        return executor.finished[step.id].directory(f"{SRC}/{step.outputs[0]}")

    @function
    async def plan(
        self,
        base: Annotated[str, Doc("Git ref to diff against; empty: all packages")] = "",
        all_: Annotated[bool, Doc("Select every package")] = False,
    ) -> str:
        """The plan without running it: selection with reasons, steps and their argv."""
        ws = await self._workspace()
        return plan_text(make_plan(ws, await select(ws, self.source, base, all_)))

    @function
    async def ci(
        self,
        base: Annotated[str, Doc("Git ref to diff against, e.g. origin/main; empty: all")] = "",
        all_: Annotated[bool, Doc("Select every package")] = False,
        jobs: Annotated[int, Doc("Steps run at the same time")] = 4,
        cache_url: Annotated[str, Doc(CACHE_URL_DOC)] = "",
        cache_scope: Annotated[str, Doc(CACHE_SCOPE_DOC)] = "",
        cache_default_scope: Annotated[str, Doc("The default branch's scope")] = "main",
        cache_read_only: Annotated[bool, Doc("Read the cache, never write (forks)")] = False,
        cache_pull_request: Annotated[
            bool, Doc("A pull request: never writes the default branch's scope")
        ] = False,
        cache_signing_key: Annotated[
            dagger.Secret | None, Doc("HMAC key: sign entries, use only signed ones")
        ] = None,
        cache_endpoint_url: Annotated[str, Doc("S3 endpoint of the cache; empty: AWS")] = "",
        cache_region: Annotated[str, Doc("AWS region of the cache bucket")] = "",
        aws_access_key_id: Annotated[dagger.Secret | None, Doc("Cache AWS_ACCESS_KEY_ID")] = None,
        aws_secret_access_key: Annotated[dagger.Secret | None, Doc("Cache AWS secret")] = None,
    ) -> str:
        """Lint, test and build the affected packages along the dependency graph.

        Fails with one error listing every failed step and its output. With --cache-url, each
        step is looked up in the remote step cache first (its scope, then the default
        branch's) and stored there after it passes (its own scope only; never with
        --cache-read-only). A cache fault never fails the run: the summary says why.
        """
        cache = None
        if cache_url:
            cache = CacheOptions(
                url=cache_url,
                scope=cache_scope,
                default_scope=cache_default_scope,
                read_only=cache_read_only,
                pull_request=cache_pull_request,
                endpoint_url=cache_endpoint_url,
                region=cache_region,
                aws_access_key_id=aws_access_key_id,
                aws_secret_access_key=aws_secret_access_key,
                signing_key=cache_signing_key,
            )
            cache.check()
        return await self._ci(base, all_, jobs, cache)

    async def _ci(self, base: str, all_: bool, jobs: int, cache: CacheOptions | None = None) -> str:
        ws = await self._workspace()
        plan = make_plan(ws, await select(ws, self.source, base, all_))
        run, _ = await self._run(ws, plan, jobs, cache)
        return check_run(run)

    @function
    @checked
    async def lint_all(self) -> str:
        """Check: every package lints clean (`dagger check`)."""
        return await self._all("lint", jobs=4)

    @function
    @checked
    async def test_all(self) -> str:
        """Check: every package's tests pass (`dagger check`)."""
        return await self._all("test", jobs=2)

    @function
    async def image(
        self, service: Annotated[str, Doc("Service package, e.g. acme-user-service")]
    ) -> dagger.Container:
        """The service's production image: uvicorn on its port, probes on /readiness, /liveness."""
        return runtime_image(await self._workspace(), service, self.source)

    @function
    async def serve(self, service: Annotated[str, Doc("Service package")]) -> dagger.Service:
        """The service running (use with `up`)."""
        image = runtime_image(await self._workspace(), service, self.source)
        return image.as_service(use_entrypoint=True)

    @uncached
    async def publish(
        self,
        version: Annotated[str, Doc("Image tag, e.g. the commit SHA")],
        registry: Annotated[str, Doc("Registry and namespace, e.g. ghcr.io/acme")],
        username: Annotated[str, Doc("Registry user")] = "",
        password: Annotated[dagger.Secret | None, Doc("Registry password or token")] = None,
    ) -> list[str]:
        """Publish every service's image, concurrently; the published references."""
        return await self._publish(version, registry, username, password)

    async def _publish(
        self, version: str, registry: str, username: str, password: dagger.Secret | None
    ) -> list[str]:
        ws = await self._workspace()
        refs: dict[str, str] = {}
        errors: list[str] = []

        async def push(name: str) -> None:
            ctr = runtime_image(ws, name, self.source)
            address = image_ref(registry, name, version)
            if password is not None:
                ctr = ctr.with_registry_auth(address, username, password)
            try:
                refs[name] = await ctr.publish(address)
            except dagger.QueryError as error:
                errors.append(f"{name}: {error}")

        async with anyio.create_task_group() as tg:
            for package in service_packages(ws):
                tg.start_soon(push, package.name)
        if errors:
            raise PublishFailedError("publishing failed:\n" + "\n".join(sorted(errors)))
        return [refs[name] for name in sorted(refs)]

    @uncached
    async def deploy(
        self,
        version: Annotated[str, Doc("Image tag to deploy")],
        registry: Annotated[str, Doc("Registry and namespace the images were published to")],
        namespace: Annotated[str, Doc("Kubernetes namespace")] = "acme",
        kubeconfig: Annotated[dagger.Secret | None, Doc("Apply with this kubeconfig")] = None,
    ) -> str:
        """Kubernetes manifests of the services; applied with kubectl when a kubeconfig is given."""
        return await self._deploy(version, registry, namespace, kubeconfig)

    async def _deploy(
        self, version: str, registry: str, namespace: str, kubeconfig: dagger.Secret | None
    ) -> str:
        yaml_text = to_yaml(manifests(await self._workspace(), registry, version, namespace))
        if kubeconfig is None:
            return yaml_text
        return await kubectl_apply(yaml_text, kubeconfig).stdout()

    @uncached
    async def maintenance(
        self,
        cleanup: Annotated[bool, Doc("Clean up what the last run left failed")] = False,
        # Not `verbose`: the dagger CLI reserves --verbose for itself (cmd/dagger/main.go).
        log_operations: Annotated[bool, Doc("Log every operation (the CLI's --verbose)")] = False,
        database_url: Annotated[dagger.Secret | None, Doc("DATABASE_URL")] = None,
        aws_access_key_id: Annotated[dagger.Secret | None, Doc("AWS_ACCESS_KEY_ID")] = None,
        aws_secret_access_key: Annotated[dagger.Secret | None, Doc("AWS secret")] = None,
        s3_endpoint_url: Annotated[str, Doc(S3_ENDPOINT_DOC)] = "",
        s3_bucket: Annotated[str, Doc("S3 bucket")] = "acme-maintenance",
        kafka_bootstrap_servers: Annotated[str, Doc(KAFKA_DOC)] = "",
        rehearsal: Annotated[bool, Doc(REHEARSAL_DOC)] = False,
    ) -> str:
        """Run the maintenance CLI (database, Kafka, S3); its report. Credentials are secrets.

        The targets are the given ones (no S3 endpoint: AWS), or with --rehearsal throwaway
        ones. The journal of the last run lives where the CLI puts it, with the systems
        maintained; in a rehearsal, in the throwaway PostgreSQL, whose data a cache volume
        keeps, so `maintenance --cleanup --rehearsal` sees what the last rehearsal left failed
        (the engine may prune that volume: fine for a rehearsal, never for real state).
        """
        targets = Targets(
            database_url=database_url,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            s3_endpoint_url=s3_endpoint_url,
            s3_bucket=s3_bucket,
            kafka_bootstrap_servers=kafka_bootstrap_servers,
            rehearsal=rehearsal,
        )
        return await self._maintenance(targets, cleanup, log_operations)

    async def _maintenance(self, targets: Targets, cleanup: bool, verbose: bool) -> str:
        ctr = package_env(await self._workspace(), MAINTENANCE_PACKAGE, self.source)
        only = subsystems_to_run(targets, cleanup)
        return await run_maintenance(with_targets(ctr, targets), cleanup, verbose, only)

    @uncached
    async def cd(
        self,
        version: Annotated[str, Doc("Release version (image tag), e.g. the commit SHA")],
        registry: Annotated[str, Doc("Registry and namespace, e.g. ghcr.io/acme")],
        username: Annotated[str, Doc("Registry user")] = "",
        password: Annotated[dagger.Secret | None, Doc("Registry password or token")] = None,
        kubeconfig: Annotated[dagger.Secret | None, Doc("Kubeconfig to deploy with")] = None,
        namespace: Annotated[str, Doc("Kubernetes namespace")] = "acme",
        database_url: Annotated[dagger.Secret | None, Doc("DATABASE_URL")] = None,
        aws_access_key_id: Annotated[dagger.Secret | None, Doc("AWS_ACCESS_KEY_ID")] = None,
        aws_secret_access_key: Annotated[dagger.Secret | None, Doc("AWS secret")] = None,
        s3_endpoint_url: Annotated[str, Doc(S3_ENDPOINT_DOC)] = "",
        s3_bucket: Annotated[str, Doc("S3 bucket")] = "acme-maintenance",
        kafka_bootstrap_servers: Annotated[str, Doc(KAFKA_DOC)] = "",
        rehearsal: Annotated[bool, Doc(REHEARSAL_DOC)] = False,
    ) -> str:
        """Delivery: ci on every package, then publish and maintenance, then deploy.

        Maintenance needs every production target (database, S3 credentials, Kafka) unless
        --rehearsal asks for throwaway ones; a missing one stops cd before anything runs.
        """
        targets = Targets(
            database_url=database_url,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            s3_endpoint_url=s3_endpoint_url,
            s3_bucket=s3_bucket,
            kafka_bootstrap_servers=kafka_bootstrap_servers,
            rehearsal=rehearsal,
        )
        targets.check()
        missing = targets.missing_for_delivery()
        if missing:
            raise TargetsError(
                f"cd: production maintenance needs {', '.join(missing)} (nothing was run); "
                "pass them, or --rehearsal to maintain throwaway targets instead"
            )
        report = [await self._ci("", True, jobs=4)]
        published: list[str] = []
        maintained: list[str] = []
        errors: list[str] = []

        async def do_publish() -> None:
            try:
                published.extend(await self._publish(version, registry, username, password))
            except Exception as error:  # reported with the other stage's outcome below
                errors.append(f"publish: {error}")

        async def do_maintenance() -> None:
            try:
                maintained.append(await self._maintenance(targets, cleanup=False, verbose=False))
            except Exception as error:  # reported with the other stage's outcome below
                errors.append(f"maintenance: {error}")

        async with anyio.create_task_group() as tg:
            tg.start_soon(do_publish)
            tg.start_soon(do_maintenance)
        if errors:
            raise DeliveryFailedError("delivery stopped before deploy:\n" + "\n".join(errors))
        report += ["Published:", *published, "Maintenance:", *maintained]
        report.append(await self._deploy(version, registry, namespace, kubeconfig))
        return "\n".join(report)


class PublishFailedError(Exception):
    """At least one image could not be published; the message names each and why."""


class DeliveryFailedError(Exception):
    """cd stopped before deploying: publish or maintenance failed (the message says which)."""
