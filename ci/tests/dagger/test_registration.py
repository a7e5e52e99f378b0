"""The Dagger module registers: every function, argument, default and return type, offline.

The engine registers a Python module by loading the main object through the `dagger.mod`
entry point (dagger/mod/cli.py, load_module) and calling `Module.register()`, which builds the
type definitions (mod/_module.py, Module._typedefs, with mod/_converter.py, to_typedef) and
sends them in one final query, `mod.id()`. Every unsupported annotation fails before that
query. `register_until_engine` runs the real registration and stops at that query, returning
the definitions the engine would have received.
"""

# The SDK's Module.register and the Field/Type internals read here are not annotated.
# mypy: disable-error-code="attr-defined, no-untyped-call"

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import dagger
import pytest
from dagger import DefaultPath
from dagger.client._core import Context
from dagger.client._core import Field as Selection
from dagger.client.base import Type
from dagger.mod._module import Module
from dagger.mod._utils import get_module, get_object_type

from acme_ci.dagger.main import AcmeCi
from acme_ci.dagger.source import SOURCE_IGNORE

ROOT = Path(__file__).resolve().parents[3]


class ReachedEngineError(Exception):
    """Registration got as far as sending the module's definition to the engine."""

    def __init__(self, selections: list[Selection]) -> None:
        super().__init__("registration reached the engine call")
        self.selections = selections


@dataclass(frozen=True)
class Arg:
    name: str
    type: str
    default: str | None = None
    default_path: str | None = None
    ignore: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Fn:
    returns: str
    args: tuple[Arg, ...] = ()
    cache: str | None = None
    check: bool = False


def type_name(typedef: Type) -> str:
    """'String', 'Boolean', 'Container', '[String]', with '?' when optional."""
    name, optional = "", False
    for s in typedef._ctx.selections:
        if s.name == "withOptional":
            optional = bool(s.args["optional"])
        elif s.name == "withKind":
            name = {"STRING_KIND": "String", "BOOLEAN_KIND": "Boolean", "INTEGER_KIND": "Int"}[
                s.args["kind"]
            ]
        elif s.name in ("withObject", "withInterface", "withEnum", "withScalar"):
            name = s.args["name"]
        elif s.name == "withListOf":
            name = f"[{type_name(s.args['elementType'])}]"
    return name + ("?" if optional else "")


def describe_function(function: Type) -> tuple[str, Fn]:
    chain = list(function._ctx.selections)
    name = chain[0].args["name"]
    args, cache, check = [], None, False
    for s in chain[1:]:
        if s.name == "withArg":
            ignore = s.args.get("ignore")
            args.append(
                Arg(
                    s.args["name"],
                    type_name(s.args["typeDef"]),
                    s.args.get("defaultValue"),
                    s.args.get("defaultPath"),
                    tuple(ignore) if ignore is not None else None,
                )
            )
        elif s.name == "withCachePolicy":
            cache = s.args["policy"]
        elif s.name == "withCheck":
            check = True
    return name, Fn(type_name(chain[0].args["returnType"]), tuple(args), cache, check)


def describe_module(selections: list[Selection]) -> dict[str, dict[str, Fn]]:
    """Object name -> function name ('' is the constructor) -> its definition."""
    objects: dict[str, dict[str, Fn]] = {}
    for s in selections:
        if s.name != "withObject":
            continue
        chain = s.args["object"]._ctx.selections
        obj = next(c.args["name"] for c in chain if c.name == "withObject")
        functions: dict[str, Fn] = {}
        for c in chain:
            if c.name == "withFunction":
                name, fn = describe_function(c.args["function"])
                functions[name] = fn
            elif c.name == "withConstructor":
                functions[""] = describe_function(c.args["function"])[1]
        objects[obj] = functions
    return objects


