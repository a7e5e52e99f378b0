"""A sharded run on Dagger, offline: `ci --shard K/N` runs exactly its shard's steps with the
keys an unsharded run gives them and stores its report; `verdict` gathers the reports into the
verdict an unsharded run reaches; `plan --shards` cuts as the native shell does, and from the
history the verdict keeps.

The engine is test_remote_cache's CacheEngine; the shard reports and the history go through
the real entries CLI (acme_ci.entries.cli, what the module's container runs) against a real
S3 (a moto server), with the environment the container would have: the store's URL,
credentials and signing key from its secret variables, its endpoint from its variables.
"""

# mypy: disable-error-code="attr-defined, call-arg"

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagger
import pytest
from dagger import dag
from dagger.client._core import Context
from mypy_boto3_s3 import S3Client

from acme_ci.core.affected import Selection, select_packages
from acme_ci.core.plan import make_plan
from acme_ci.core.remote_cache import RemoteCacheError, parse_cache_url
from acme_ci.core.shard_plan_format import shard_plan_json
from acme_ci.core.shard_report import report_object_key
from acme_ci.core.shards import History, ShardError, ShardId, ShardPlan, make_shard_plan
from acme_ci.core.test_groups import SuiteTiming
from acme_ci.core.workspace import Workspace
from acme_ci.dagger.executor import PipelineFailedError
from acme_ci.dagger.remote_cache import CACHE_DIR
from acme_ci.dagger.sharding import VerdictFailedError
from acme_ci.entries import cli
from acme_ci.entries.shard_store import RunIdentity, get_reports
from acme_ci.native.cli import main as acme_ci
from acme_ci.native.discover import load_workspace
from acme_ci.native.runner import SelectionRequest
from acme_ci.native.sharding import shard_plan_for
from acme_ci.rehearsal.converter import one_converter

from ..conftest import Repo, git
from ..entries.conftest import BUCKET, URL
from .test_pipeline import Chain, args_of, chain_of, execs, in_src
from .test_remote_cache import CacheEngine, copy_tracked, host_evaluator, module

SELECTED = ("acme-logger", "acme-health")
LOGGER_TESTS = ("tests/test_logger.py", "tests/test_stdlib.py")
RUN_ID = "4242"
SIGNING_KEY = "shard-signing-key"
# acme-logger's suite, long enough to be split into two groups of its files.
HISTORY = History(
    timings={"acme-logger": SuiteTiming(dict(zip(LOGGER_TESTS, (50.0, 40.0), strict=True)), 5)}
)
# One test passing on its second attempt, as pytest-rerunfailures reports it.
FLAKY_JUNIT = (
    '<testsuites><testsuite tests="1">'
    '<testcase classname="tests.test_logger" name="test_flaky"><failure/></testcase>'
    '<testcase classname="tests.test_logger" name="test_flaky"/>'
    "</testsuite></testsuites>"
)


def plaintext(secret: dagger.Secret) -> str:
    (given,) = args_of(chain_of(secret), "setSecret")
    return str(given["plaintext"])


@contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """The process environment as the container's: the store's variables it was given."""
    names = [n for n in os.environ if n.startswith(("AWS_", "ACME_CACHE_"))]
    saved = {n: os.environ.pop(n) for n in names}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name in variables:
            os.environ.pop(name, None)
        os.environ.update(saved)


@dataclass
class ShardEngine(CacheEngine):
    """CacheEngine whose shard report and history actions run the entries CLI for real, and
    whose test steps write the JUnit report `junit` holds for their argv."""

    junit: dict[tuple[str, ...], str] = field(default_factory=dict)

    async def execute(self, ctx: Context, return_type: Any = None) -> Any:
        chain = self.expand(list(ctx.selections))
        files = args_of(chain, "file")
        if chain[-1].name == "contents" and files and files[-1]["path"].endswith(".xml"):
            written = self.junit.get(tuple(execs(chain)[-1]))
            if written is not None:
                self.queries.append(chain)
                return written
        return await super().execute(ctx, return_type)

    def shard_store_answer(self, action: str, chain: Chain) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as scratch:
            for given in args_of(chain, "withNewFile"):
                if given["path"].startswith(f"{CACHE_DIR}/"):
                    target = Path(scratch, given["path"].removeprefix(f"{CACHE_DIR}/"))
                    target.write_text(given["contents"], encoding="utf-8")
            argv = [scratch if a == CACHE_DIR else a for a in execs(chain)[-1][3:]]
            variables = {
                a["name"]: plaintext(a["secret"]) for a in args_of(chain, "withSecretVariable")
            }
            variables.update(
                (a["name"], a["value"])
                for a in args_of(chain, "withEnvVariable")
                if a["name"].startswith("AWS_")
            )
            with environment(variables):
                assert cli.main(argv) == 0
            answer: dict[str, Any] = json.loads(
                Path(scratch, cli.ANSWER_FILES[action]).read_text(encoding="utf-8")
            )
            return answer


