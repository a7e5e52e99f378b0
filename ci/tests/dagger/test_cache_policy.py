"""Every function's cache policy fits what the function does, judged from what it builds.

The engine keeps a module function's result for 7 days by default and replays it for the
same source and arguments (core/typedef.go, Function.FieldSpec; core/modfunc.go,
MaxFunctionCacheTTLSeconds); only `cache="never"` gives each call an input of its own, and
"session" one per client session (core/modfunc.go, cacheImplicitInputs; dagql/cache_inputs.go).
So a function that reads or changes anything outside its arguments must not keep the default.

Which functions do is not a list kept by hand: each registered function is called offline
with every argument given (the remote cache's test engine answers the queries), and what it
sends and returns is searched for the marks of outside work: an exec made unique to the call
(containers.once_per_call, put before every exec with an outside effect), a credential handed
to a container (a secret variable or mount, registry auth), a publish or an export, a read of
the host other than the module's own source (a host file, directory or service). A function
with none of them builds only from its arguments and the source: it keeps the default.
"""

# The SDK's registration and dagger-io's selections are not annotated.
# mypy: disable-error-code="attr-defined, no-untyped-call"

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagger
import pytest
from dagger import dag
from dagger.client._core import Context
from dagger.client._core import Field as Selection
from dagger.client.base import Type
from dagger.mod._utils import get_module, get_object_type

from acme_ci.core.plan import make_plan
from acme_ci.core.shard_plan_format import shard_plan_json
from acme_ci.core.shards import History, make_shard_plan
from acme_ci.dagger import containers
from acme_ci.dagger.main import AcmeCi
from acme_ci.dagger.sharding import VerdictFailedError
from acme_ci.dagger.source import select
from acme_ci.native.discover import load_workspace
from acme_ci.rehearsal.converter import one_converter

from .test_pipeline import ROOT
from .test_registration import Fn, register_until_engine
from .test_remote_cache import CacheEngine, host_evaluator, module

# The policies registration sends (dagger.FunctionCachePolicy): None is the default.
REPLAYED_ONLY_WITHIN = ("Never", "PerSession")
# A value for each string argument whose default does not exercise the function (or that
# has none); every secret gets a value, a cache URL one it can parse.
STRINGS = {
    "package": "acme-logger",
    "service": "acme-user-service",
    "version": "1.2.3",
    "registry": "registry.example/acme",
    "username": "bot",
    "cache_scope": "main",
    "cache_endpoint_url": "https://s3.example",
    "cache_region": "eu-west-1",
    "s3_endpoint_url": "https://s3.example",
    "kafka_bootstrap_servers": "kafka.example:9092",
    "shards": "2",
}
SECRETS = {"cache_url": "s3://acme-cache/ci"}
# An argument of a sharded run's own, given where it has no default.
SHARDED = {"run_id": "1234"}


def walk(chain: list[Selection]) -> Iterator[list[Selection]]:
    """`chain` and the chain of every object among its arguments, recursively."""
    yield chain
    for selection in chain:
        for value in selection.args.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, Type):
                    yield from walk(list(item._ctx.selections))


def outside_work(chain: list[Selection], source: list[Selection]) -> set[str]:
    """The marks of work outside the arguments in a query (`source`: the module's own)."""
    found: set[str] = set()
    for part in walk(chain):
        for i, selection in enumerate(part):
            name, args = selection.name, selection.args
            if name == "withEnvVariable" and args["name"] == containers.CALL_ID_VARIABLE:
                found.add("an exec unique to the call")
            elif name in ("withSecretVariable", "withMountedSecret", "withRegistryAuth"):
                found.add(f"a credential ({name})")
            elif name in ("publish", "export"):
                found.add(f"a {name}")
            elif name == "address" or (name == "host" and part[i : i + len(source)] != source):
                # A host file, directory or service, or dag.address("file:...", "tcp://...").
                found.add("a read of the host")
    return found


async def shard_plan_file(directory: Path) -> dagger.File:
    """The shard plan of the selection a call with every default makes (no --base: all)."""
    ws = load_workspace(ROOT)
    base = make_plan(ws, await select(ws, dag.directory(), "", False))
    path = directory / "shard-plan.json"
    path.write_text(shard_plan_json(make_shard_plan(base, History(), 2)), encoding="utf-8")
    return dag.host().file(str(path))


