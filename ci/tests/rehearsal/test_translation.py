"""The evaluator's translation of the module's lazy queries into podman commands.

No podman needed: `FakePodman` stands in for the podman command line (a directory per
container and image, so file operations are real), and the module's own functions build
the queries through the real dagger-io client, as in tests/dagger/test_pipeline.py.
"""

# mypy: disable-error-code="attr-defined, call-arg"

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import dagger
import pytest
from dagger import dag

from acme_ci.dagger import containers
from acme_ci.dagger.main import AcmeCi
from acme_ci.dagger.maintenance import Targets, subsystems_to_run
from acme_ci.dagger.source import SOURCE_IGNORE
from acme_ci.rehearsal import cli
from acme_ci.rehearsal.evaluator import Evaluator, ImageSource, NoStandInError
from acme_ci.rehearsal.evaluator.launch import references, volume_name
from acme_ci.rehearsal.evaluator.layers import LAYER_TAG
from acme_ci.rehearsal.evaluator.once import OncePerDigest
from acme_ci.rehearsal.functions import Outcome
from acme_ci.rehearsal.ignore import PathFilter
from acme_ci.rehearsal.podman import Done, entrypoint_flag
from acme_ci.rehearsal.session import source_settings
from acme_ci.rehearsal.standins import pinned_references, recipe_for, split_reference

from ..conftest import Repo

ROOT = Path(__file__).resolve().parents[3]
# What `podman image inspect` says of every stand-in image here.
IMAGE_CONFIG = {"Env": ["PATH=/usr/bin:/bin"], "Entrypoint": ["/entry"], "Cmd": ["serve"]}


