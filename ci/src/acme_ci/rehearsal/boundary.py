"""The function boundary: each rehearsed function called as `dagger call` calls it.

What crosses it, in order, as the CLI and the engine do (engine v0.21):

1. The module is registered through the SDK's own entry point, `dagger.mod.cli.main` (the
   runtime's `app()` less its event loop), asked with an empty `parentName`; its
   definitions say each function's arguments, defaults, `defaultPath`/`ignore`, cache
   policy and whether it is a check (rehearsal/typedefs.py).
2. Each `dagger call ARGV` is one client session (evaluator/sessions.py). The command line
   is read as the CLI reads it (rehearsal/call_line.py); an object flag is loaded from its
   address (`dag.address(...).directory(exclude: ignore)`, `.secret()` from `env:`, `file:`,
   `cmd:`), defaults are the registered JSON, and a contextual `defaultPath` directory is
   loaded from the module's context with its `ignore` (core/modfunc.go, setCallInputs and
   loadContextualArg).
3. The constructor is called (`name` ''), its result is the object's state; the function is
   called on it (`parent` that state as JSON, `inputArgs` JSON, objects as IDs), each through
   the runtime's entry point, which answers with `returnValue` or `returnError`.
4. Around each call, the engine's function cache (rehearsal/function_cache.py): a call whose
   key the engine would find kept is replayed, never run; a finished call is kept per its
   function's policy, an error never.
5. When the session ends, the services it started are stopped and what it alone kept is
   released.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagger
from dagger import dag
from dagger.mod._module import Module
from dagger.mod.cli import load_module
from dagger.mod.cli import main as runtime_main

from acme_ci.rehearsal import fs
from acme_ci.rehearsal.call_line import CallLineError, FlagValue, read_call_line
from acme_ci.rehearsal.evaluator import Evaluator
from acme_ci.rehearsal.evaluator.function_call import ArgValue, FunctionCall, serving
from acme_ci.rehearsal.evaluator.sessions import in_session, new_session_id
from acme_ci.rehearsal.evaluator.values import Definition, Secret, digest_of
from acme_ci.rehearsal.function_cache import (
    CallIdentity,
    FunctionCache,
    SecretKeys,
    cache_rule,
    call_key,
    module_default_caching,
)
from acme_ci.rehearsal.ignore import PathFilter
from acme_ci.rehearsal.strcase import to_camel
from acme_ci.rehearsal.typedefs import ArgDef, FunctionDef, ObjectDef, TypeRef, module_objects

# Kinds whose values are JSON as they are; anything else named is an object (passed by ID).
PLAIN = frozenset({"String", "Int", "Float", "Boolean", "Void", "JSON"})
# What the Python SDK's runtime leaves out of a module's source (sdk/python/runtime/main.go).
MODULE_SOURCE_IGNORE = ("**/.venv", "**/__pycache__")


class RegistrationError(Exception):
    """The SDK's registration of the module failed; the message is what it returned."""


@dataclass(frozen=True)
class CallResult:
    """A call's outcome as the CLI sees it: the result (objects as evaluator values) or the
    error the function returned; `replayed` when the engine's cache answered."""

    command: str
    value: Any = None
    error: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ModuleInfo:
    """The module as loaded: its main object's definitions and its identity for the cache."""

    main: ObjectDef
    digest: str
    default_caching: bool
    root: Path
    source_dir: str


def is_object(type_ref: TypeRef) -> bool:
    named = type_ref.element if type_ref.element is not None else type_ref
    return named.name not in PLAIN


