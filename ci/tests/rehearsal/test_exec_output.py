"""An exec's output as the engine gives it back: scrubbed of the exec's secrets, and when the
exec fails only each stream's last 100 KiB (acme_ci.rehearsal.evaluator.output cites the
engine's source for each rule).

The execs run through the real dagger-io client on a fake podman whose containers run a
Python function of their environment (the variables and secrets podman would set).
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagger
import pytest
from dagger import dag

from acme_ci.dagger import containers
from acme_ci.rehearsal.evaluator import Evaluator
from acme_ci.rehearsal.evaluator.output import error_output, scrubbed
from acme_ci.rehearsal.podman import Done

from .test_translation import FakeImages, FakePodman

KIB = 1024
# What an exec prints: (exit code, stdout, stderr), given its environment.
Program = Callable[[dict[str, str]], tuple[int, str, str]]


@dataclass
class ProgramPodman(FakePodman):
    """FakePodman whose containers run `programs[argv]` on the environment podman would give
    them: `--env` pairs, and each `--secret NAME,type=env,target=VAR` as VAR=its plaintext."""

    programs: dict[tuple[str, ...], Program] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    runs: dict[str, tuple[Program, dict[str, str]]] = field(default_factory=dict)

    async def __call__(
        self, *args: str, stdin: bytes | None = None, check: bool = True, env: object = None
    ) -> Done:
        match args:
            case ("secret", "create", name, "-") if stdin is not None:
                self.secrets[name] = stdin.decode()
            case ("create", "--name", name, *flags):
                self._prepare(name, list(flags))
            case ("start", "--attach", name) if name in self.runs:
                program, environment = self.runs[name]
                code, stdout, stderr = program(environment)
                self.codes[name] = code
                self.calls.append(args)
                return Done(code, stdout, stderr)
        return await super().__call__(*args, stdin=stdin, check=check, env=env)

    def _prepare(self, name: str, flags: list[str]) -> None:
        argv = tuple(json_argv(flags))
        if argv not in self.programs:
            return
        environment: dict[str, str] = {}
        for flag, value in itertools.pairwise(flags):
            if flag == "--env":
                key, _, text = value.partition("=")
                environment[key] = text
            elif flag == "--secret":
                secret, *options = value.split(",")
                target = dict(option.split("=", 1) for option in options)["target"]
                environment[target] = self.secrets[secret]
        self.runs[name] = (self.programs[argv], environment)


def json_argv(flags: list[str]) -> list[str]:
    entry = next(f for f in flags if f.startswith("--entrypoint="))
    argv: list[str] = json.loads(entry.split("=", 1)[1])
    return argv


@pytest.fixture
def fake(tmp_path: Path) -> ProgramPodman:
    return ProgramPodman(tmp_path / "podman")


@pytest.fixture
def evaluator(fake: ProgramPodman, tmp_path: Path) -> Iterator[Evaluator]:
    evaluator = Evaluator(FakeImages(), lambda _: None, tmp_path / "state", podman_command=fake)
    with evaluator.installed():
        yield evaluator


def numbered_lines(prefix: str, size: int) -> str:
    """`size` bytes of 8-byte lines, each naming its number, so a tail shows where it starts."""
    return "".join(f"{prefix}{n:06d}\n" for n in range(size // 8))


# ---------------------------------------------------------------- output tail


@pytest.mark.anyio
async def test_a_failed_exec_gives_back_only_the_last_100_kib_of_each_stream_marked(
    fake: ProgramPodman, evaluator: Evaluator
) -> None:
    out, err = numbered_lines("o", 300 * KIB), numbered_lines("e", 300 * KIB)
    fake.programs[("noisy",)] = lambda _: (1, out, err)
    with pytest.raises(dagger.ExecError) as caught:
        await dag.container().from_(containers.PYTHON_IMAGE).with_exec(["noisy"]).sync()
    error = caught.value
    marker = "[omitting 204800 bytes]..."  # 300 KiB - 100 KiB, for each stream on its own
    for kept, whole in ((error.stdout, out), (error.stderr, err)):
        assert kept.startswith(marker)
        # 100 KiB read, the marker written over its start, the last newline trimmed.
        assert len(kept.encode()) == 100 * KIB - 1
        assert whole.endswith(kept[len(marker) :] + "\n")
    assert error.exit_code == 1
    # The message holds no output (str() of an ExecError is its message).
    assert "o038399" not in str(error)
    assert "e038399" not in str(error)


@pytest.mark.anyio
async def test_a_successful_exec_gives_back_its_whole_output_untrimmed(
    fake: ProgramPodman, evaluator: Evaluator
) -> None:
    out, err = numbered_lines("o", 300 * KIB), numbered_lines("e", 300 * KIB)
    fake.programs[("noisy",)] = lambda _: (0, out, err)
    fake.programs[("noisy", "--fail")] = lambda _: (1, out, err)
    base = dag.container().from_(containers.PYTHON_IMAGE)
    passed = base.with_exec(["noisy"])
    assert await passed.stdout() == out
    assert await passed.stderr() == err
    # A non-zero exit the exec expects is a result too, not an error: whole as well.
    failed = base.with_exec(["noisy", "--fail"], expect=dagger.ReturnType.ANY)
    assert await failed.stdout() == out


def test_a_stream_of_exactly_100_kib_is_marked_too_and_keeps_its_length() -> None:
    # ReadSnapshotPath marks what reached the limit (`len(contents) >= limit`).
    stream = "x" * (100 * KIB)
    assert error_output(stream) == "[omitting 0 bytes]..." + "x" * (100 * KIB - 21)
    assert error_output(stream[1:]) == stream[1:]


def test_the_cut_counts_bytes_and_a_split_character_becomes_a_replacement_character() -> None:
    stream = "é" * 60_000  # 120000 bytes, two per character
    marker = "[omitting 17600 bytes]..."  # 25 bytes: it ends on the first half of an "é"
    assert error_output(stream) == marker + "\ufffd" + "é" * ((100 * KIB - 26) // 2)


def test_an_error_stream_is_trimmed_of_what_go_calls_space_only() -> None:
    assert error_output(" \t\n\u00a0out\n\u3000") == "out"
    assert error_output("\x1cout\x1f") == "\x1cout\x1f"  # Python would strip these; Go keeps


# ---------------------------------------------------------------- secrets scrubbed


def echo_token(code: int) -> Program:
    return lambda env: (code, f"token is {env['TOKEN']}\n", f"warning: {env['TOKEN']} used\n")


@pytest.mark.anyio
async def test_an_exec_echoing_its_secret_shows_stars_in_its_output_and_its_error(
    fake: ProgramPodman, evaluator: Evaluator, tmp_path: Path
) -> None:
    token = dag.set_secret("token", "hunter2")
    base = dag.container().from_(containers.PYTHON_IMAGE).with_secret_variable("TOKEN", token)
    fake.programs[("echo-token",)] = echo_token(0)
    fake.programs[("echo-token", "--fail")] = echo_token(3)
    passed = base.with_exec(["echo-token"])
    assert await passed.stdout() == "token is ***\n"
    assert await passed.stderr() == "warning: *** used\n"
    with pytest.raises(dagger.ExecError) as caught:
        await base.with_exec(["echo-token", "--fail"]).sync()
    assert (caught.value.stdout, caught.value.stderr) == ("token is ***", "warning: *** used")
    # The kept layer's record (replayed by the next rehearsal) holds the scrubbed output only.
    records = list((tmp_path / "state" / "layers").glob("*.json"))
    assert records
    assert not [r for r in records if "hunter2" in r.read_text()]


@pytest.mark.anyio
async def test_only_the_execs_own_secrets_are_scrubbed(
    fake: ProgramPodman, evaluator: Evaluator
) -> None:
    token = dag.set_secret("token", "hunter2")
    base = dag.container().from_(containers.PYTHON_IMAGE)
    fake.programs[("print", "hunter2")] = lambda _: (0, "hunter2\n", "")
    with_secret = base.with_secret_variable("TOKEN", token).with_exec(["print", "hunter2"])
    assert await with_secret.stdout() == "***\n"  # however it got there
    # Another container of the session knows nothing of it: the engine scrubs per exec.
    assert await base.with_exec(["print", "hunter2"]).stdout() == "hunter2\n"


@dataclass
class UnreadyServicePodman(ProgramPodman):
    """Its services never open their ports, and their logs print the service's secret."""

    async def __call__(
        self, *args: str, stdin: bytes | None = None, check: bool = True, env: object = None
    ) -> Done:
        match args:
            case ("run", *_):  # the port probe
                return Done(1, "", "connection refused")
            case ("logs", "--tail", _, name):
                return Done(0, f"{name} starting with password {self.secrets_seen()}\n", "")
        return await super().__call__(*args, stdin=stdin, check=check, env=env)

    def secrets_seen(self) -> str:
        return ",".join(self.secrets.values())