@dataclass
class FakePodman:
    """The podman command line, recorded; containers and images are plain directories."""

    tmp: Path
    exit_codes: dict[tuple[str, ...], int] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    stdin: list[bytes] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    images: int = 0
    # Containers of these argvs podman cannot start (as when its locks collide).
    unstartable: set[tuple[str, ...]] = field(default_factory=set)
    never_started: set[str] = field(default_factory=set)

    def rootfs(self, name: str) -> Path:
        path = self.tmp / name.replace("/", "_").replace(":", "_")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def creates(self) -> list[tuple[str, ...]]:
        return [c for c in self.calls if c[0] == "create" and '--entrypoint=["true"]' not in c]

    async def __call__(
        self, *args: str, stdin: bytes | None = None, check: bool = True, env: Any = None
    ) -> Done:
        self.calls.append(args)
        if stdin is not None:
            self.stdin.append(stdin)
        match args:
            case ("image", "inspect", "--format", "{{.Id}}", ref):
                return (
                    Done(1, "", "no such image") if ref.startswith(LAYER_TAG) else Done(0, ref, "")
                )
            case ("image", "inspect", _):
                return Done(0, json.dumps([{"Config": IMAGE_CONFIG}]), "")
            case ("create", "--name", name, *rest):
                shutil.copytree(self.rootfs(rest[-1]), self.rootfs(name), dirs_exist_ok=True)
                argv = json.loads(
                    next(a for a in rest if a.startswith("--entrypoint=")).split("=", 1)[1]
                )
                self.codes[name] = self.exit_codes.get(tuple(argv), 0)
                if tuple(argv) in self.unstartable:
                    self.never_started.add(name)
                return Done(0, name, "")
            case ("mount", name):
                return Done(0, str(self.rootfs(name)), "")
            case ("image", "mount", name):
                if name.startswith("stand-in/"):  # a stand-in image holds a binary, /uv
                    (self.rootfs(name) / "uv").write_text("#!/bin/sh\n")
                return Done(0, str(self.rootfs(name)), "")
            case ("commit", "--quiet", *rest):
                while rest[0] == "--change":
                    rest = rest[2:]
                self.images += 1
                image = f"image-{self.images}"
                shutil.copytree(self.rootfs(rest[0]), self.rootfs(image), dirs_exist_ok=True)
                return Done(0, image, "")
            case ("start", "--attach", name):
                if name in self.never_started:
                    return Done(125, "", "Error: attempting to start container would deadlock")
                return Done(self.codes[name], f"out of {name}", "")
            case ("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name):
                if name in self.never_started:
                    return Done(0, "created 0", "")
                return Done(0, f"exited {self.codes[name]}", "")
        return Done(0, "", "")


class FakeImages(ImageSource):
    async def image_for(self, address: str) -> str:
        if recipe_for(address) is None:
            raise NoStandInError(f"no stand-in image for {address}")
        return f"stand-in/{address}"

    async def probe_image(self) -> str:
        return "stand-in/probe"


@pytest.fixture
def fake(tmp_path: Path) -> FakePodman:
    return FakePodman(tmp_path / "podman")


@pytest.fixture
def notes() -> list[str]:
    return []


@pytest.fixture
def evaluator(fake: FakePodman, tmp_path: Path, notes: list[str]) -> Iterator[Evaluator]:
    evaluator = Evaluator(FakeImages(), notes.append, tmp_path / "state", podman_command=fake)
    with evaluator.installed():
        yield evaluator


def module() -> AcmeCi:
    default, patterns = source_settings()
    return AcmeCi(source=dag.host().directory(str(ROOT / default.strip("/")), exclude=patterns))


def flag_values(call: tuple[str, ...], flag: str) -> list[str]:
    return [call[i + 1] for i, a in enumerate(call) if a == flag]


def entrypoint(call: tuple[str, ...]) -> list[str]:
    found: list[str] = json.loads(
        next(a for a in call if a.startswith("--entrypoint=")).split("=", 1)[1]
    )
    return found


# ---------------------------------------------------------------- the module's own queries


@pytest.mark.anyio
async def test_a_step_runs_the_modules_argv_with_its_workdir_env_and_cache_volume(
    fake: FakePodman, evaluator: Evaluator
) -> None:
    await module().lint("acme-logger")
    step = next(c for c in fake.creates() if entrypoint(c) == ["ruff", "check", "."])
    assert flag_values(step, "--workdir") == [containers.in_container("common/logger")]
    cache = f"{volume_name(containers.UV_CACHE_VOLUME)}:{containers.UV_CACHE_DIR}"
    assert cache in flag_values(step, "--volume")
    env = dict(v.split("=", 1) for v in flag_values(step, "--env"))
    assert env["UV_PROJECT_ENVIRONMENT"] == containers.VENV
    # Every exec of the chain ran in order, each on the layer of the one before.
    ran = [entrypoint(c) for c in fake.creates()]
    check = ran.index(["ruff", "check", "."])
    assert ran[check - 1][:2] == ["uv", "sync"]
    assert ran[check + 1][:3] == ["ruff", "format", "--check"]
    layers = [c[-1] for c in fake.creates()]
    assert layers[check + 1] != layers[check]


@pytest.mark.anyio
async def test_the_source_copied_into_a_container_honours_its_ignore_patterns(
    fake: FakePodman, evaluator: Evaluator, repo: Repo
) -> None:
    for junk in ("var/x.sqlite3", "libs/util/.venv/bin/python", "libs/util/src/__pycache__/a.pyc"):
        repo.write(junk, "junk")
    repo.write("libs/util/var/kept.txt", "anchored patterns keep me")
    repo.write("uv.lock", "version = 1\n")  # read, never resolved: podman is a fake here
    patterns = ["var", "**/.venv", "**/__pycache__"]
    acme = AcmeCi(source=dag.host().directory(str(repo.root), exclude=patterns))
    await (await acme.env("util")).with_exec(["true"]).sync()
    rootfs = fake.rootfs(fake.creates()[-1][2])
    util = rootfs / "src/libs/util"
    assert (util / "pyproject.toml").is_file()
    assert (util / "var/kept.txt").is_file()  # `var` is anchored at the root
    assert not (util / ".venv").exists()  # `**/.venv` is not
    assert not list(util.rglob("__pycache__"))
    assert not (rootfs / "src/var").exists()


@pytest.mark.anyio
async def test_a_secret_reaches_the_exec_only_as_a_podman_secret_variable(
    fake: FakePodman, evaluator: Evaluator
) -> None:
    token = dag.set_secret("token", "hunter2")
    container = dag.container().from_(containers.PYTHON_IMAGE).with_secret_variable("TOKEN", token)
    await container.with_exec(["env"]).stdout()
    assert fake.stdin == [b"hunter2"]
    assert not [c for c in fake.calls if any("hunter2" in a for a in c)]
    (step,) = fake.creates()
    (secret,) = flag_values(step, "--secret")
    assert secret.endswith(",type=env,target=TOKEN")
    name = secret.split(",")[0]
    assert ("secret", "rm", name) in fake.calls  # gone after the exec


@pytest.mark.anyio
async def test_bound_services_answer_to_their_alias_on_a_network_of_each_exec(
    fake: FakePodman, evaluator: Evaluator, notes: list[str]
) -> None:
    base = dag.container().from_(containers.PYTHON_IMAGE)
    bound = containers.test_services(base, ["s3", "postgres"])
    await bound.with_exec(["pytest"]).sync()
    await bound.with_exec(["pytest", "-x"]).sync()
    networks = [c[2] for c in fake.calls if c[:2] == ("network", "create") and "-net-" in c[2]]
    steps = [c for c in fake.creates() if entrypoint(c)[0] == "pytest"]
    assert [flag_values(s, "--network") for s in steps] == [[networks[0]], [networks[1]]]
    assert networks[0] != networks[1]  # two execs, two networks: no alias collides
    connects = [c for c in fake.calls if c[:3] == ("network", "connect", "--alias")]
    assert sorted((c[3], c[4]) for c in connects) == sorted(
        (alias, net) for alias in ("postgres", "s3") for net in networks
    )
    # One instance per service, shared by the execs that bind it (as the engine does).
    services = [c for c in fake.creates() if ("start", c[2]) in fake.calls]
    assert len(services) == 2
    moto = next(s for s in services if "s3" in str([c for c in connects if c[5] == s[2]]))
    assert entrypoint(moto) == ["/entry", "serve"]  # use_entrypoint: the image's own command
    assert not [n for n in notes if "dropped" in n]


@pytest.mark.anyio
async def test_a_served_service_runs_the_image_command_on_the_rehearsal_network_until_checked(
    fake: FakePodman, evaluator: Evaluator
) -> None:
    served = await evaluator.value_of(await module().serve("acme-user-service"))
    async with evaluator.services.serving(served) as host:
        (started,) = [c for c in fake.creates() if c[2] == host]
        assert flag_values(started, "--network") == [evaluator.resources.shared_network_name]
        assert entrypoint(started) == [*served.container.entrypoint]  # the image's own command
        assert ("start", host) in fake.calls
    assert [c for c in fake.calls if c[:2] == ("rm", "--force") and c[-1] == host]


@pytest.mark.anyio
async def test_a_service_without_a_stand_in_is_dropped_with_the_variables_naming_it(
    fake: FakePodman, evaluator: Evaluator, notes: list[str]
) -> None:
    base = dag.container().from_(containers.PYTHON_IMAGE).with_env_variable("KEEP", "kafka-free")
    await containers.test_services(base, ["kafka"]).with_exec(["pytest"]).sync()
    (step,) = fake.creates()
    names = [v.split("=", 1)[0] for v in flag_values(step, "--env")]
    assert "KEEP" in names
    assert not [n for n in names if n.startswith("KAFKA")]
    assert flag_values(step, "--network") == [evaluator.resources.shared_network_name]
    assert any(containers.KAFKA_IMAGE in note and "kafka" in note for note in notes)


@pytest.mark.anyio
async def test_a_failing_exec_is_an_exec_error_unless_any_exit_code_is_expected(
    fake: FakePodman, evaluator: Evaluator
) -> None:
    fake.exit_codes = {("false",): 3}
    container = dag.container().from_(containers.PYTHON_IMAGE)
    with pytest.raises(dagger.ExecError) as caught:
        await container.with_exec(["false"]).sync()
    assert caught.value.exit_code == 3
    assert await container.with_exec(["false"], expect=dagger.ReturnType.ANY).exit_code() == 3


@pytest.mark.anyio
async def test_an_exec_podman_could_not_start_is_an_error_and_never_a_kept_layer(
    fake: FakePodman, evaluator: Evaluator, tmp_path: Path
) -> None:
    fake.unstartable = {("pytest",)}
    container = dag.container().from_(containers.PYTHON_IMAGE)
    # Not an exit code of the exec (inspect says 0 of a container that never ran): an error
    # the step cannot take for a pass, and no layer kept for the next rehearsal to replay.
    with pytest.raises(dagger.QueryError, match="never started") as caught:
        await container.with_exec(["pytest"]).sync()
    assert not isinstance(caught.value, dagger.ExecError)
    assert not list((tmp_path / "state").glob("**/*.json"))
    with pytest.raises(dagger.QueryError, match="never started"):
        await container.with_exec(["pytest"], expect=dagger.ReturnType.ANY).exit_code()


@pytest.mark.anyio
async def test_the_same_exec_runs_once_however_many_steps_build_on_it(
    fake: FakePodman, evaluator: Evaluator
) -> None:
    container = dag.container().from_(containers.PYTHON_IMAGE).with_exec(["uv", "sync"])
    await container.with_exec(["a"]).sync()
    await container.with_exec(["b"]).sync()
    assert [entrypoint(c) for c in fake.creates()].count(["uv", "sync"]) == 1


@pytest.mark.anyio
async def test_a_failed_exec_runs_again_when_asked_again_as_the_engine_keeps_no_failed_call(
    fake: FakePodman, evaluator: Evaluator
) -> None:
    fake.exit_codes = {("flaky",): 1}
    container = dag.container().from_(containers.PYTHON_IMAGE)
    for _ in range(2):
        with pytest.raises(dagger.ExecError):
            await container.with_exec(["flaky"]).sync()
    assert [entrypoint(c) for c in fake.creates()].count(["flaky"]) == 2
    # expect=ANY: an exit code is the exec's result, kept like any other (and its own call).
    for _ in range(2):
        assert await container.with_exec(["flaky"], expect=dagger.ReturnType.ANY).exit_code() == 1
    assert [entrypoint(c) for c in fake.creates()].count(["flaky"]) == 3


@pytest.mark.anyio
async def test_callers_waiting_on_a_failing_evaluation_share_its_error_and_later_ones_retry() -> (
    None
):
    once = OncePerDigest[str]()
    runs: list[int] = []
    release = anyio.Event()

    async def fails() -> str:
        runs.append(1)
        await release.wait()
        raise ValueError("boom")

    errors: list[Exception] = []

    async def ask() -> None:
        try:
            await once.get("d", fails)
        except ValueError as error:
            errors.append(error)

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask)
        tg.start_soon(ask)
        await anyio.sleep(0.01)
        release.set()
    assert len(runs) == 1
    assert len(errors) == 2
    assert errors[0] is errors[1]

    async def succeeds() -> str:
        runs.append(1)
        return "ok"

    assert await once.get("d", succeeds) == "ok"
    assert await once.get("d", fails) == "ok"
    assert len(runs) == 2