async def register_until_engine(
    mod: Module, main: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, dict[str, Fn]]:
    """Run `mod.register()` as the runtime does; stop at the engine call and describe it."""

    async def execute(ctx: Context, return_type: Any = None) -> Any:
        raise ReachedEngineError(list(ctx.selections))

    monkeypatch.setattr(Context, "execute", execute)
    # The runtime names the main object through DAGGER_MAIN_OBJECT, read when dagger is
    # imported; this process imported it without, so name it the way _process_type would.
    monkeypatch.setattr(mod, "_main_name", main)
    monkeypatch.setattr(mod, "_main", mod._objects[main])
    with pytest.raises(ReachedEngineError) as reached:
        await mod.register()
    assert reached.value.selections[-1].name == "id"
    return describe_module(reached.value.selections)


def s(default: str) -> str:
    return json.dumps(default)


SECRET = "Secret?"
# `ci`, `cd`, `plan` and `verdict` take the same remote cache flags
# (acme_ci.dagger.cache_options).
CACHE_ARGS = (
    Arg("cache_url", SECRET, "null"),
    Arg("cache_scope", "String", s("")),
    Arg("cache_default_scope", "String", s("main")),
    Arg("cache_read_only", "Boolean", "false"),
    Arg("cache_pull_request", "Boolean", "false"),
    Arg("cache_signing_key", SECRET, "null"),
    Arg("cache_endpoint_url", "String", s("")),
    Arg("cache_region", "String", s("")),
    Arg("cache_aws_access_key_id", SECRET, "null"),
    Arg("cache_aws_secret_access_key", SECRET, "null"),
)
EXPECTED: dict[str, Fn] = {
    "": Fn(
        "AcmeCi",
        (Arg("source", "Directory", None, "/", tuple(SOURCE_IGNORE)),),
    ),
    "env": Fn("Container", (Arg("package", "String"),)),
    "lint": Fn("String", (Arg("package", "String"),)),
    "test": Fn("String", (Arg("package", "String"),)),
    "build": Fn("Directory", (Arg("package", "String"),)),
    "plan": Fn(
        "String",
        (
            Arg("base", "String", s("")),
            Arg("all", "Boolean", "false"),
            Arg("shards", "String", s("")),
            Arg("format", "String", s("text")),
            *CACHE_ARGS,
        ),
        cache="Never",
    ),
    "ci": Fn(
        "String",
        (
            Arg("base", "String", s("")),
            Arg("all", "Boolean", "false"),
            Arg("jobs", "Int", "4"),
            *CACHE_ARGS,
            Arg("shard", "String", s("")),
            Arg("shard_plan", "File?", "null"),
            Arg("run_id", "String", s("")),
            Arg("run_attempt", "Int", "1"),
        ),
        cache="Never",
    ),
    "verdict": Fn(
        "String",
        (
            Arg("shard_plan", "File"),
            Arg("run_id", "String"),
            Arg("base", "String", s("")),
            Arg("all", "Boolean", "false"),
            Arg("run_attempt", "Int", "1"),
            *CACHE_ARGS,
        ),
        cache="Never",
    ),
    "lint_all": Fn("String", check=True),
    "test_all": Fn("String", check=True),
    "image": Fn("Container", (Arg("service", "String"),)),
    "serve": Fn("Service", (Arg("service", "String"),)),
    "publish": Fn(
        "[String]",
        (
            Arg("version", "String"),
            Arg("registry", "String"),
            Arg("username", "String", s("")),
            Arg("password", SECRET, "null"),
        ),
        cache="Never",
    ),
    "deploy": Fn(
        "String",
        (
            Arg("version", "String"),
            Arg("registry", "String"),
            Arg("namespace", "String", s("acme")),
            Arg("kubeconfig", SECRET, "null"),
        ),
        cache="Never",
    ),
    "maintenance": Fn(
        "String",
        (
            Arg("cleanup", "Boolean", "false"),
            Arg("log_operations", "Boolean", "false"),
            Arg("database_url", SECRET, "null"),
            Arg("aws_access_key_id", SECRET, "null"),
            Arg("aws_secret_access_key", SECRET, "null"),
            Arg("s3_endpoint_url", "String", s("")),
            Arg("s3_bucket", "String", s("acme-maintenance")),
            Arg("kafka_bootstrap_servers", "String", s("")),
            Arg("rehearsal", "Boolean", "false"),
        ),
        cache="Never",
    ),
    "cd": Fn(
        "String",
        (
            Arg("version", "String"),
            Arg("registry", "String"),
            Arg("username", "String", s("")),
            Arg("password", SECRET, "null"),
            Arg("kubeconfig", SECRET, "null"),
            Arg("namespace", "String", s("acme")),
            Arg("database_url", SECRET, "null"),
            Arg("aws_access_key_id", SECRET, "null"),
            Arg("aws_secret_access_key", SECRET, "null"),
            Arg("s3_endpoint_url", "String", s("")),
            Arg("s3_bucket", "String", s("acme-maintenance")),
            Arg("kafka_bootstrap_servers", "String", s("")),
            Arg("rehearsal", "Boolean", "false"),
            *CACHE_ARGS,
        ),
        cache="Never",
    ),
}