@pytest.fixture
def engine(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    s3: S3Client,  # the bucket, empty
) -> Iterator[ShardEngine]:
    fake = ShardEngine(evaluator=host_evaluator(tmp_path / "evaluator"))

    async def execute(ctx: Context, return_type: Any = None) -> Any:
        return await fake.execute(ctx, return_type)

    monkeypatch.setattr(Context, "execute", execute)
    with one_converter():
        yield fake


@pytest.fixture
def s3(endpoint: str) -> S3Client:
    """An empty bucket on the moto server (the test process's own environment untouched)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    if BUCKET in {b.get("Name") for b in client.list_buckets().get("Buckets", [])}:
        for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item.get("Key", ""))
    else:
        client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(autouse=True)
def two_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two small packages: enough for two shards, quick offline."""
    from acme_ci.dagger import main

    async def select(ws: Workspace, source: object, base: str, all_: bool) -> Selection:
        return select_packages(ws, SELECTED)

    monkeypatch.setattr(main, "select", select)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files in a git repository of their own, as a CI job checks them out
    (acme-ci's own Dagger test container has no git history, and of acme-logger only its
    manifest: its test files are written where they are missing)."""
    root = copy_tracked(tmp_path_factory.mktemp("checkout"))
    for name in LOGGER_TESTS:
        path = root / "common/logger" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("def test_ok() -> None:\n    assert True\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "checkout")
    return root


def store(endpoint: str, **overrides: Any) -> dict[str, Any]:
    """The --cache-* arguments of a push to a branch, the store at `endpoint`."""
    args: dict[str, Any] = {
        "cache_url": dag.set_secret("cache-url", URL),
        "cache_scope": "feature/x",
        "cache_endpoint_url": endpoint,
        "cache_region": "us-east-1",
        "cache_aws_access_key_id": dag.set_secret("key-id", "testing"),
        "cache_aws_secret_access_key": dag.set_secret("secret", "testing"),
        "cache_signing_key": dag.set_secret("signing", SIGNING_KEY),
    }
    args.update(overrides)
    return args


def cut(
    root: Path, tmp_path: Path, history: History = HISTORY
) -> tuple[ShardPlan, dagger.File, Path]:
    """The plan job's shard plan of the two packages in two shards, as a file."""
    ws = load_workspace(root)
    shards = make_shard_plan(make_plan(ws, select_packages(ws, SELECTED)), history, 2)
    path = tmp_path / "shard-plan.json"
    path.write_text(shard_plan_json(shards), encoding="utf-8")
    return shards, dag.host().file(str(path)), path


async def run_shard(
    root: Path, index: int, plan_file: dagger.File, endpoint: str, **overrides: Any
) -> str:
    summary: str = await module(root).ci(
        jobs=2,
        shard=f"{index}/2",
        shard_plan=plan_file,
        run_id=RUN_ID,
        **store(endpoint, **overrides),
    )
    return summary


async def verdict(root: Path, plan_file: dagger.File, endpoint: str, **overrides: Any) -> str:
    summary: str = await module(root).verdict(
        shard_plan=plan_file, run_id=RUN_ID, **store(endpoint, **overrides)
    )
    return summary