@pytest.mark.anyio
async def test_a_reference_without_a_stand_in_fails_naming_it(evaluator: Evaluator) -> None:
    with pytest.raises(NoStandInError, match=r"registry\.k8s\.io/kubectl"):
        await dag.container().from_(containers.KUBECTL_IMAGE).with_exec(["apply"]).sync()


# ---------------------------------------------------------------- pure parts


def test_the_source_is_loaded_with_the_modules_own_default_path_and_ignore() -> None:
    assert source_settings() == ("/", SOURCE_IGNORE)


def test_every_pinned_reference_but_kafka_and_kubectl_has_a_stand_in() -> None:
    pins = pinned_references()
    without = sorted(ref for ref in pins.values() if recipe_for(ref) is None)
    assert without == sorted([containers.KAFKA_IMAGE, containers.KUBECTL_IMAGE])
    assert split_reference(containers.UV_IMAGE) == (
        "ghcr.io/astral-sh/uv",
        containers.UV_IMAGE.split(":")[-1],
    )


def test_ignore_patterns_are_anchored_unless_written_with_double_star() -> None:
    path_filter = PathFilter(("var", "**/.venv", "**/*.pyc", "ci/sdk"))
    assert not path_filter.keeps("var/maintenance.sqlite3")
    assert path_filter.keeps("services/user/var/data.json")
    assert not path_filter.keeps(".venv/bin/python")
    assert not path_filter.keeps("common/logger/.venv/bin/python")
    assert not path_filter.keeps("common/logger/src/x/__init__.pyc")
    assert not path_filter.keeps("ci/sdk/x.py")
    assert path_filter.keeps("ci/src/acme_ci/rehearsal/evaluator/dispatch.py")
    assert PathFilter(("dist", "!dist/keep")).keeps("dist/keep")


