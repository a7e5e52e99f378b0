"""Services: bound to an exec under an alias, started once per service digest and client
session and shared by the execs of that session that bind it, stopped a grace period after
the last one ends or when the session ends, as the Dagger engine does (core/services.go:
ServiceKey holds the digest and the session's ID; StopSessionServices). Two `dagger call`s
never share a running service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import dagger

from acme_ci.rehearsal.evaluator.errors import query_error
from acme_ci.rehearsal.evaluator.file_systems import FileSystems
from acme_ci.rehearsal.evaluator.interfaces import ImageSource, NoStandInError, Report
from acme_ci.rehearsal.evaluator.launch import created
from acme_ci.rehearsal.evaluator.output import scrubbed
from acme_ci.rehearsal.evaluator.resources import Resources
from acme_ci.rehearsal.evaluator.sessions import current_session
from acme_ci.rehearsal.evaluator.values import Container, Service, digest_of
from acme_ci.rehearsal.podman import LIMITS, entrypoint_flag

# A probe waits this long for a bound service's ports, as the engine's health check does.
SERVICE_TIMEOUT = 120.0
# How long a service outlives its last binding exec (core/services.go, DetachGracePeriod).
DETACH_GRACE = 10.0
# A running service's key: (session, service digest), as the engine's ServiceKey.
ServiceKey = tuple[str, str]
PORT_PROBE = """\
import socket,sys,time
host,ports=sys.argv[1],[int(p) for p in sys.argv[3:]]
end=time.time()+float(sys.argv[2])
for port in ports:
    while True:
        try:
            socket.create_connection((host, port), 2).close(); break
        except OSError:
            if time.time()>end: sys.exit(f'port {port} never opened')
            time.sleep(0.3)
