"""`dagger call [constructor flags] FUNCTION [flags]` read as the dagger CLI reads it.

The CLI (cmd/dagger/functions.go, flags.go, backport-0.21) makes a flag of every argument it
supports, named `cliName` of the registered name, normalises what the user types the same
way, parses a String, Int, Float or Boolean flag with pflag, a list with pflag's CSV reading,
and keeps an object's flag (a Directory, File, Secret, Container...) as an address the engine
loads (`dag.address(text).directory()`, `.secret()` ...). It sends only the flags that were
set; a required one (not optional, no default) missing is an error before anything runs.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from acme_ci.rehearsal.strcase import cli_name
from acme_ci.rehearsal.typedefs import ArgDef, FunctionDef

FlagValue = str | int | float | bool | list[str]
# cmd/dagger/flags.go, GetCustomFlagValue: the objects a flag can name by address.
ADDRESSED = frozenset(
    {
        "Container",
        "Directory",
        "File",
        "Secret",
        "Service",
        "CacheVolume",
        "Socket",
        "GitRepository",
        "GitRef",
    }
)
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # strconv.ParseBool
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


class CallLineError(Exception):
    """The CLI refuses the command line (exit 1 before any call); the message is the CLI's."""


@dataclass(frozen=True)
class CallLine:
    """What the CLI sends: the constructor's and the function's set flags, by registered name."""

    function: FunctionDef
    constructor_args: Mapping[str, FlagValue] = field(default_factory=dict)
    args: Mapping[str, FlagValue] = field(default_factory=dict)


def flag_value(arg: ArgDef, text: str | None) -> FlagValue:
    """One flag's value as pflag parses it for the argument's type."""
    kind = arg.type.element.name if arg.type.element is not None else arg.type.name
    if arg.type.is_list:
        if kind in ADDRESSED or kind in ("String", "Int", "Boolean", "Float"):
            return next(csv.reader([text or ""]), []) if text else []
        raise CallLineError(f"unsupported type for flag --{cli_name(arg.name)}: list")
    if kind == "Boolean":
        if text is None or text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise CallLineError(f'invalid argument "{text}" for "--{cli_name(arg.name)}" flag')
    if text is None:
        raise CallLineError(f"flag needs an argument: --{cli_name(arg.name)}")
    try:
        if kind == "Int":
            return int(text, 0)
        if kind == "Float":
            return float(text)
    except ValueError:
        raise CallLineError(
            f'invalid argument "{text}" for "--{cli_name(arg.name)}" flag'
        ) from None
    if kind == "String" or kind in ADDRESSED:
        return text
    raise CallLineError(f"unsupported type for flag --{cli_name(arg.name)}: {kind}")


def _read_flags(
    tokens: list[str], function: FunctionDef, stop_at_word: bool
) -> dict[str, FlagValue]:
    """The flags at the head of `tokens` (consumed) for `function`'s arguments."""
    by_flag = {cli_name(a.name): a for a in function.args}
    values: dict[str, FlagValue] = {}
    while tokens and tokens[0].startswith("--"):
        name, has_value, value = tokens.pop(0)[2:].partition("=")
        arg = by_flag.get(cli_name(name))
        if arg is None:
            raise CallLineError(f"unknown flag: --{name}")
        if has_value:
            values[arg.name] = flag_value(arg, value)
        elif arg.type.name == "Boolean" and not arg.type.is_list:
            values[arg.name] = True
        else:
            if not tokens:
                raise CallLineError(f"flag needs an argument: --{name}")
            values[arg.name] = flag_value(arg, tokens.pop(0))
    if tokens and not stop_at_word:
        raise CallLineError(f"unexpected argument {tokens[0]!r}")
    return values


def _check_required(function: FunctionDef, given: Mapping[str, FlagValue]) -> None:
    missing = [cli_name(a.name) for a in function.args if a.required and a.name not in given]
    if missing:
        joined = '", "'.join(missing)
        raise CallLineError(f'required flag(s) "{joined}" not set')


def read_call_line(
    argv: Sequence[str], constructor: FunctionDef | None, functions: Mapping[str, FunctionDef]
) -> CallLine:
    """`argv` after `dagger call`, against the main object's constructor and functions."""
    tokens = list(argv)
    constructor_args: dict[str, FlagValue] = {}
    if constructor is not None:
        constructor_args = _read_flags(tokens, constructor, stop_at_word=True)
        _check_required(constructor, constructor_args)
    if not tokens:
        raise CallLineError("no function named")
    by_cli = {cli_name(name): f for name, f in functions.items()}
    word = tokens.pop(0)
    function = by_cli.get(word)
    if function is None:
        raise CallLineError(f'unknown command "{word}" for "dagger call"')
    args = _read_flags(tokens, function, stop_at_word=False)
    _check_required(function, args)
    return CallLine(function, constructor_args, args)
