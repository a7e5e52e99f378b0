"""The Dagger module: the ACME pipeline (lint, test, build, images, deploy, maintenance).

A thin shell: each function here is what `dagger call` sees (its arguments, defaults and
help) and delegates its work. The plan, its selection and the scheduling come from the
core; the work from the modules beside this one: plan_run (a plan run in containers),
plan_output (what `plan` prints), sharding (`ci --shard`, `verdict`), containers, delivery
(publish and cd), deploy and maintenance; policies holds the decorators below.

Every function's cache policy is chosen, and its docstring's last line says it: the engine
keeps a function's result for 7 days by default and replays it for the same source and
arguments (core/typedef.go, core/modfunc.go; secrets count by a hash of their value). That
suits a function whose result depends only on those. One that reads or changes anything
else (the remote step cache, a registry, a cluster, a database) is `cache="never"`.
"""

from __future__ import annotations

from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, function, object_type

from acme_ci.core.affected import select_all, select_packages
from acme_ci.core.plan import Plan, PlanOptions, make_plan
from acme_ci.core.scheduler import RunResult
from acme_ci.core.workspace import Workspace
from acme_ci.dagger.cache_options import (
    CacheAwsAccessKeyIdArg,
    CacheAwsSecretAccessKeyArg,
    CacheDefaultScopeArg,
    CacheEndpointUrlArg,
    CachePullRequestArg,
    CacheReadOnlyArg,
    CacheRegionArg,
    CacheScopeArg,
    CacheSigningKeyArg,
    CacheUrlArg,
    cache_from,
)
from acme_ci.dagger.containers import SRC, package_env, runtime_image
from acme_ci.dagger.delivery import Release, deliver, publish_images
from acme_ci.dagger.deploy import deploy_services
from acme_ci.dagger.executor import ContainerExecutor, check_run
from acme_ci.dagger.maintenance import (
    DEFAULT_BUCKET,
    AwsAccessKeyIdArg,
    AwsSecretAccessKeyArg,
    DatabaseUrlArg,
    KafkaBootstrapServersArg,
    RehearsalArg,
    S3BucketArg,
    S3EndpointUrlArg,
    Targets,
    maintain,
)
from acme_ci.dagger.plan_output import plan_output
from acme_ci.dagger.plan_run import run_ci, run_in_containers
from acme_ci.dagger.policies import checked, uncached
from acme_ci.dagger.secret_args import refuse_empty
from acme_ci.dagger.sharding import (
    RunAttemptArg,
    RunIdArg,
    ShardArg,
    ShardPlanArg,
    run_shard,
    shard_verdict,
)
from acme_ci.dagger.source import SOURCE_IGNORE, read_workspace, select
from acme_ci.entries.shard_store import RunIdentity


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

    async def _run(
        self, ws: Workspace, plan: Plan, jobs: int
    ) -> tuple[RunResult, ContainerExecutor]:
        return await run_in_containers(self.source, ws, plan, jobs)

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
        """The package's layered container: locked deps, then its sources (try `terminal`).

        Cache: replayed for the same source and arguments, up to 7 days.
        """
        return package_env(await self._workspace(), package, self.source)

    @function
    async def lint(self, package: Annotated[str, Doc("Package name")]) -> str:
        """Lint one package (ruff check, ruff format --check, mypy --strict); the step's output.

        Cache: replayed for the same source and arguments, up to 7 days; a failure is not kept.
        """
        run, _ = await self._single(package, "lint")
        return run.results[0].output

    @function
    async def test(self, package: Annotated[str, Doc("Package name")]) -> str:
        """Test one package, with its backing services bound; the step's output.

        Cache: replayed for the same source and arguments, up to 7 days; a failure is not kept.
        """
        run, _ = await self._single(package, "test")
        return run.results[0].output

    @function
    async def build(self, package: Annotated[str, Doc("Package name")]) -> dagger.Directory:
        """Build one package's wheel and sdist; the dist directory.

        Cache: replayed for the same source and arguments, up to 7 days; a failure is not kept.
        """
        run, executor = await self._single(package, "build")
        step = run.plan.steps[0]
        return executor.finished[step.id].directory(f"{SRC}/{step.outputs[0]}")

    @uncached
    async def plan(
        self,
        base: Annotated[str, Doc("Git ref to diff against; empty: all packages")] = "",
        all_: Annotated[bool, Doc("Select every package")] = False,
        shards: Annotated[str, Doc("Cut the plan into N shards, or auto; empty: none")] = "",
        format_: Annotated[str, Doc("text, json, or (with --shards) github-matrix")] = "text",
        cache_url: CacheUrlArg = None,
        cache_scope: CacheScopeArg = "",
        cache_default_scope: CacheDefaultScopeArg = "main",
        cache_read_only: CacheReadOnlyArg = False,
        cache_pull_request: CachePullRequestArg = False,
        cache_signing_key: CacheSigningKeyArg = None,
        cache_endpoint_url: CacheEndpointUrlArg = "",
        cache_region: CacheRegionArg = "",
        cache_aws_access_key_id: CacheAwsAccessKeyIdArg = None,
        cache_aws_secret_access_key: CacheAwsSecretAccessKeyArg = None,
    ) -> str:
        """The plan without running it: selection with reasons, steps and their argv.

        With --shards N|auto, how a sharded run cuts it: the shards, their steps and
        expected lengths; --format json is the shard plan every `ci --shard` and `verdict`
        takes (--shard-plan), github-matrix what a workflow's strategy.matrix takes. The
        expected lengths come from the history the last verdict kept in the remote cache
        (--cache-url, read only), else from each package's size.

        Cache: never replayed, runs on every call: with --cache-url it reads the history
        from the remote cache (--base is read in the source's own git history).
        """
        cache = await cache_from(locals())
        ws = await self._workspace()
        selection = await select(ws, self.source, base, all_)
        return await plan_output(self.source, ws, selection, shards, format_, cache)

    @uncached
    async def ci(
        self,
        base: Annotated[str, Doc("Git ref to diff against, e.g. origin/main; empty: all")] = "",
        all_: Annotated[bool, Doc("Select every package")] = False,
        jobs: Annotated[int, Doc("Steps run at the same time")] = 4,
        cache_url: CacheUrlArg = None,
        cache_scope: CacheScopeArg = "",
        cache_default_scope: CacheDefaultScopeArg = "main",
        cache_read_only: CacheReadOnlyArg = False,
        cache_pull_request: CachePullRequestArg = False,
        cache_signing_key: CacheSigningKeyArg = None,
        cache_endpoint_url: CacheEndpointUrlArg = "",
        cache_region: CacheRegionArg = "",
        cache_aws_access_key_id: CacheAwsAccessKeyIdArg = None,
        cache_aws_secret_access_key: CacheAwsSecretAccessKeyArg = None,
        shard: ShardArg = "",
        shard_plan: ShardPlanArg = None,
        run_id: RunIdArg = "",
        run_attempt: RunAttemptArg = 1,
    ) -> str:
        """Lint, test and build the affected packages along the dependency graph.

        Fails with one error listing every failed step and its output. With --cache-url
        (a secret, e.g. env:ACME_CACHE_URL), each step is looked up in the remote step cache
        first (its scope, then the default branch's) and stored there after it passes (its
        own scope only; never with --cache-read-only). A cache fault never fails the run: the
        summary says why. An empty secret counts as not given.

        With --shard K/N --shard-plan FILE --run-id ID, only shard K's steps run, and its
        report goes to the remote cache for `verdict` (which then judges the run); the call
        fails when one of its own steps failed.

        Cache: never replayed, runs on every call: it reads and writes the remote step cache
        (its steps are still kept by the engine, by their inputs).
        """
        cache = await cache_from(locals())
        ws = await self._workspace()
        selection = await select(ws, self.source, base, all_)
        if shard:
            identity = RunIdentity(run_id, run_attempt) if run_id else None
            return await run_shard(
                self.source, ws, selection, jobs, cache, shard, shard_plan, identity
            )
        return await run_ci(self.source, ws, selection, jobs, cache)

    @uncached
    async def verdict(
        self,
        shard_plan: Annotated[dagger.File, Doc("The shard plan the shards ran")],
        run_id: RunIdArg,
        base: Annotated[str, Doc("Git ref the shards diffed against; empty: all")] = "",
        all_: Annotated[bool, Doc("The shards selected every package")] = False,
        run_attempt: RunAttemptArg = 1,
        cache_url: CacheUrlArg = None,
        cache_scope: CacheScopeArg = "",
        cache_default_scope: CacheDefaultScopeArg = "main",
        cache_read_only: CacheReadOnlyArg = False,
        cache_pull_request: CachePullRequestArg = False,
        cache_signing_key: CacheSigningKeyArg = None,
        cache_endpoint_url: CacheEndpointUrlArg = "",
        cache_region: CacheRegionArg = "",
        cache_aws_access_key_id: CacheAwsAccessKeyIdArg = None,
        cache_aws_secret_access_key: CacheAwsSecretAccessKeyArg = None,
    ) -> str:
        """Gather every shard's report into one verdict: one summary, one outcome.

        The reports come from the remote cache (--cache-url, the shards' scope flags and
        --run-id): on Dagger nothing else leaves a shard's engine, so there is no artifact
        directory, and without a cache the call is refused. Fails, like ci, when a step
        failed or was blocked in any shard, or a shard never reported (named). Folds what
        the shards measured into the history the next `plan --shards` reads.

        Cache: never replayed, runs on every call: it reads the shards' reports and writes
        the history in the remote cache.
        """
        cache = await cache_from(locals())
        ws = await self._workspace()
        selection = await select(ws, self.source, base, all_)
        identity = RunIdentity(run_id, run_attempt) if run_id else None
        return await shard_verdict(self.source, ws, selection, cache, shard_plan, identity)

    @function
    @checked
    async def lint_all(self) -> str:
        """Check: every package lints clean (`dagger check`).

        Cache: replayed for the same source, up to 7 days; a failure is not kept.
        """
        return await self._all("lint", jobs=4)

    @function
    @checked
    async def test_all(self) -> str:
        """Check: every package's tests pass (`dagger check`).

        Cache: replayed for the same source, up to 7 days; a failure is not kept.
        """
        return await self._all("test", jobs=2)

    @function
    async def image(
        self, service: Annotated[str, Doc("Service package, e.g. acme-user-service")]
    ) -> dagger.Container:
        """The service's production image: uvicorn on its port, probes on /readiness, /liveness.

        Cache: replayed for the same source and arguments, up to 7 days.
        """
        return runtime_image(await self._workspace(), service, self.source)

    @function
    async def serve(self, service: Annotated[str, Doc("Service package")]) -> dagger.Service:
        """The service running (use with `up`).

        Cache: replayed for the same source and arguments, up to 7 days (the service itself
        starts when used).
        """
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
        """Publish every service's image, concurrently; the published references.

        Cache: never replayed: pushes to the registry on every call.
        """
        await refuse_empty({"--password": password})
        release = Release(version, registry, username, password)
        return await publish_images(await self._workspace(), self.source, release)

    @uncached
    async def deploy(
        self,
        version: Annotated[str, Doc("Image tag to deploy")],
        registry: Annotated[str, Doc("Registry and namespace the images were published to")],
        namespace: Annotated[str, Doc("Kubernetes namespace")] = "acme",
        kubeconfig: Annotated[dagger.Secret | None, Doc("Apply with this kubeconfig")] = None,
    ) -> str:
        """Kubernetes manifests of the services; applied with kubectl when a kubeconfig is given.

        Cache: never replayed: with a kubeconfig, applies to the cluster on every call.
        """
        await refuse_empty({"--kubeconfig": kubeconfig})
        ws = await self._workspace()
        return await deploy_services(ws, version, registry, namespace, kubeconfig)

    @uncached
    async def maintenance(
        self,
        cleanup: Annotated[bool, Doc("Clean up what the last run left failed")] = False,
        # Not `verbose`: the dagger CLI reserves --verbose for itself (cmd/dagger/main.go).
        log_operations: Annotated[bool, Doc("Log every operation (the CLI's --verbose)")] = False,
        database_url: DatabaseUrlArg = None,
        aws_access_key_id: AwsAccessKeyIdArg = None,
        aws_secret_access_key: AwsSecretAccessKeyArg = None,
        s3_endpoint_url: S3EndpointUrlArg = "",
        s3_bucket: S3BucketArg = DEFAULT_BUCKET,
        kafka_bootstrap_servers: KafkaBootstrapServersArg = "",
        rehearsal: RehearsalArg = False,
    ) -> str:
        """Run the maintenance CLI (database, Kafka, S3); its report. Credentials are secrets.

        The targets are the given ones (no S3 endpoint: AWS), or with --rehearsal throwaway
        ones. The journal of the last run lives where the CLI puts it, with the systems
        maintained; in a rehearsal, in the throwaway PostgreSQL, whose data a cache volume
        keeps, so `maintenance --cleanup --rehearsal` sees what the last rehearsal left failed
        (the engine may prune that volume: fine for a rehearsal, never for real state).

        Cache: never replayed: maintenance runs against its targets on every call.
        """
        targets = Targets.from_arguments(locals())
        await refuse_empty(targets.secrets())
        ws = await self._workspace()
        return await maintain(ws, self.source, targets, cleanup, verbose=log_operations)

    @uncached
    async def cd(
        self,
        version: Annotated[str, Doc("Release version (image tag), e.g. the commit SHA")],
        registry: Annotated[str, Doc("Registry and namespace, e.g. ghcr.io/acme")],
        username: Annotated[str, Doc("Registry user")] = "",
        password: Annotated[dagger.Secret | None, Doc("Registry password or token")] = None,
        kubeconfig: Annotated[dagger.Secret | None, Doc("Kubeconfig to deploy with")] = None,
        namespace: Annotated[str, Doc("Kubernetes namespace")] = "acme",
        database_url: DatabaseUrlArg = None,
        aws_access_key_id: AwsAccessKeyIdArg = None,
        aws_secret_access_key: AwsSecretAccessKeyArg = None,
        s3_endpoint_url: S3EndpointUrlArg = "",
        s3_bucket: S3BucketArg = DEFAULT_BUCKET,
        kafka_bootstrap_servers: KafkaBootstrapServersArg = "",
        rehearsal: RehearsalArg = False,
        cache_url: CacheUrlArg = None,
        cache_scope: CacheScopeArg = "",
        cache_default_scope: CacheDefaultScopeArg = "main",
        cache_read_only: CacheReadOnlyArg = False,
        cache_pull_request: CachePullRequestArg = False,
        cache_signing_key: CacheSigningKeyArg = None,
        cache_endpoint_url: CacheEndpointUrlArg = "",
        cache_region: CacheRegionArg = "",
        cache_aws_access_key_id: CacheAwsAccessKeyIdArg = None,
        cache_aws_secret_access_key: CacheAwsSecretAccessKeyArg = None,
    ) -> str:
        """Delivery: ci on every package, then publish and maintenance, then deploy.

        Maintenance needs every production target (database, S3 credentials, Kafka) unless
        --rehearsal asks for throwaway ones; a missing or empty one stops cd before anything
        runs. The --cache-* flags are ci's: its steps come from and go to the remote cache.

        Cache: never replayed: publishes, maintains and deploys on every call.
        """
        targets = Targets.from_arguments(locals())
        await refuse_empty(
            {"--password": password, "--kubeconfig": kubeconfig, **targets.secrets()}
        )
        cache = await cache_from(locals())
        release = Release(version, registry, username, password, namespace, kubeconfig)
        return await deliver(self.source, release, targets, cache)