def stored_keys(s3: S3Client) -> list[str]:
    return [o.get("Key", "") for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def statuses(summary: str) -> dict[str, str]:
    """Each step's status, read from the summary's table."""
    table = summary.split("\nSummary\n", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return {row.split()[0]: row.split()[1] for row in table}


def signature(
    shards: ShardPlan, index: int
) -> tuple[tuple[str, str, tuple[tuple[str, ...], ...]], ...]:
    """What shard `index` runs, as the engine sees each step: package, workdir, argv."""
    steps = shards.subplan(ShardId(index, 2)).steps
    return tuple(sorted((s.package, in_src(s.workdir), s.commands) for s in steps))


# ---------------------------------------------------------------- ci --shard


@pytest.mark.anyio
async def test_a_shard_runs_the_native_shards_steps_and_an_unsharded_run_reuses_them(
    checkout: Path,
    engine: ShardEngine,
    s3: S3Client,
    endpoint: str,
    tmp_path: Path,
) -> None:
    shards, plan_file, path = cut(checkout, tmp_path)
    assert shards.groups, "acme-logger's suite is split: its groups are steps of their own"
    ws = load_workspace(checkout)
    request = SelectionRequest(packages=SELECTED)
    native = shard_plan_for(checkout, ws, request, count=None, target=60.0, plan_file=str(path))
    assert native.digest == shards.digest
    for index in (1, 2):
        before = len(engine.step_commands())
        summary = await run_shard(checkout, index, plan_file, endpoint)
        ran = tuple(sorted(engine.step_commands()[before:]))
        assert ran == signature(native, index)
        assert f"shard {index}/2: report stored as ci/feature%2Fx/runs/{RUN_ID}/attempt-1/" in (
            summary
        )
    keys = stored_keys(s3)
    assert sorted(k for k in keys if "/runs/" in k) == [
        f"ci/feature%2Fx/runs/{RUN_ID}/attempt-1/shard-{k}-of-2.json" for k in (1, 2)
    ]
    head = s3.head_object(Bucket=BUCKET, Key=next(k for k in keys if "/runs/" in k))
    assert set(head["Metadata"]) == {"acme-sha256", "acme-signature"}

    # The shards' entries are an unsharded run's: it runs only the suite it runs whole.
    before = len(engine.step_commands())
    summary = await module(checkout).ci(jobs=2, **store(endpoint))
    (whole,) = engine.step_commands()[before:]
    assert whole[2] == make_plan(ws, select_packages(ws, SELECTED)).get("acme-logger:test").commands
    assert "5 cached" in summary


@pytest.mark.anyio
async def test_a_shard_says_what_it_needs_before_running_anything(
    checkout: Path,
    engine: ShardEngine,
    endpoint: str,
    tmp_path: Path,
) -> None:
    _, plan_file, path = cut(checkout, tmp_path)
    with pytest.raises(ShardError, match=r"nowhere to put its report.*writes nothing"):
        await run_shard(checkout, 1, plan_file, endpoint, cache_read_only=True)
    with pytest.raises(ShardError, match="nowhere to put its report"):
        await module(checkout).ci(shard="1/2", shard_plan=plan_file, run_id=RUN_ID)
    with pytest.raises(ShardError, match="--shard needs --shard-plan"):
        await module(checkout).ci(shard="1/2", run_id=RUN_ID, **store(endpoint))
    with pytest.raises(ShardError, match="needs --run-id"):
        await module(checkout).ci(shard="1/2", shard_plan=plan_file, **store(endpoint))
    with pytest.raises(ShardError, match="this shard plan has 2 shards"):
        await module(checkout).ci(
            shard="1/3", shard_plan=plan_file, run_id=RUN_ID, **store(endpoint)
        )
    # A plan made for another selection, or another commit (its digest), is refused.
    ws = load_workspace(checkout)
    other = make_shard_plan(make_plan(ws, select_packages(ws, ["acme-logger"])), History(), 2)
    (tmp_path / "other.json").write_text(shard_plan_json(other), encoding="utf-8")
    with pytest.raises(ShardError, match="--shard-plan: its shards do not hold each step"):
        await run_shard(checkout, 1, dag.host().file(str(tmp_path / "other.json")), endpoint)
    document = json.loads(path.read_text(encoding="utf-8"))
    (tmp_path / "other.json").write_text(json.dumps({**document, "digest": "0" * 64}))
    with pytest.raises(ShardError, match="--shard-plan: made for another plan"):
        await run_shard(checkout, 1, dag.host().file(str(tmp_path / "other.json")), endpoint)
    assert not engine.step_commands()


# ---------------------------------------------------------------- verdict


@pytest.mark.anyio
async def test_the_verdict_of_two_shards_is_the_unsharded_runs(
    checkout: Path,
    engine: ShardEngine,
    endpoint: str,
    tmp_path: Path,
) -> None:
    alone = await module(checkout).ci(jobs=2)
    _, plan_file, _ = cut(checkout, tmp_path)
    for index in (1, 2):
        await run_shard(checkout, index, plan_file, endpoint)
    summary = await verdict(checkout, plan_file, endpoint)
    assert statuses(summary) == statuses(alone)
    assert set(statuses(summary).values()) == {"passed"}
    assert "Shards (2):" in summary
    assert "shard 1/2  passed" in summary
    assert "shard 2/2  passed" in summary


@pytest.mark.anyio
async def test_a_failing_group_fails_the_verdict_as_it_fails_the_unsharded_run(
    checkout: Path,
    engine: ShardEngine,
    endpoint: str,
    tmp_path: Path,
) -> None:
    shards, plan_file, _ = cut(checkout, tmp_path)
    group = shards.plan.get("acme-logger:test[2/2]")
    whole = shards.base.get("acme-logger:test")
    engine.exit_codes = {whole.commands[0]: 1, group.commands[0]: 1}
    with pytest.raises(PipelineFailedError) as alone:
        await module(checkout).ci(jobs=2)
    failing = shards.shard_of(group.id).index
    for index in (1, 2):
        if index == failing:
            with pytest.raises(PipelineFailedError, match=re.escape(group.id)):
                await run_shard(checkout, index, plan_file, endpoint)
        else:
            await run_shard(checkout, index, plan_file, endpoint)
    with pytest.raises(VerdictFailedError) as judged:
        await verdict(checkout, plan_file, endpoint)
    expected = {r.step_id: r.status for r in alone.value.run.results}
    assert {r.step_id: r.status for r in judged.value.gathered.run.results} == expected
    assert expected["acme-logger:test"] == "failed"
    assert expected["acme-logger:build"] == "blocked"
    assert statuses(str(judged.value)) == expected


@pytest.mark.anyio
async def test_a_shard_that_never_reported_fails_the_verdict_naming_it(
    checkout: Path,
    engine: ShardEngine,
    endpoint: str,
    tmp_path: Path,
) -> None:
    shards, plan_file, _ = cut(checkout, tmp_path)
    await run_shard(checkout, 1, plan_file, endpoint)
    with pytest.raises(VerdictFailedError) as judged:
        await verdict(checkout, plan_file, endpoint)
    message = str(judged.value)
    assert message.startswith("verdict: ")
    assert "shard(s) 2/2 without a report" in message
    steps = ", ".join(shards.shard(ShardId(2, 2)).steps)
    assert f"shard 2/2 never reported: its steps ({steps}) have no result" in message


@pytest.mark.anyio
async def test_a_shards_flake_is_in_the_merged_summary(
    checkout: Path,
    engine: ShardEngine,
    endpoint: str,
    tmp_path: Path,
) -> None:
    shards, plan_file, _ = cut(checkout, tmp_path)
    group = shards.plan.get("acme-logger:test[1/2]")
    engine.junit = {group.commands[0]: FLAKY_JUNIT}
    for index in (1, 2):
        await run_shard(checkout, index, plan_file, endpoint)
    summary = await verdict(checkout, plan_file, endpoint)
    assert "Flaky tests (passed after a rerun): 1" in summary
    assert "acme-logger: tests.test_logger::test_flaky after 2 attempts" in summary


@pytest.mark.anyio
async def test_a_report_from_another_key_or_no_cache_at_all_is_refused(
    checkout: Path,
    engine: ShardEngine,
    endpoint: str,
    tmp_path: Path,
) -> None:
    _, plan_file, _ = cut(checkout, tmp_path)
    for index in (1, 2):
        await run_shard(checkout, index, plan_file, endpoint)
    other_key = {"cache_signing_key": dag.set_secret("other", "another key")}
    with pytest.raises(VerdictFailedError, match="wrong signature"):
        await verdict(checkout, plan_file, endpoint, **other_key)
    with pytest.raises(ShardError, match=r"no artifact directory.*pass --cache-url"):
        await module(checkout).verdict(shard_plan=plan_file, run_id=RUN_ID)


@pytest.mark.anyio
async def test_a_rerun_of_a_failed_shard_completes_the_verdict(
    checkout: Path,
    engine: ShardEngine,
    s3: S3Client,
    endpoint: str,
    tmp_path: Path,
) -> None:
    """GitHub's "re-run failed jobs": attempt 2 runs shard 2 only, shard 1 counts from 1."""
    _, plan_file, _ = cut(checkout, tmp_path)
    await run_shard(checkout, 1, plan_file, endpoint)
    await module(checkout).ci(
        shard="2/2", shard_plan=plan_file, run_id=RUN_ID, run_attempt=2, **store(endpoint)
    )
    summary = await module(checkout).verdict(
        shard_plan=plan_file, run_id=RUN_ID, run_attempt=2, **store(endpoint)
    )
    assert "shard 1/2  passed" in summary
    location = parse_cache_url(URL)
    reports, _ = get_reports(
        s3, location, "feature/x", RunIdentity(RUN_ID, 2), [ShardId(2, 2)], SIGNING_KEY.encode()
    )
    assert [r.attempt for r in reports] == [2]
    key = report_object_key(location, "feature/x", RUN_ID, 2, ShardId(2, 2))
    assert key in stored_keys(s3)


# ---------------------------------------------------------------- plan --shards


@pytest.mark.anyio
async def test_plan_on_dagger_cuts_as_the_native_plan_does(
    engine: ShardEngine,
    repo: Repo,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from acme_ci.dagger import main, source

    # Every package, as the module selects them (not only the two of the other tests).
    monkeypatch.setattr(main, "select", source.select)
    repo.write("libs/util/src/util/data.py", "X = 1\n" * 5000)  # a big package: a long prior
    repo.commit("util grows")
    for fmt in ("json", "github-matrix", "text"):
        assert (
            acme_ci(["-C", str(repo.root), "plan", "--all", "--shards", "2", "--format", fmt]) == 0
        )
        native = capsys.readouterr().out.rstrip("\n")
        assert await module(repo.root).plan(all_=True, shards="2", format_=fmt) == native, fmt
    with pytest.raises(ValueError, match="only with --shards"):
        await module(repo.root).plan(all_=True, format_="github-matrix")


@pytest.mark.anyio
async def test_the_verdict_keeps_the_history_the_next_plan_reads(
    checkout: Path,
    engine: ShardEngine,
    s3: S3Client,
    endpoint: str,
    tmp_path: Path,
) -> None:
    _, plan_file, _ = cut(checkout, tmp_path)
    # A push to main: the shards and the verdict write main's scope.
    for index in (1, 2):
        await run_shard(checkout, index, plan_file, endpoint, cache_scope="main")
    await verdict(checkout, plan_file, endpoint, cache_scope="main")
    stored = s3.get_object(Bucket=BUCKET, Key="ci/main/history.json")
    assert set(stored["Metadata"]) == {"acme-sha256", "acme-signature"}
    history = json.loads(stored["Body"].read())
    assert set(history["durations"]) >= {"acme-health:lint", "acme-logger:test[1/2]"}
    assert set(history["timings"]) == {"acme-logger", "acme-health"}

    # A pull request from another branch plans from it (its own scope has none yet).
    pull_request = {"cache_scope": "feature/y", "cache_pull_request": True}
    text = await module(checkout).plan(
        shards="2", format_="json", **store(endpoint, **pull_request)
    )
    planned = json.loads(text)
    expected = {s["id"]: s["expected"] for shard in planned["shards"] for s in shard["steps"]}
    for step_id in ("acme-health:lint", "acme-logger:lint", "acme-health:build"):
        assert expected[step_id] == history["durations"][step_id], step_id

    # A fork's pull request reads only: its verdict writes no history.
    s3.delete_object(Bucket=BUCKET, Key="ci/main/history.json")
    with pytest.raises(ShardError, match="nowhere to put its report"):
        await run_shard(checkout, 1, plan_file, endpoint, cache_read_only=True)
    await verdict(checkout, plan_file, endpoint, cache_scope="main", cache_read_only=True)
    keys = stored_keys(s3)
    assert not [k for k in keys if k.endswith("history.json")]


@pytest.mark.anyio
async def test_a_bad_cache_url_stops_plan_before_anything_runs(
    checkout: Path, engine: ShardEngine
) -> None:
    bad = dag.set_secret("cache-url", "https://elsewhere.example/x")
    with pytest.raises(RemoteCacheError, match="s3://BUCKET/PREFIX"):
        await module(checkout).plan(shards="2", cache_url=bad, cache_scope="main")
