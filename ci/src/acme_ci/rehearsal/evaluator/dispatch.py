"""The evaluator: the lazy queries dagger-io builds, executed on podman.

dagger-io sends a query to the Dagger engine only when a leaf value is awaited
(dagger/client/_core.py, `Context.execute`). `Evaluator.installed` takes that method's place:
the evaluator walks the same chain of selections the engine would receive (`from`,
`withExec`, `withServiceBinding`, ... `stdout`) and hands each to the handler of its GraphQL
type and field (the tables in query_fields, container_fields and directory_fields). Nothing
here knows the module's containers: the chain is the only input.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from dagger.client._core import Context, Field
from dagger.client.base import Type

from acme_ci.rehearsal.converter import one_converter
from acme_ci.rehearsal.evaluator.address_fields import ADDRESS_FIELDS, ADDRESS_QUERY_FIELDS
from acme_ci.rehearsal.evaluator.connection import connected_to_evaluator
from acme_ci.rehearsal.evaluator.container_fields import CONTAINER_FIELDS
from acme_ci.rehearsal.evaluator.directory_fields import DIRECTORY_FIELDS, FILE_FIELDS
from acme_ci.rehearsal.evaluator.errors import query_error, unmodelled
from acme_ci.rehearsal.evaluator.execs import Execs
from acme_ci.rehearsal.evaluator.file_systems import FileSystems
from acme_ci.rehearsal.evaluator.function_call import (
    ARG_VALUE_FIELDS,
    CALL_QUERY_FIELDS,
    ERROR_FIELDS,
    FUNCTION_CALL_FIELDS,
)
from acme_ci.rehearsal.evaluator.handlers import FieldHandler
from acme_ci.rehearsal.evaluator.interfaces import ImageSource, Report
from acme_ci.rehearsal.evaluator.layers import KeptLayers
from acme_ci.rehearsal.evaluator.publish import Publisher
from acme_ci.rehearsal.evaluator.query_fields import (
    HOST_FIELDS,
    ID_FIELDS,
    QUERY_FIELDS,
    SECRET_FIELDS,
)
from acme_ci.rehearsal.evaluator.registration_fields import (
    DEFINITION_TYPES,
    REGISTRATION_QUERY_FIELDS,
    EveryField,
)
from acme_ci.rehearsal.evaluator.resources import Resources
from acme_ci.rehearsal.evaluator.services import Services
from acme_ci.rehearsal.evaluator.values import Query
from acme_ci.rehearsal.podman import Podman, PodmanError, podman

FIELDS: Mapping[str, Mapping[str, FieldHandler]] = {
    "Query": {
        **QUERY_FIELDS,
        **ADDRESS_QUERY_FIELDS,
        **CALL_QUERY_FIELDS,
        **REGISTRATION_QUERY_FIELDS,
    },
    "Host": HOST_FIELDS,
    "Address": ADDRESS_FIELDS,
    "Container": CONTAINER_FIELDS,
    "Directory": DIRECTORY_FIELDS,
    "File": FILE_FIELDS,
    "Service": ID_FIELDS,
    "Secret": SECRET_FIELDS,
    "CacheVolume": ID_FIELDS,
    "FunctionCall": FUNCTION_CALL_FIELDS,
    "FunctionCallArgValue": ARG_VALUE_FIELDS,
    "Error": ERROR_FIELDS,
    **dict.fromkeys(DEFINITION_TYPES, EveryField()),
}


class Evaluator:
    """Evaluates selection chains on podman; what it starts lives as long as `running()`."""

    def __init__(
        self,
        images: ImageSource,
        report: Report,
        state_dir: Path,
        *,
        reuse_layers: bool = True,
        podman_command: Podman = podman,
    ) -> None:
        """`reuse_layers`: layers of earlier rehearsals are reused, as the engine's cache
        would (--fresh: not); `podman_command` runs podman (a test's stand-in, or podman)."""
        self.resources = Resources(podman_command)
        self.file_systems = FileSystems(self.resources, images)
        self.layers = KeptLayers(
            state_dir / "layers", self.resources, self.file_systems, reuse_layers
        )
        self.services = Services(self.resources, self.file_systems, images, report)
        self.execs = Execs(self.resources, self.file_systems, self.services, self.layers, report)
        self.publisher = Publisher(self.resources, self.file_systems, report)
        self._objects: dict[str, object] = {}

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Evaluator]:
        """Installed in dagger-io while the block runs; what it started is removed after."""
        with self.installed():
            async with self.resources.held():
                yield self

    @contextlib.contextmanager
    def installed(self) -> Iterator[Evaluator]:
        """Route every dagger-io query of this process to this evaluator while the block runs."""
        original = Context.execute
        evaluator = self

        async def execute(context: Context, return_type: Any = None) -> Any:
            try:
                return await evaluator.evaluate(list(context.selections))
            except PodmanError as error:
                # What fails on the engine's side reaches the SDK as a query error, which
                # the module handles as it would the engine's.
                raise query_error(str(error)) from error

        Context.execute = execute  # type: ignore[assignment,method-assign]
        try:
            # Nothing is structured by a context while we answer; a runtime's
            # `dagger.connect()` connects to this evaluator.
            with one_converter(), connected_to_evaluator():
                yield self
        finally:
            Context.execute = original  # type: ignore[method-assign]

    async def evaluate(self, chain: Sequence[Field]) -> Any:
        """The value of a chain of selections, from the root (`Query`) on."""
        value: Any = Query()
        for selection in chain:
            handler = FIELDS.get(selection.type_name, {}).get(selection.name)
            if handler is None:
                raise unmodelled(selection.type_name, selection.name)
            value = await handler(self, value, selection.args)
        return value

    async def value_of(self, argument: Any) -> Any:
        """A dagger object argument (Directory, File, Secret, ...) evaluated."""
        if isinstance(argument, Type):
            return await self.evaluate(list(argument._ctx.selections))
        return argument

    def register(self, value: object) -> str:
        """An ID for `value`, which `load`'s fields give back."""
        identifier = f"rehearsal-{len(self._objects)}-{self.resources.run_id}"
        self._objects[identifier] = value
        return identifier

    def load(self, identifier: str) -> object:
        return self._objects[identifier]