@pytest.mark.anyio
async def test_a_service_that_never_opens_its_port_reports_its_logs_scrubbed(
    tmp_path: Path,
) -> None:
    fake = UnreadyServicePodman(tmp_path / "podman")
    evaluator = Evaluator(FakeImages(), lambda _: None, tmp_path / "state", podman_command=fake)
    password = dag.set_secret("password", "hunter2")
    service = (
        dag.container()
        .from_(containers.PYTHON_IMAGE)
        .with_secret_variable("DB_PASSWORD", password)
        .with_exposed_port(5432)
        .as_service()
    )
    client = dag.container().from_(containers.PYTHON_IMAGE).with_service_binding("db", service)
    with evaluator.installed(), pytest.raises(dagger.QueryError) as caught:
        await client.with_exec(["true"]).sync()
    assert "starting with password ***" in str(caught.value)
    assert "hunter2" not in str(caught.value)


# The engine's own cases (engine/engineutil/secret_scrub_test.go, TestScrubSecretWrite),
# with a multi-line key as a file would hold it: a trailing newline.
KEY = "-----BEGIN KEY-----\nb3BlbnNzaC1rZXk\nAAAAAABG5vbmU\n-----END KEY-----\n"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("aaa\n" + KEY + "\nbbb\nccc", "aaa\n***\nbbb\nccc"),
        ("aaa" + KEY + "bbb\nccc", "aaa***bbb\nccc"),
        (KEY, "***"),
        (KEY.strip(), "***"),  # the trimmed form is a secret too
        ("b3BlbnNzaC1rZXk\n", "b3BlbnNzaC1rZXk\n"),  # a line of it alone is not
        ("aaa\nsecret1 value\nno secret\n", "aaa\n***\nno secret\n"),
        ("secret1 value\nsecret2\nsecret2 more\nnonsecret\n", "***\n***\n***\nnonsecret\n"),
        ("secret2 mo!", "*** mo!"),  # the longest secret completed, the rest as it was
    ],
)
def test_secrets_are_scrubbed_whole_as_the_engine_scrubs_them(output: str, expected: str) -> None:
    assert scrubbed(output, [KEY, "secret1 value", "secret2", "secret2 more"]) == expected


def test_what_the_engine_does_not_scrub_stays() -> None:
    assert scrubbed("token: \n", [""]) == "token: \n"  # an empty secret
    encoded = base64.b64encode(b"hunter2").decode()
    assert scrubbed(f"{encoded} hunter2", ["hunter2"]) == f"{encoded} ***"  # no encoded form
    # The censor never backtracks: "aab" starting inside the broken-off candidate "aa" stays.
    assert scrubbed("aaab", ["aab"]) == "aaab"
    assert scrubbed("aab", ["aab"]) == "***"
