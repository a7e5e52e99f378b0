"""Every function argument is callable from `dagger call`, and the README's examples parse.

The dagger CLI (dagger/dagger, branch backport-0.21) turns each argument of a function into a
flag of its `dagger call <function>` subcommand (cmd/dagger/functions.go,
FuncCommand.addFlagsForFunction). `modFunctionArg.AddFlag` (cmd/dagger/flags.go) refuses a
name the command's flag set already holds ("flag already exists"), and by then cobra has
merged the persistent flags of every ancestor into it: the CLI's global flags and those of
`call`. One colliding argument makes the whole function uncallable, whatever flags the user
types. The names below are read from that source; the flag name of an argument is
`strcase.ToKebab` (cmd/dagger/module_inspect.go, cliName / FlagName) of the name the engine
stores, `strcase.ToLowerCamel` of the SDK's name (core/typedef.go), both from
github.com/iancoleman/strcase v0.3.0 (go.mod), ported below.
"""

# mypy: disable-error-code="attr-defined, no-untyped-call"

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import pytest
from dagger.mod._utils import get_module

from acme_ci.dagger.main import AcmeCi

from ..conftest import repository_file
from .test_registration import Fn, register_until_engine

# cmd/dagger/main.go: installGlobalFlags (persistent flags of the root command) and the
# root's hidden --help.
GLOBAL_FLAGS = frozenset(
    {
        "workdir",
        "verbose",
        "quiet",
        "silent",
        "debug",
        "progress",
        "lock",
        "interactive",
        "interactive-command",
        "web",
        "no-exit",
        "auto-apply",
        "x-release",
        "dot-output",
        "dot-focus-field",
        "dot-show-internal",
        "cloud",
        "scale-out",
        "help",
    }
)
# cmd/dagger/module.go: moduleAddFlags on `call`'s persistent flags (optional=true adds
# --no-mod); cmd/dagger/functions.go: FuncCommand.Command adds --output and --json.
CALL_FLAGS = frozenset({"mod", "no-mod", "allow-llm", "eager-runtime", "output", "json"})
RESERVED = GLOBAL_FLAGS | CALL_FLAGS
# The short forms of the reserved flags, which a user may type before the function name.
RESERVED_SHORT = frozenset("vqsdiwEymMojh")

# Functions of the core types a module function returns, as the README chains them
# (core/schema/container.go, service.go, directory.go).
CORE_FUNCTIONS = {
    "Container": frozenset({"terminal", "stdout", "stderr", "export", "publish", "as-service"}),
    "Service": frozenset({"up", "endpoint", "stop"}),
    "Directory": frozenset({"export", "entries", "terminal"}),
}


def _is_cap(c: str) -> bool:
    return "A" <= c <= "Z"


def _is_low(c: str) -> bool:
    return "a" <= c <= "z"


def _is_num(c: str) -> bool:
    return "0" <= c <= "9"


def to_lower_camel(s: str) -> str:
    """iancoleman/strcase v0.3.0 camel.go, toCamelInitCase(s, false) (no acronyms set)."""
    s = s.strip()
    out: list[str] = []
    cap_next = False
    prev_is_cap = False
    for i, v in enumerate(s):
        v_is_cap, v_is_low = _is_cap(v), _is_low(v)
        if cap_next:
            if v_is_low:
                v = v.upper()
        elif i == 0:
            if v_is_cap:
                v = v.lower()
        elif prev_is_cap and v_is_cap:
            v = v.lower()
        prev_is_cap = v_is_cap
        if v_is_cap or v_is_low:
            out.append(v)
            cap_next = False
        elif _is_num(v):
            out.append(v)
            cap_next = True
        else:
            cap_next = v in "_ -."
    return "".join(out)


def to_kebab(s: str) -> str:
    """iancoleman/strcase v0.3.0 snake.go, ToScreamingDelimited(s, '-', "", false)."""
    s = s.strip()
    out: list[str] = []
    for i, v in enumerate(s):
        v_is_cap, v_is_low = _is_cap(v), _is_low(v)
        if v_is_cap:
            v = v.lower()
        if i + 1 < len(s):
            nxt = s[i + 1]
            v_is_num = _is_num(v)
            next_is_cap, next_is_low, next_is_num = _is_cap(nxt), _is_low(nxt), _is_num(nxt)
            if (
                (v_is_cap and (next_is_low or next_is_num))
                or (v_is_low and (next_is_cap or next_is_num))
                or (v_is_num and (next_is_cap or next_is_low))
            ):
                if v_is_cap and next_is_low and i > 0 and _is_cap(s[i - 1]):
                    out.append("-")
                out.append(v)
                if v_is_low or v_is_num or next_is_num:
                    out.append("-")
                continue
        out.append("-" if v in " _-." else v)
    return "".join(out)


def cli_name(sdk_name: str) -> str:
    """The flag (or subcommand) name the CLI derives from a name the SDK registered."""
    return to_kebab(to_lower_camel(sdk_name))


