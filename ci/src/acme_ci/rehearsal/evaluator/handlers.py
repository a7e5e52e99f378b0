"""What a field handler is given: the selection's arguments and the parts of the evaluator.

The handler tables (query_fields, container_fields, directory_fields) are typed against
`Evaluation`, not the `Evaluator` class that holds them, so no handler module imports the
dispatcher that imports it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from acme_ci.rehearsal.evaluator.execs import Execs
from acme_ci.rehearsal.evaluator.file_systems import FileSystems
from acme_ci.rehearsal.evaluator.publish import Publisher
from acme_ci.rehearsal.evaluator.services import Services

# A selection's arguments, as dagger-io unstructured them (object arguments stay objects).
Arguments = dict[str, Any]


class Evaluation(Protocol):
    """The evaluator as its field handlers see it."""

    file_systems: FileSystems
    execs: Execs
    services: Services
    publisher: Publisher

    async def value_of(self, argument: Any) -> Any:
        """A dagger object argument (Directory, File, Secret, ...) evaluated."""
        ...

    def register(self, value: object) -> str:
        """An ID for `value`, which `load` gives back."""
        ...

    def load(self, identifier: str) -> object:
        """The value registered under `identifier`."""
        ...


# The evaluation of one field: the value so far and the selection's arguments in, the next
# value out.
FieldHandler = Callable[[Evaluation, Any, Arguments], Awaitable[Any]]
