"""The module's type definitions, as the engine receives them from the SDK's registration.

The SDK registers a module by building `dag.module().withObject(...)` definitions
(dagger/mod/_module.py, Module._typedefs) and sending its ID; the rehearsal's evaluator
records those calls (evaluator/registration_fields.py) and this module reads them: every
object, its constructor and functions, each argument with its type, default, `defaultPath`
and `ignore`, each function's cache policy and whether `dagger check` runs it. Nothing here
restates the module: change a function and the next registration says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from acme_ci.rehearsal.evaluator.values import Definition

# The SDK's TypeDefKind values (dagger/client/gen.py), by the name the engine's schema uses.
KINDS = {
    "STRING_KIND": "String",
    "INTEGER_KIND": "Int",
    "FLOAT_KIND": "Float",
    "BOOLEAN_KIND": "Boolean",
    "VOID_KIND": "Void",
}


@dataclass(frozen=True)
class TypeRef:
    """An argument's or a result's type: a kind, or an object, enum or scalar by name."""

    name: str
    optional: bool = False
    element: TypeRef | None = None

    @property
    def is_list(self) -> bool:
        return self.element is not None

    def describe(self) -> str:
        """'String', 'Secret?', '[String]': as the engine's schema writes it."""
        inner = f"[{self.element.describe()}]" if self.element is not None else self.name
        return inner + ("?" if self.optional else "")


@dataclass(frozen=True)
class ArgDef:
    """A function argument as registered (the default is JSON, as the engine stores it)."""

    name: str
    type: TypeRef
    default_json: str | None = None
    default_path: str | None = None
    ignore: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        """The CLI's rule (modFunctionArg.IsRequired): not optional and no default."""
        return not self.type.optional and self.default_json is None


@dataclass(frozen=True)
class FunctionDef:
    """A function (or, named '', a constructor) as registered."""

    name: str
    returns: TypeRef
    args: tuple[ArgDef, ...] = ()
    cache_policy: str | None = None
    time_to_live: str | None = None
    check: bool = False

    def arg(self, name: str) -> ArgDef:
        return next(a for a in self.args if a.name == name)


@dataclass(frozen=True)
class ObjectDef:
    name: str
    constructor: FunctionDef | None = None
    functions: Mapping[str, FunctionDef] = field(default_factory=dict)


def type_ref(definition: Definition) -> TypeRef:
    """A TypeDef definition read: `withKind`, `withObject`, `withListOf`, `withOptional`..."""
    name, optional, element = "", False, None
    for call in definition.calls:
        args = call.args
        if call.field == "withOptional":
            optional = bool(args["optional"])
        elif call.field == "withKind":
            name = KINDS.get(str(args["kind"]), str(args["kind"]))
        elif call.field in ("withObject", "withInterface", "withEnum", "withScalar"):
            name = str(args["name"])
        elif call.field == "withListOf":
            element = type_ref(args["elementType"])
    return TypeRef(name, optional, element)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def function_def(definition: Definition) -> FunctionDef:
    """A Function definition read: `function(name, returnType)` then its `with...` calls."""
    (made,) = definition.each("function")
    args: list[ArgDef] = []
    policy, ttl, check = None, None, False
    for call in definition.calls:
        given = call.args
        if call.field == "withArg":
            arg_type = type_ref(given["typeDef"])
            default_path = _text(given.get("defaultPath")) or None
            if default_path is not None:
                # "When using a default path ... we need to enforce it as optional"
                # (core/schema/module.go, functionWithArg).
                arg_type = replace(arg_type, optional=True)
            args.append(
                ArgDef(
                    str(given["name"]),
                    arg_type,
                    _text(given.get("defaultValue")),
                    default_path,
                    tuple(given.get("ignore") or ()),
                )
            )
        elif call.field == "withCachePolicy":
            policy, ttl = str(given["policy"]), _text(given.get("timeToLive"))
        elif call.field == "withCheck":
            check = True
    return FunctionDef(
        str(made["name"]), type_ref(made["returnType"]), tuple(args), policy, ttl, check
    )


def object_def(definition: Definition) -> ObjectDef:
    (named,) = definition.each("withObject")
    constructor = [function_def(a["function"]) for a in definition.each("withConstructor")]
    functions = {
        f.name: f for f in (function_def(a["function"]) for a in definition.each("withFunction"))
    }
    return ObjectDef(str(named["name"]), constructor[0] if constructor else None, functions)


def module_objects(module: Definition) -> dict[str, ObjectDef]:
    """Every object the module registered, by name."""
    objects = [object_def(a["object"]) for a in module.each("withObject")]
    return {o.name: o for o in objects}