async def arguments(method: Any, fn: Fn, directory: Path) -> dict[str, Any]:
    """Every argument of `fn` given: secrets set, strings from STRINGS, a required file a
    shard plan, the rest default."""
    names = [p for p in inspect.signature(method).parameters]
    given: dict[str, Any] = {}
    for name, arg in zip(names, fn.args, strict=True):
        if arg.type.startswith("Secret"):
            given[name] = dag.set_secret(name, SECRETS.get(name, f"value of {name}"))
        elif name in STRINGS:
            given[name] = STRINGS[name]
        elif name in SHARDED and arg.default is None:
            given[name] = SHARDED[name]
        elif arg.type == "File" and arg.default is None:
            given[name] = await shard_plan_file(directory)
        else:
            assert arg.default is not None, f"{name}: no value to call with: add it to STRINGS"
    return given


@pytest.fixture
async def registered(monkeypatch: pytest.MonkeyPatch) -> dict[str, Fn]:
    mod = get_module(AcmeCi)
    assert mod is not None
    with monkeypatch.context() as patched:
        functions = (await register_until_engine(mod, "AcmeCi", patched))["AcmeCi"]
    return {name: fn for name, fn in functions.items() if name}  # "" is the constructor


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[CacheEngine]:
    fake = CacheEngine(evaluator=host_evaluator(tmp_path / "evaluator"))

    async def execute(ctx: Context, return_type: Any = None) -> Any:
        return await fake.execute(ctx, return_type)

    monkeypatch.setattr(Context, "execute", execute)
    with one_converter():
        yield fake


async def work_of(engine: CacheEngine, name: str, fn: Fn, directory: Path) -> set[str]:
    """The outside work `name` does, called with every argument given."""
    acme = module()
    method = getattr(acme, name)
    given = await arguments(method, fn, directory)
    engine.queries.clear()
    try:
        result = await method(**given)
    except VerdictFailedError:  # the store holds no shard report: work done all the same
        result = None
    chains = [
        *engine.queries,
        *([list(result._ctx.selections)] if isinstance(result, Type) else []),
    ]
    source = list(acme.source._ctx.selections)
    return set().union(*(outside_work(chain, source) for chain in chains))


@pytest.mark.anyio
async def test_a_function_with_outside_work_is_never_replayed_and_the_others_keep_the_default(
    engine: CacheEngine, registered: dict[str, Fn], tmp_path: Path
) -> None:
    wrong = {}
    for name, fn in sorted(registered.items()):
        work = await work_of(engine, name, fn, tmp_path)
        if work and fn.cache not in REPLAYED_ONLY_WITHIN:
            wrong[name] = f"does {sorted(work)}, yet the engine replays it (policy {fn.cache})"
        elif not work and fn.cache is not None:
            wrong[name] = f"builds only from its arguments, yet its policy is {fn.cache}"
    assert wrong == {}
    # The rule found something to judge: the functions that do outside work are these.
    assert {n for n, fn in registered.items() if fn.cache == "Never"} == {
        "ci",
        "cd",
        "plan",
        "verdict",
        "publish",
        "deploy",
        "maintenance",
    }


@pytest.mark.anyio
async def test_every_docstring_says_what_may_be_replayed(registered: dict[str, Fn]) -> None:
    obj = get_object_type(AcmeCi)
    assert obj is not None
    for name, fn in registered.items():
        doc = obj.functions[name].doc or ""
        (line,) = [line for line in doc.splitlines() if line.startswith("Cache: ")]
        if fn.cache == "Never":
            assert line.startswith("Cache: never replayed"), name
        else:
            assert fn.cache is None, name
            assert line.startswith("Cache: replayed for the same source"), name


def test_the_marks_of_outside_work_are_found_where_they_are() -> None:
    source = list(dag.host().directory("/repo")._ctx.selections)
    base = dag.container().from_("alpine").with_directory("/src", dag.host().directory("/repo"))

    def work(obj: Type) -> set[str]:
        return outside_work(list(obj._ctx.selections), source)

    assert work(base.with_exec(["make"])) == set()
    assert work(containers.once_per_call(base).with_exec(["apply"])) == {
        "an exec unique to the call"
    }
    assert work(base.with_secret_variable("TOKEN", dag.set_secret("t", "x"))) == {
        "a credential (withSecretVariable)"
    }
    assert work(base.with_directory("/etc", dag.host().directory("/etc"))) == {"a read of the host"}
    outside_db = dag.host().service([dagger.PortForward(backend=5432, frontend=5432)])
    assert work(base.with_service_binding("db", outside_db)) == {"a read of the host"}
    assert work(base.with_file("/x", dag.address("file:///etc/hosts").file())) == {
        "a read of the host"
    }