@pytest.mark.anyio
async def test_every_function_registers_with_its_arguments_defaults_and_types(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mod = get_module(AcmeCi)
    assert mod is not None, "AcmeCi is not decorated with @object_type"
    objects = await register_until_engine(mod, "AcmeCi", monkeypatch)
    assert set(objects) == {"AcmeCi"}
    functions = objects["AcmeCi"]
    assert sorted(functions) == sorted(EXPECTED)
    for name, expected in EXPECTED.items():
        assert functions[name] == expected, name


def test_every_function_is_documented_for_dagger_functions() -> None:
    obj = get_object_type(AcmeCi)
    assert obj is not None
    for name, fn in obj.functions.items():
        assert fn.doc, f"{name} has no docstring: `dagger functions` would show nothing"
        for param in fn.parameters.values():
            assert param.doc, f"{name}({param.name}) has no Doc()"


BROKEN_MODULE = """
from typing import Optional

import anyio
import dagger
from dagger.client._core import Context
from dagger.mod._module import Module
from dagger.mod._utils import get_module, get_object_type

mod = Module("Broken")


@mod.object_type
class Broken:
    @mod.function
    def build(self, src: Optional[dagger.Directory] = None) -> str:
        return ""


async def reached(ctx, return_type=None):
    raise SystemExit("reached the engine")


Context.execute = reached
"""


def test_an_optional_directory_annotation_is_caught_before_the_engine(tmp_path: Path) -> None:
    """typing.Optional[dagger.Directory] breaks this SDK's registration (beartype rejects it).

    In a subprocess: after that failure beartype also rejects `dagger.Directory | None` for
    the rest of the process.
    """
    # A module file, not `-c`: registration reads the docstring of the class's package.
    (tmp_path / "broken.py").write_text(BROKEN_MODULE, encoding="utf-8")
    script = "import anyio, broken\nanyio.run(broken.mod.register)\n"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "reached the engine" not in done.stderr
    assert "Optional[dagger.Directory] invalid or unrecognized" in done.stderr


@pytest.mark.anyio
async def test_a_directory_or_none_annotation_registers(monkeypatch: pytest.MonkeyPatch) -> None:
    fine = Module()

    @fine.object_type
    class Fine:
        @fine.function
        def build(
            self,
            src: Annotated[dagger.Directory | None, DefaultPath("/")] = None,
        ) -> str:
            return ""

    objects = await register_until_engine(fine, "Fine", monkeypatch)
    assert objects["Fine"]["build"].args == (Arg("src", "Directory?", "null", "/"),)


def test_the_engine_finds_the_main_object_through_the_entry_point() -> None:
    """What the runtime does: DAGGER_MAIN_OBJECT set, then dagger.mod.cli.load_module()."""
    script = (
        "from dagger.mod.cli import load_module\n"
        "mod = load_module()\n"
        "print(mod.main_cls.__module__, mod.main_cls.__name__)\n"
    )
    env = {**os.environ, "DAGGER_MODULE": "acme-ci", "DAGGER_MAIN_OBJECT": "AcmeCi"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["acme_ci.dagger.main", "AcmeCi"]


def test_importing_the_package_does_not_import_dagger() -> None:
    """The native CLI must start without the SDK: only the entry point names acme_ci.dagger.main."""
    script = "import sys, acme_ci, acme_ci.native.cli\nprint('dagger' in sys.modules)\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "False"