def test_an_env_value_references_an_alias_only_as_a_host() -> None:
    assert references("kafka:9092", "kafka")
    assert references("PLAINTEXT://kafka:9092", "kafka")
    assert references("postgresql://u:p@postgres:5432/db", "postgres")
    assert not references("my-kafka-topic", "kafka")
    assert not references("postgres", "s3")


def test_the_entrypoint_flag_is_the_whole_argv_as_json() -> None:
    assert (
        entrypoint_flag(["sh", "-c", "echo 'a b'"]) == '--entrypoint=["sh", "-c", "echo \'a b\'"]'
    )


def test_without_root_the_rehearsal_exits_2_saying_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert cli.main(["ci", "--all"]) == 2
    assert "rehearsal: skipped: not root" in capsys.readouterr().out


def test_the_closing_line_counts_calls_and_carries_the_step_count_of_one_ci() -> None:
    ci_run = Outcome("ci --all", True, 300.0, ["24 steps: 24 passed in 299.0s (runner: dagger)"])
    assert cli.closing_line([ci_run], 310.0) == (
        "== rehearsal: 1 passed, 0 failed (24 steps: 24 passed in 299.0s) in 310.0s =="
    )
    failed = Outcome("maintenance", False, 10.0, [])
    assert cli.closing_line([ci_run, failed], 320.0) == (
        "== rehearsal: 1 passed, 1 failed in 320.0s; failed: maintenance =="
    )


