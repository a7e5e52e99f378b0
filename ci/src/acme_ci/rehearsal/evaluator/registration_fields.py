"""Registration: the definitions the SDK builds to describe the module, recorded.

The SDK's registration (dagger/mod/_module.py, Module._typedefs) chains `dag.module()`,
`dag.typeDef()` and `dag.function(...)` with `with...` calls and sends the module's `id`.
Every such call is recorded here as it is (a `Definition`, object arguments evaluated to
theirs); rehearsal/typedefs.py reads what the engine would make of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from dagger.client.base import Type

from acme_ci.rehearsal.evaluator.query_fields import identify
from acme_ci.rehearsal.evaluator.values import Definition

if TYPE_CHECKING:
    from acme_ci.rehearsal.evaluator.handlers import Arguments, Evaluation, FieldHandler


async def _evaluated(evaluator: Evaluation, arguments: Arguments) -> dict[str, Any]:
    """The arguments with every definition argument (a TypeDef, a Function...) evaluated."""
    return {
        name: await evaluator.value_of(value) if isinstance(value, Type) else value
        for name, value in arguments.items()
    }


def made(type_name: str, first_call: str = "") -> FieldHandler:
    """A root field that starts a definition (`module`, `typeDef`, `function(...)`)."""

    async def handler(evaluator: Evaluation, _: object, arguments: Arguments) -> Definition:
        definition = Definition(type_name)
        if first_call:
            definition = definition.then(first_call, await _evaluated(evaluator, arguments))
        return definition

    return handler


def recorded(name: str) -> FieldHandler:
    """Any `with...` field of a definition: the definition with that call appended."""

    async def handler(evaluator: Evaluation, value: Definition, arguments: Arguments) -> Definition:
        return value.then(name, await _evaluated(evaluator, arguments))

    return handler


class EveryField(Mapping[str, "FieldHandler"]):
    """A definition type's fields: `id` gives its ID, every other field is recorded."""

    def __getitem__(self, name: str) -> FieldHandler:
        return identify if name == "id" else recorded(name)

    def __iter__(self) -> Iterator[str]:
        return iter(("id",))

    def __len__(self) -> int:
        return 1


REGISTRATION_QUERY_FIELDS: dict[str, FieldHandler] = {
    "module": made("Module"),
    "typeDef": made("TypeDef"),
    "function": made("Function", "function"),
}
# The types whose values are definitions the SDK builds at registration.
DEFINITION_TYPES = ("Module", "TypeDef", "Function", "FunctionArg")
