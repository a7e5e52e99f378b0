"""The function boundary: functions called as `dagger call` calls them, through the SDK's own
entry point, with the engine's function cache and per-session services.

No podman: the evaluator runs on test_translation's FakePodman. A probe module of this file
counts its functions' runs, so a replay is seen as a run that did not happen.
"""

# mypy: disable-error-code="attr-defined, misc, untyped-decorator"

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, cast

import anyio
import dagger
import pytest
from dagger import DefaultPath, Ignore, dag
from dagger.mod._module import CHECK_DEF_KEY, FUNCTION_DEF_KEY, Module
from dagger.mod._utils import get_object_type

from acme_ci.dagger import containers
from acme_ci.dagger.main import AcmeCi
from acme_ci.rehearsal.boundary import FunctionBoundary
from acme_ci.rehearsal.call_line import CallLineError
from acme_ci.rehearsal.evaluator import Evaluator
from acme_ci.rehearsal.evaluator.resources import Resources
from acme_ci.rehearsal.podman import Done, PodmanError

from .test_translation import ROOT, FakeImages, FakePodman, entrypoint

PROBE = Module()
RAN: list[str] = []
by_policy = cast(Any, PROBE.function)  # dagger-io 0.21.11's overloads omit `cache`


@PROBE.object_type
class Probe:
    """A module whose functions count their runs."""

    source: Annotated[dagger.Directory, DefaultPath("/"), Ignore(["ignored"])]

    @PROBE.function
    async def default(self, word: str = "") -> str:
        """Default policy."""
        RAN.append("default")
        return word

    @by_policy(cache="session")
    async def per_session(self) -> str:
        """Replayed within one session."""
        RAN.append("per_session")
        return "session"

    @by_policy(cache="never")
    async def never(self) -> str:
        """Never replayed."""
        RAN.append("never")
        return "never"

    @PROBE.function
    async def fails(self) -> str:
        """Default policy, and it fails."""
        RAN.append("fails")
        raise ValueError("the probe failed on purpose")

    @PROBE.function
    async def secret(self, token: dagger.Secret) -> str:
        """Default policy; the token's value is part of the call."""
        RAN.append("secret")
        return f"{len(await token.plaintext())} characters"

    @PROBE.function
    async def typed(self, count: int, flag: bool = False, names: list[str] | None = None) -> str:
        """What the CLI sent, as the function received it."""
        return json.dumps([count, flag, names])

    @by_policy(cache="never")
    async def bound(self) -> str:
        """An exec binding a database, unique to the call (as maintenance's is)."""
        database = dag.container().from_(containers.POSTGRES_IMAGE).as_service()
        ctr = dag.container().from_(containers.PYTHON_IMAGE)
        ctr = ctr.with_service_binding("db", database).with_env_variable("CALL", uuid.uuid4().hex)
        await ctr.with_exec(["probe-the-database"]).sync()
        return "bound"


@pytest.fixture
def context(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "mod").mkdir(parents=True)
    (root / "dagger.json").write_text(
        json.dumps({"name": "probe", "source": "mod", "engineVersion": "v0.21.11"})
    )
    (root / "mod" / "main.py").write_text("# the module's source\n")
    (root / "data.txt").write_text("one\n")
    (root / "ignored").write_text("left out by the source's Ignore\n")
    return root


@pytest.fixture
async def boundary(context: Path, tmp_path: Path) -> AsyncIterator[FunctionBoundary]:
    RAN.clear()
    fake = FakePodman(tmp_path / "podman")
    evaluator = Evaluator(FakeImages(), lambda _: None, tmp_path / "state", podman_command=fake)
    async with evaluator.running():
        yield FunctionBoundary(evaluator, context, runtime_module=PROBE)


@pytest.mark.anyio
async def test_a_default_cached_call_is_replayed_by_the_next_dagger_call(
    boundary: FunctionBoundary,
) -> None:
    first = await boundary.call(["default", "--word", "hello"])
    second = await boundary.call(["default", "--word", "hello"])
    other = await boundary.call(["default", "--word", "bye"])
    assert (first.value, first.replayed) == ("hello", False)
    assert (second.value, second.replayed) == ("hello", True)
    assert other.value == "bye"
    assert RAN == ["default", "default"]


@pytest.mark.anyio
async def test_a_session_cached_call_is_replayed_within_one_session_only(
    boundary: FunctionBoundary,
) -> None:
    async with boundary.session() as session:
        await session.call(["per-session"])
        again = await session.call(["per-session"])
    assert again.replayed
    assert not (await boundary.call(["per-session"])).replayed
    assert RAN == ["per_session", "per_session"]


@pytest.mark.anyio
async def test_a_never_cached_call_runs_every_time(boundary: FunctionBoundary) -> None:
    async with boundary.session() as session:
        results = [await session.call(["never"]) for _ in range(2)]
    assert [r.replayed for r in results] == [False, False]
    assert RAN == ["never", "never"]


@pytest.mark.anyio
async def test_a_failed_call_reports_the_function_s_error_and_is_not_kept(
    boundary: FunctionBoundary,
) -> None:
    first = await boundary.call(["fails"])
    second = await boundary.call(["fails"])
    assert first.error is not None
    assert "the probe failed on purpose" in first.error
    assert not second.replayed
    assert RAN == ["fails", "fails"]