@pytest.mark.anyio
async def test_entries_and_digests_of_the_source_leave_out_what_is_ignored(
    evaluator: Evaluator, repo: Repo
) -> None:
    repo.write("var/state.json", "{}")
    kept = dag.host().directory(str(repo.root), exclude=["var"])
    everything = dag.host().directory(str(repo.root))
    assert "libs/" in await kept.entries()
    assert "var/" not in await kept.entries()
    assert "var/" in await everything.entries()
    assert await kept.digest() != await everything.digest()
    assert await kept.directory("libs").digest() == await everything.directory("libs").digest()


def test_a_rehearsal_without_a_broker_maintains_the_targets_it_starts() -> None:
    # Found by the rehearsal: Kafka "not configured" made every `maintenance --rehearsal`
    # (and `cd --rehearsal`) exit 2 and fail, though the database and S3 were maintained.
    assert subsystems_to_run(Targets(rehearsal=True), cleanup=False) == ("db", "s3")
    # `--cleanup --only` would clean regardless of the journal: a cleanup names none.
    assert subsystems_to_run(Targets(rehearsal=True), cleanup=True) == ()
    kafka = Targets(rehearsal=True, kafka_bootstrap_servers="kafka.example:9092")
    assert subsystems_to_run(kafka, cleanup=False) == ()
    assert subsystems_to_run(Targets(), cleanup=False) == ()


@pytest.mark.anyio
async def test_maintenance_then_cleanup_as_rehearsed(
    fake: FakePodman, evaluator: Evaluator
) -> None:
    await module().maintenance(rehearsal=True)
    await module().maintenance(rehearsal=True, cleanup=True)
    runs = [entrypoint(c) for c in fake.creates() if entrypoint(c)[0] == "maintenance"]
    assert runs == [["maintenance", "--only", "db,s3"], ["maintenance", "--cleanup"]]