def test_the_strcase_port_matches_the_libraries_documented_cases() -> None:
    # Cases from iancoleman/strcase's own tests (camel_test.go, snake_test.go, v0.3.0).
    assert to_lower_camel("AnyKind of_string") == "anyKindOfString"
    assert to_lower_camel(" some string") == "someString"
    assert to_lower_camel("CONSTANT_CASE") == "constantCase"
    assert to_kebab("testCase") == "test-case"
    assert to_kebab("ManyManyWords") == "many-many-words"
    assert to_kebab("JSONData") == "json-data"
    assert to_kebab("numbers2and55with000") == "numbers-2-and-55-with-000"
    assert to_kebab("AB1AB2AB3") == "ab-1-ab-2-ab-3"
    # The CLI normalises what the user types the same way (SetGlobalNormalizationFunc), so
    # --s3-endpoint-url and the registered name meet at one spelling.
    assert cli_name("s3_endpoint_url") == to_kebab("s3-endpoint-url") == "s-3-endpoint-url"


@dataclass(frozen=True)
class Functions:
    """The module's functions by CLI name: (SDK name, definition)."""

    by_cli: dict[str, tuple[str, Fn]]


@pytest.fixture
async def functions(monkeypatch: pytest.MonkeyPatch) -> Functions:
    mod = get_module(AcmeCi)
    assert mod is not None
    described = (await register_until_engine(mod, "AcmeCi", monkeypatch))["AcmeCi"]
    return Functions({cli_name(name): (name, fn) for name, fn in described.items() if name})


@pytest.mark.anyio
async def test_no_argument_takes_a_flag_the_cli_reserves(functions: Functions) -> None:
    collisions = [
        f"{name}({arg.name}) -> --{cli_name(arg.name)}"
        for name, fn in functions.by_cli.values()
        for arg in fn.args
        if cli_name(arg.name) in RESERVED
    ]
    assert collisions == [], "uncallable from `dagger call`: flag already exists"


def test_the_reserved_list_catches_a_colliding_argument() -> None:
    assert cli_name("verbose") in RESERVED
    assert cli_name("json") in RESERVED
    assert cli_name("output") in RESERVED
    assert cli_name("log_operations") not in RESERVED


def readme_calls(text: str) -> list[list[str]]:
    """The argv after `dagger call` of every example in the README: command lines of code
    blocks (continuations joined, comments dropped) and inline code spans."""
    joined = re.sub(r"\\\n\s*", " ", text)
    commands = [
        line.strip().split(" #", 1)[0]
        for line in joined.splitlines()
        if line.strip().startswith("dagger call ")
    ]
    commands += re.findall(r"`(dagger call [^`]*)`", joined)
    return [shlex.split(command)[2:] for command in commands]


def call_errors(argv: list[str], functions: Functions) -> list[str]:
    """Why `dagger call <argv>` would not parse against the module (empty: it parses)."""
    tokens = list(argv)
    while tokens and tokens[0].startswith("-"):
        flag = tokens.pop(0).lstrip("-").split("=", 1)[0]
        if flag not in RESERVED and flag not in RESERVED_SHORT:
            return [f"--{flag} before the function is not a dagger flag"]
        if flag in ("mod", "m", "output", "o", "progress", "workdir") and tokens:
            tokens.pop(0)
    if not tokens:
        return ["no function named"]
    name = tokens.pop(0)
    if name not in functions.by_cli:
        return [f"no function {name!r} (have: {', '.join(sorted(functions.by_cli))})"]
    fn = functions.by_cli[name][1]
    args = {cli_name(a.name): a for a in fn.args}
    errors = []
    while tokens:
        token = tokens.pop(0)
        if not token.startswith("--"):
            chained = CORE_FUNCTIONS.get(fn.returns.rstrip("?"), frozenset())
            if token not in chained:
                errors.append(f"{name} returns {fn.returns}: no function {token!r} on it")
            break
        flag, has_value, _ = token[2:].partition("=")
        flag = to_kebab(flag)
        if flag in RESERVED:
            continue
        if flag not in args:
            errors.append(f"{name}: no argument --{flag}")
            continue
        if args[flag].type.rstrip("?") != "Boolean" and not has_value:
            if not tokens or tokens[0].startswith("--"):
                errors.append(f"{name}: --{flag} needs a value")
            else:
                tokens.pop(0)
    return errors


@pytest.mark.anyio
async def test_every_dagger_call_example_in_the_readme_parses(functions: Functions) -> None:
    calls = readme_calls(repository_file("README.md").read_text(encoding="utf-8"))
    assert calls, "the README shows no `dagger call` example"
    problems = {" ".join(argv): call_errors(argv, functions) for argv in calls}
    assert {call: errors for call, errors in problems.items() if errors} == {}


@pytest.mark.anyio
async def test_the_example_check_rejects_unknown_functions_and_flags(
    functions: Functions,
) -> None:
    assert call_errors(["maintenance", "--cleanup"], functions) == []
    assert call_errors(["env", "--package", "acme-logger", "terminal"], functions) == []
    assert call_errors(["maintenance", "--no-such-flag"], functions) != []
    assert call_errors(["no-such-function"], functions) != []
    assert call_errors(["test", "--package"], functions) != []
    assert call_errors(["serve", "--service", "x", "terminal"], functions) != []