"""


@dataclass
class RunningService:
    """A started service: its container and how many execs bind it now."""

    name: str
    users: int = 0
    generation: int = 0


class Services:
    """Starts, shares and stops the services execs bind; drops those without a stand-in."""

    def __init__(
        self,
        resources: Resources,
        file_systems: FileSystems,
        images: ImageSource,
        report: Report,
    ) -> None:
        self._resources = resources
        self._file_systems = file_systems
        self._images = images
        self._report = report
        self.dropped_notes: set[str] = set()
        self._running: dict[ServiceKey, RunningService] = {}
        self._locks: dict[ServiceKey, anyio.Lock] = {}

    # ------------------------------------------------------------------ values

    @staticmethod
    def service_of(container: Container, args: tuple[str, ...], use_entrypoint: bool) -> Service:
        """`asService`: the container's default command unless `args` are given."""
        if use_entrypoint:
            argv = (*container.entrypoint, *(args or container.default_args))
        else:
            argv = args or container.default_args
        return Service(container, argv, digest_of(container.digest, "service", argv))

    @staticmethod
    def bind(container: Container, alias: str, service: Service) -> Container:
        bindings = (*((k, s) for k, s in container.bindings if k != alias), (alias, service))
        return container.then("bind", alias, service.digest, bindings=bindings)

    def drop(self, container: Container, alias: str, missing: NoStandInError) -> Container:
        """A binding whose image has no stand-in: left out, with the variables naming it."""
        note = f"{alias}: {missing}: binding dropped, variables naming {alias!r} not exported"
        if note not in self.dropped_notes:
            self.dropped_notes.add(note)
            self._report(f"rehearsal: {note}")
        dropped = (*container.dropped, (alias, str(missing)))
        return container.then("dropped", alias, dropped=dropped)

    # ------------------------------------------------------------------ bound to an exec

    @contextlib.asynccontextmanager
    async def network_for(self, container: Container) -> AsyncIterator[str]:
        """A private network per exec with bindings, where each bound service answers to its
        alias: concurrent steps binding the same service under any alias never collide."""
        if not container.bindings:
            yield await self._resources.shared_network()
            return
        network = await self._resources.private_network()
        held: list[tuple[ServiceKey, str]] = []
        try:
            try:
                async with anyio.create_task_group() as group:
                    for alias, service in container.bindings:
                        group.start_soon(self._attach, service, network, alias, held)
            except BaseExceptionGroup as failed:
                # As the engine answers: one query error naming every service that failed.
                # (Not `except*`: before Python 3.11.4 a plain exception raised there was
                # wrapped in a group again, gh-103590, and the stand-ins run Debian's 3.11.2.)
                leaves = _leaves(failed)
                if not all(isinstance(error, dagger.QueryError) for error in leaves):
                    raise
                raise query_error("\n".join(str(e) for e in leaves)) from failed
            yield network
        finally:
            for key, name in held:
                await self._release(key, name, network)

    async def _attach(
        self, service: Service, network: str, alias: str, held: list[tuple[ServiceKey, str]]
    ) -> None:
        key = (current_session(), service.digest)
        name = await self._acquire(key, service)
        held.append((key, name))
        await self._resources.podman("network", "connect", "--alias", alias, network, name)

    async def _acquire(self, key: ServiceKey, service: Service) -> str:
        """The running instance of `service` in the session of `key`, started and healthy:
        one per service digest and session, shared by that session's execs that bind it,
        kept DETACH_GRACE after its last use (core/services.go)."""
        async with self._locks.setdefault(key, anyio.Lock()):
            running = self._running.get(key)
            if running is None:
                name = await self._start(service, "service")
                try:
                    await self._wait_for_ports(service, name)
                except BaseException:
                    await self._resources.remove_container(name)
                    raise
                running = self._running[key] = RunningService(name)
            running.users += 1
            running.generation += 1
            return running.name

    async def _release(self, key: ServiceKey, name: str, network: str) -> None:
        await self._resources.podman("network", "disconnect", "--force", network, name, check=False)
        running = self._running.get(key)
        if running is None:
            return
        running.users -= 1
        if running.users == 0:
            self._resources.start_soon(self._stop_later, key, running.generation)

    async def _stop_later(self, key: ServiceKey, generation: int) -> None:
        await anyio.sleep(DETACH_GRACE)
        async with self._locks[key]:
            running = self._running.get(key)
            if running is not None and running.users == 0 and running.generation == generation:
                del self._running[key]
                await self._resources.remove_container(running.name)

    async def end_session(self, session: str) -> list[str]:
        """The session closed: every service it started is stopped (force-killed, as
        StopSessionServices does); the containers' names."""
        stopped: list[str] = []
        for key in [k for k in self._running if k[0] == session]:
            async with self._locks[key]:
                running = self._running.pop(key, None)
                if running is not None:
                    await self._resources.remove_container(running.name)
                    stopped.append(running.name)
        return stopped

    # ------------------------------------------------------------------ started

    @contextlib.asynccontextmanager
    async def serving(self, service: Service) -> AsyncIterator[str]:
        """`service` started on the rehearsal's own network, for the block alone (not shared,
        not waited for): its container's name, which answers as a host name there."""
        name = await self._start(service, "serve")
        try:
            yield name
        finally:
            await self._resources.remove_container(name)

    async def _start(self, service: Service, kind: str) -> str:
        image = await self._file_systems.image(service.container)
        network = await self._resources.shared_network()
        container = service.container
        async with created(self._resources, kind, container, service.argv, image, network) as name:
            try:
                await self._resources.podman("start", name)
            except BaseException:
                await self._resources.remove_container(name)
                raise
        return name

    async def _wait_for_ports(self, service: Service, name: str) -> None:
        """Wait until every exposed port accepts connections (the engine's health check)."""
        ports = service.container.ports
        if not ports:
            return
        argv = ["python3", "-c", PORT_PROBE, name, str(SERVICE_TIMEOUT), *map(str, ports)]
        done = await self._resources.podman(
            "run",
            "--rm",
            *LIMITS,
            "--network",
            await self._resources.shared_network(),
            entrypoint_flag(argv),
            await self._images.probe_image(),
            check=False,
        )
        if done.code != 0:
            logs = await self._resources.podman("logs", "--tail", "30", name, check=False)
            # The engine scrubs a service's output of its secrets as it does an exec's.
            secrets = [secret.plaintext for _, secret in service.container.secrets]
            raise query_error(
                f"service {name!r} ({service.container.ref}) did not open {list(ports)}: "
                f"{done.stderr.strip()}\n{scrubbed(logs.stdout + logs.stderr, secrets)}"
            )


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """Every error in `group`, however nested."""
    found: list[BaseException] = []
    for error in group.exceptions:
        found.extend(_leaves(error) if isinstance(error, BaseExceptionGroup) else [error])
    return found
