"""The function call a module's runtime serves: `dag.currentFunctionCall()` and its fields.

The engine runs a module function by starting the module's runtime (for Python,
`dagger.mod.cli.app`), which asks `currentFunctionCall` what to do: `parentName` (empty
means "register the module"), `name` ('' is the constructor), `parent` (the object's state
as JSON) and `inputArgs` (each argument's JSON, an object as its ID). It answers with
`returnValue` (JSON) or `returnError` (a `dag.error(...)` with values) (core/modfunc.go,
ModuleFunction.Call; dagger/mod/_module.py, Module.serve and invoke). The rehearsal's
function boundary (rehearsal/boundary.py) sets the call; these handlers answer its fields.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from dagger import JSON

from acme_ci.rehearsal.evaluator.errors import query_error
from acme_ci.rehearsal.evaluator.query_fields import identify

if TYPE_CHECKING:
    from acme_ci.rehearsal.evaluator.handlers import Arguments, Evaluation, FieldHandler


@dataclass(frozen=True)
class ArgValue:
    """`FunctionCallArgValue`: an argument's name and its value as JSON."""

    name: str
    value: str


@dataclass(frozen=True)
class Identified:
    """An object the engine answers by its ID alone (`inputArgs { id }`)."""

    id: str


@dataclass(frozen=True)
class ReturnedError:
    """`dag.error(message).withValue(name, json)...`: what `returnError` hands the engine."""

    message: str
    values: tuple[tuple[str, str], ...] = ()

    def value(self, name: str) -> str | None:
        return dict(self.values).get(name)


@dataclass
class FunctionCall:
    """One call the runtime serves, and what it returned (a value or an error)."""

    parent_name: str
    name: str
    parent: str = ""
    input_args: tuple[ArgValue, ...] = ()
    returned: str | None = field(default=None, init=False)
    error: ReturnedError | None = field(default=None, init=False)


_CURRENT: ContextVar[FunctionCall | None] = ContextVar("acme_rehearsal_call", default=None)


@contextlib.contextmanager
def serving(call: FunctionCall) -> Iterator[FunctionCall]:
    """`call` is the current function call while the block runs (the runtime's process)."""
    token = _CURRENT.set(call)
    try:
        yield call
    finally:
        _CURRENT.reset(token)


async def current_function_call(_: Evaluation, __: object, ___: Arguments) -> FunctionCall:
    call = _CURRENT.get()
    if call is None:
        raise query_error("currentFunctionCall: not called from a module function")
    return call


def call_field(name: str) -> FieldHandler:
    """`name`, `parentName`, `parent` or `inputArgs` (JSON typed as dagger-io checks it)."""

    async def handler(_: Evaluation, call: FunctionCall, __: Arguments) -> Any:
        return {
            "name": call.name,
            "parentName": call.parent_name,
            "parent": JSON(call.parent),
            "inputArgs": list(call.input_args),
        }[name]

    return handler


async def return_value(_: Evaluation, call: FunctionCall, arguments: Arguments) -> None:
    call.returned = str(arguments["value"])


async def return_error(evaluator: Evaluation, call: FunctionCall, arguments: Arguments) -> None:
    call.error = await evaluator.value_of(arguments["error"])


async def arg_ids(evaluator: Evaluation, args: Any, _: Arguments) -> Any:
    """`inputArgs { id }` (a list, as the SDK selects it) or one argument's `id`."""
    if isinstance(args, list):
        return [Identified(evaluator.register(arg)) for arg in args]
    return evaluator.register(args)


async def arg_name(_: Evaluation, arg: ArgValue, __: Arguments) -> str:
    return arg.name


async def arg_value(_: Evaluation, arg: ArgValue, __: Arguments) -> JSON:
    return JSON(arg.value)


async def new_error(_: Evaluation, __: object, arguments: Arguments) -> ReturnedError:
    return ReturnedError(str(arguments["message"]))


async def with_value(_: Evaluation, error: ReturnedError, arguments: Arguments) -> ReturnedError:
    pair = (str(arguments["name"]), str(arguments["value"]))
    return replace(error, values=(*error.values, pair))


async def error_message(_: Evaluation, error: ReturnedError, __: Arguments) -> str:
    return error.message


CALL_QUERY_FIELDS: dict[str, FieldHandler] = {
    "currentFunctionCall": current_function_call,
    "error": new_error,
}
FUNCTION_CALL_FIELDS: dict[str, FieldHandler] = {
    **{name: call_field(name) for name in ("name", "parentName", "parent", "inputArgs")},
    "returnValue": return_value,
    "returnError": return_error,
    "id": identify,
}
ARG_VALUE_FIELDS: dict[str, FieldHandler] = {"id": arg_ids, "name": arg_name, "value": arg_value}
ERROR_FIELDS: dict[str, FieldHandler] = {
    "withValue": with_value,
    "message": error_message,
    "id": identify,
}