@pytest.mark.anyio
async def test_a_secret_flag_is_read_from_its_provider_and_keyed_by_its_value(
    boundary: FunctionBoundary, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROBE_A", "same value")
    monkeypatch.setenv("PROBE_B", "same value")
    (tmp_path / "token").write_text("another value")
    first = await boundary.call(["secret", "--token", "env:PROBE_A"])
    by_another_name = await boundary.call(["secret", "--token", "env://PROBE_B"])
    from_a_file = await boundary.call(["secret", "--token", f"file:{tmp_path / 'token'}"])
    from_a_command = await boundary.call(["secret", "--token", "cmd:printf 'same value'"])
    assert first.value == "10 characters"
    assert by_another_name.replayed
    assert from_a_command.replayed
    assert (from_a_file.value, from_a_file.replayed) == ("13 characters", False)
    assert RAN == ["secret", "secret"]
    # The engine's message, which never shows the whole name (it may be a pasted value).
    with pytest.raises(dagger.QueryError, match=r'secret env var not found: "PRO\.\.\."'):
        await boundary.call(["secret", "--token", "env:PROBE_UNSET_VARIABLE"])


@pytest.mark.anyio
async def test_a_changed_source_is_another_call_and_an_ignored_file_is_not(
    boundary: FunctionBoundary, context: Path
) -> None:
    await boundary.call(["default"])
    (context / "ignored").write_text("changed, but the source leaves it out\n")
    assert (await boundary.call(["default"])).replayed
    (context / "data.txt").write_text("two\n")
    assert not (await boundary.call(["default"])).replayed
    assert RAN == ["default", "default"]


@pytest.mark.anyio
async def test_flags_are_read_as_the_cli_reads_them(boundary: FunctionBoundary) -> None:
    sent = await boundary.call(["typed", "--count", "0x10", "--flag", "--names", "a,b"])
    assert json.loads(sent.value) == [16, True, ["a", "b"]]
    assert json.loads((await boundary.call(["typed", "--count=2"])).value) == [2, False, None]
    with pytest.raises(CallLineError, match='required flag\\(s\\) "count" not set'):
        await boundary.call(["typed"])
    with pytest.raises(CallLineError, match="unknown flag: --verbosity"):
        await boundary.call(["typed", "--count", "1", "--verbosity"])
    with pytest.raises(CallLineError, match='unknown command "nope"'):
        await boundary.call(["nope"])


@pytest.mark.anyio
async def test_two_dagger_calls_get_two_service_containers_each_stopped_at_its_end(
    boundary: FunctionBoundary, tmp_path: Path
) -> None:
    podman = cast(FakePodman, boundary.evaluator.resources.podman)
    started: list[str] = []
    for _ in range(2):
        async with boundary.session() as session:
            assert (await session.call(["bound"])).value == "bound"
            services = [c[2] for c in podman.creates() if "-service-" in c[2]]
            running = [s for s in services if s not in started]
            assert len(running) == 1  # this session's own database, not the last one's
            assert ("rm", "--force", "--time", "2", running[0]) not in podman.calls
        assert ("rm", "--force", "--time", "2", running[0]) in podman.calls  # stopped at its end
        started += running
        assert session.stopped == running
    execs = [c for c in podman.creates() if entrypoint(c) == ["probe-the-database"]]
    assert len(execs) == 2


@pytest.mark.anyio
async def test_the_module_s_policies_and_checks_are_read_as_the_sdk_registers_them(
    tmp_path: Path,
) -> None:
    """The real module, registered through the `dagger.mod` entry point as the runtime does."""
    evaluator = Evaluator(
        FakeImages(), lambda _: None, tmp_path, podman_command=FakePodman(tmp_path)
    )
    async with evaluator.running():
        main = (await FunctionBoundary(evaluator, ROOT).module()).main
    declared = get_object_type(AcmeCi)
    assert declared is not None
    engine_names = {None: None, "": None, "never": "Never", "session": "PerSession"}
    for name, fn in declared.functions.items():
        if not name:
            continue
        meta = getattr(fn.wrapped, FUNCTION_DEF_KEY)
        policy = engine_names.get(meta.cache, "Default")
        assert main.functions[name].cache_policy == policy, name
        assert main.functions[name].check == getattr(fn.wrapped, CHECK_DEF_KEY, False), name
    assert main.constructor is not None
    assert main.constructor.arg("source").default_path == "/"


@pytest.mark.anyio
async def test_concurrent_first_users_create_the_shared_network_once() -> None:
    """Found by the rehearsal: two services of one exec started at once both created it."""
    created: list[str] = []

    async def slow_podman(*args: str, stdin: bytes | None = None, check: bool = True) -> Done:
        if args[:2] == ("network", "create"):
            created.append(args[2])
            await anyio.sleep(0.01)
        return Done(0, "", "")

    resources = Resources(slow_podman)
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(resources.shared_network)
    assert created == [resources.shared_network_name]


@pytest.mark.anyio
async def test_a_podman_failure_reaches_the_module_as_a_query_error(tmp_path: Path) -> None:
    """As the engine's failures do: a module catching dagger.QueryError (publish_images per
    image) reports it, instead of an unrelated exception escaping its task group."""

    fake = FakePodman(tmp_path / "podman")

    async def broken_podman(*args: str, stdin: bytes | None = None, check: bool = True) -> Done:
        if check and args[:2] == ("network", "create"):
            raise PodmanError("podman network create... failed (125): no space left")
        return await fake(*args, stdin=stdin, check=check)

    evaluator = Evaluator(FakeImages(), lambda _: None, tmp_path, podman_command=broken_podman)
    async with evaluator.running():
        ctr = dag.container().from_(containers.PYTHON_IMAGE).with_exec(["true"])
        with pytest.raises(dagger.QueryError, match="no space left"):
            await ctr.sync()