class FunctionBoundary:
    """Registers the module once, then serves `dagger call`s, each a session of its own.

    `runtime_module`: the SDK module the runtime serves; None finds it as the runtime does,
    through the `dagger.mod` entry point (a test passes one of its own)."""

    def __init__(
        self,
        evaluator: Evaluator,
        root: Path,
        clock: Callable[[], float] = time.monotonic,
        runtime_module: Module | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.root = root
        self._runtime_module = runtime_module
        self.cache = FunctionCache(clock)
        self.secret_keys = SecretKeys()
        self._module: ModuleInfo | None = None
        self.calls = 0
        self.replayed = 0
        self.sessions = 0
        self.services_stopped = 0

    # ------------------------------------------------------------------ registration

    async def module(self) -> ModuleInfo:
        """The module registered through the SDK's entry point (once per rehearsal)."""
        if self._module is None:
            config = json.loads((self.root / "dagger.json").read_text(encoding="utf-8"))
            main_name = to_camel(str(config["name"]))
            self._name_main_object(main_name)
            call = FunctionCall(parent_name="", name="")
            code = await self._serve(call)
            if call.returned is None:
                error = call.error.message if call.error else f"the runtime exited {code}"
                raise RegistrationError(f"registering the module failed: {error}")
            registered = self.evaluator.load(json.loads(call.returned))
            assert isinstance(registered, Definition)
            source_dir = str(config.get("source", ".")).strip("/")
            self._module = ModuleInfo(
                module_objects(registered)[main_name],
                self._module_digest(source_dir),
                module_default_caching(config),
                self.root,
                source_dir,
            )
        return self._module

    def _name_main_object(self, name: str) -> None:
        """What DAGGER_MAIN_OBJECT, set by the engine before the runtime imports dagger, does
        to the SDK's module (mod/_module.py, Module.__init__ and _process_type)."""
        mod = self._runtime_module or load_module()
        if not mod._main_name:
            mod._main_name = name
            mod._main = mod._objects[name]

    def _module_digest(self, source_dir: str) -> str:
        """The module's identity in a call's key: its config and its source's content."""
        config = (self.root / "dagger.json").read_bytes()
        source = fs.tree_digest(self.root / source_dir, PathFilter(MODULE_SOURCE_IGNORE))
        return digest_of("module", config, source)

    async def _serve(self, call: FunctionCall) -> int | None:
        """One run of the module's runtime serving `call` (the exit code it returns)."""
        with serving(call):
            return await runtime_main(self._runtime_module, register=False)

    # ------------------------------------------------------------------ sessions

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """One client session (one `dagger call`, or one `dagger check` running every
        check): the services it started are stopped when it ends."""
        session = Session(self, await self.module(), new_session_id())
        self.sessions += 1
        # A new client syncs the host's directories anew: a changed file is seen.
        self.evaluator.file_systems.forget_host_digests()
        try:
            with in_session(session.id):
                yield session
        finally:
            session.stopped = await self.evaluator.services.end_session(session.id)
            self.services_stopped += len(session.stopped)
            self.cache.end_session(session.id)

    async def call(self, argv: Sequence[str]) -> CallResult:
        """`dagger call ARGV` in a session of its own."""
        async with self.session() as session:
            return await session.call(argv)


@dataclass
class Session:
    """The calls of one client session."""

    boundary: FunctionBoundary
    module: ModuleInfo
    id: str
    stopped: list[str] = field(default_factory=list)

    async def call(self, argv: Sequence[str]) -> CallResult:
        """The constructor, then the function ARGV names, as the CLI and the engine call them."""
        main = self.module.main
        line = read_call_line(argv, main.constructor, main.functions)
        command = " ".join(argv)
        state: Any = {}
        if main.constructor is not None:
            made = await self._call(main.constructor, None, line.constructor_args, command)
            if not made.ok:
                return made
            state = made.value
        return await self._call(line.function, state, line.args, command)

    async def _call(
        self,
        function: FunctionDef,
        state: Mapping[str, Any] | None,
        flags: Mapping[str, FlagValue],
        command: str,
    ) -> CallResult:
        boundary = self.boundary
        inputs: list[ArgValue] = []
        keyed: dict[str, str] = {}
        for arg in function.args:
            found = await self._input(arg, flags)
            if found is not None:
                inputs.append(ArgValue(arg.name, found[0]))
                keyed[arg.name] = found[1]
        rule = cache_rule(function, self.module.default_caching)
        parent = "" if state is None else self._keyed_state(state)
        identity = CallIdentity(self.module.digest, parent, function.name, keyed)
        key = call_key(identity, rule, self.id)
        boundary.calls += 1
        hit, kept = boundary.cache.lookup(key)
        if hit:
            boundary.replayed += 1
            return CallResult(command, kept.value, kept.error, replayed=True)
        call = FunctionCall(
            self.module.main.name,
            function.name,
            json.dumps(state) if state is not None else "null",
            tuple(inputs),
        )
        code = await boundary._serve(call)
        result = self._result(function, call, code, command)
        boundary.cache.record(key, rule, self.id, result, failed=not result.ok)
        return result

    async def _input(self, arg: ArgDef, flags: Mapping[str, FlagValue]) -> tuple[str, str] | None:
        """(JSON the runtime receives, what the cache keys) for one argument, or None when
        the engine sends nothing for it (optional, no default, not set)."""
        if arg.name in flags:
            value = flags[arg.name]
            if not is_object(arg.type):
                text = json.dumps(value)
                return text, text
            addresses = value if isinstance(value, list) else [str(value)]
            loaded = [await self._load(arg, address) for address in addresses]
            ids = [self.boundary.evaluator.register(v) for v in loaded]
            keys = [self._key_of(v) for v in loaded]
            if isinstance(value, list):
                return json.dumps(ids), json.dumps(keys)
            return json.dumps(ids[0]), keys[0]
        if arg.default_path is not None and is_object(arg.type):
            directory = await self._contextual(arg)
            return json.dumps(self.boundary.evaluator.register(directory)), self._key_of(directory)
        if arg.default_json is not None:
            return arg.default_json, arg.default_json
        return None

    async def _load(self, arg: ArgDef, address: str) -> object:
        """An object flag's value, loaded from its address as the CLI asks the engine to."""
        kind = arg.type.element.name if arg.type.element is not None else arg.type.name
        found = dag.address(address)
        query: dagger.Directory | dagger.File | dagger.Secret | dagger.Container
        if kind == "Directory":
            query = found.directory(exclude=list(arg.ignore) or None)
        elif kind == "File":
            query = found.file()
        elif kind == "Secret":
            query = found.secret()
        elif kind == "Container":
            query = found.container()
        else:
            raise CallLineError(f"the rehearsal does not load a {kind} from a flag")
        return await self.boundary.evaluator.value_of(query)

    async def _contextual(self, arg: ArgDef) -> object:
        """A `defaultPath` argument from the module's context directory: an absolute path
        from the context's root, a relative one from the module's source directory."""
        assert arg.default_path is not None
        path = arg.default_path
        base = (
            self.module.root if path.startswith("/") else self.module.root / self.module.source_dir
        )
        target = base / path.strip("/")
        if arg.type.name == "File":
            return await self.boundary.evaluator.value_of(dag.host().file(str(target)))
        directory = dag.host().directory(str(target), exclude=list(arg.ignore) or None)
        return await self.boundary.evaluator.value_of(directory)

    def _key_of(self, value: object) -> str:
        """An object as the engine keys it: a secret by its salted value, others by digest."""
        if isinstance(value, Secret):
            return self.boundary.secret_keys.key(value.plaintext.encode())
        return str(getattr(value, "digest", repr(value)))

    def _keyed_state(self, state: Mapping[str, Any]) -> str:
        """The parent's state with every object ID replaced by what the engine keys."""
        keyed: dict[str, Any] = {}
        for name, value in state.items():
            try:
                keyed[name] = self._key_of(self.boundary.evaluator.load(value))
            except (KeyError, TypeError):
                keyed[name] = value
        return json.dumps(keyed, sort_keys=True)

    def _result(
        self, function: FunctionDef, call: FunctionCall, code: int | None, command: str
    ) -> CallResult:
        """What the engine makes of the runtime's answer (core/modfunc.go, Call)."""
        if call.error is not None:
            return CallResult(command, error=call.error.message)
        if call.returned is None:
            what = "constructor" if not function.name else f"function {function.name!r}"
            reason = f"exited {code}" if code else "completed without returning a value"
            return CallResult(command, error=f"{what} {reason}")
        return CallResult(command, self._decoded(function.returns, json.loads(call.returned)))

    def _decoded(self, returns: TypeRef, value: Any) -> Any:
        """Objects (returned as IDs) as the evaluator's values; the rest as JSON decodes."""
        if returns.element is not None and isinstance(value, list):
            return [self._decoded(returns.element, v) for v in value]
        if is_object(returns) and isinstance(value, str):
            return self.boundary.evaluator.load(value)
        return value
