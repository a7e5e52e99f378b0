"""Delivery on Dagger: the services' images published, and `cd` as a whole.

cd runs ci on every package, then publish and maintenance at the same time (neither needs
the other), then deploy only when both passed; a failure of either is reported with the
other's outcome, never first-only.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import dagger

from acme_ci.core.affected import select_all
from acme_ci.core.workspace import Workspace
from acme_ci.dagger.cache_options import CacheOptions
from acme_ci.dagger.containers import runtime_image
from acme_ci.dagger.deploy import deploy_services, image_ref, service_packages
from acme_ci.dagger.maintenance import Targets, TargetsError, maintain
from acme_ci.dagger.plan_run import run_ci
from acme_ci.dagger.source import read_workspace


class PublishFailedError(Exception):
    """At least one image could not be published; the message names each and why."""


class DeliveryFailedError(Exception):
    """cd stopped before deploying: publish or maintenance failed (the message says which)."""


@dataclass(frozen=True)
class Release:
    """What cd ships and where: the images' tag and registry, the cluster to deploy to."""

    version: str
    registry: str
    username: str = ""
    password: dagger.Secret | None = None
    namespace: str = "acme"
    kubeconfig: dagger.Secret | None = None


async def publish_images(ws: Workspace, source: dagger.Directory, release: Release) -> list[str]:
    """Every service's image pushed, concurrently; the published references, by service.

    PublishFailedError names every image that failed, after the others were pushed.
    """
    refs: dict[str, str] = {}
    errors: list[str] = []

    async def push(name: str) -> None:
        ctr = runtime_image(ws, name, source)
        address = image_ref(release.registry, name, release.version)
        if release.password is not None:
            ctr = ctr.with_registry_auth(address, release.username, release.password)
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


async def deliver(
    source: dagger.Directory, release: Release, targets: Targets, cache: CacheOptions | None
) -> str:
    """ci (with the remote step cache `cache`), then publish and maintenance, then deploy;
    the report of each stage.

    TargetsError before anything is read or run when production maintenance lacks a target.
    """
    missing = targets.missing_for_delivery()
    if missing:
        raise TargetsError(
            f"cd: production maintenance needs {', '.join(missing)} (nothing was run); "
            "pass them, or --rehearsal to maintain throwaway targets instead"
        )
    ws = await read_workspace(source)
    report = [await run_ci(source, ws, select_all(ws, "--all"), jobs=4, cache=cache)]
    published: list[str] = []
    maintained: list[str] = []
    errors: list[str] = []

    async def publish() -> None:
        try:
            published.extend(await publish_images(ws, source, release))
        except Exception as error:  # reported with the other stage's outcome below
            errors.extend(f"publish: {cause}" for cause in causes(error))

    async def maintenance() -> None:
        try:
            maintained.append(await maintain(ws, source, targets, cleanup=False, verbose=False))
        except Exception as error:  # reported with the other stage's outcome below
            errors.extend(f"maintenance: {cause}" for cause in causes(error))

    async with anyio.create_task_group() as tg:
        tg.start_soon(publish)
        tg.start_soon(maintenance)
    if errors:
        raise DeliveryFailedError("delivery stopped before deploy:\n" + "\n".join(errors))
    report += ["Published:", *published, "Maintenance:", *maintained]
    report.append(
        await deploy_services(
            ws, release.version, release.registry, release.namespace, release.kubeconfig
        )
    )
    return "\n".join(report)


def causes(error: BaseException) -> list[str]:
    """What went wrong, one line each: an exception group's every leaf, never its wrapper's
    "unhandled errors in a TaskGroup"."""
    if isinstance(error, BaseExceptionGroup):
        return [cause for inner in error.exceptions for cause in causes(inner)]
    return [str(error) or type(error).__name__]
