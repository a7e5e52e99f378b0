"""The remote step cache on Dagger, inspected offline as the other module functions are
(test_pipeline.FakeEngine): the digests a key is made of, the lookup and store execs of the
entries CLI, their secrets and per-call input, a hit skipping the step. The digests are the
rehearsal evaluator's (acme_ci.rehearsal.evaluator), which hashes what the engine's do:
paths, kinds, modes, owners and contents. The CLI itself runs for real against a moto S3
server in tests/entries/test_cli.py.
"""

# mypy: disable-error-code="attr-defined, call-arg"

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagger
import pytest
from dagger import dag
from dagger._exceptions import QueryErrorValue
from dagger.client._core import Context
from gql import gql

from acme_ci.core.affected import Selection, select_all, select_packages
from acme_ci.core.plan import PlanOptions, Step, make_plan
from acme_ci.core.remote_cache import RemoteCacheError, parse_cache_url
from acme_ci.core.step_key import HostPathError, container_step_key
from acme_ci.core.workspace import Workspace, parse_workspace
from acme_ci.dagger import containers as images
from acme_ci.dagger.cache_options import CacheOptions
from acme_ci.dagger.main import AcmeCi
from acme_ci.dagger.plan_run import run_in_containers
from acme_ci.dagger.remote_cache import (
    CACHE_DIR,
    CLI,
    NORMALISED_COPY,
    StepInputs,
    step_inputs,
)
from acme_ci.dagger.source import SOURCE_IGNORE
from acme_ci.rehearsal.converter import one_converter
from acme_ci.rehearsal.evaluator import Evaluator, ImageSource
from acme_ci.rehearsal.ignore import PathFilter

from .test_pipeline import ROOT, Chain, FakeEngine, args_of, chain_of, execs

BUCKET = "acme-cache"
URL = f"s3://{BUCKET}/ci"
SECRET_VARIABLES = {
    "ACME_CACHE_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "ACME_CACHE_SIGNING_KEY",
}
STEP = Step(
    id="acme-logger:build",
    package="acme-logger",
    task="build",
    commands=(("uv", "build"),),
    workdir=".",
    env=(),
    inputs=("uv.lock",),
    needs=(),
    outputs=("dist/acme-logger",),
    reason="--all",
)


# ---------------------------------------------------------------- the key


def test_a_key_depends_on_content_digests_and_never_accepts_a_host_path() -> None:
    env = {"python": images.PYTHON_IMAGE}
    key = container_step_key(STEP, {"uv.lock": "sha256:1", "common/logger": "sha256:2"}, env)
    assert key == container_step_key(
        STEP, {"common/logger": "sha256:2", "uv.lock": "sha256:1"}, env
    )
    assert key != container_step_key(
        STEP, {"uv.lock": "sha256:1", "common/logger": "sha256:3"}, env
    )
    assert key != container_step_key(
        STEP, {"uv.lock": "sha256:1", "common/logger": "sha256:2"}, {"python": "python:3.13-slim"}
    )
    for bad in ("/home/runner/work/acme/uv.lock", "../uv.lock", ""):
        with pytest.raises(HostPathError):
            container_step_key(STEP, {bad: "sha256:1"}, env)


def test_a_build_is_keyed_on_its_own_tree_and_a_test_on_its_dependencies_too() -> None:
    """The module keys a step on what its plan inputs name: a dependency's code changes the
    dependent's test key, never its build key (the build packs its own tree only)."""
    ws = parse_workspace(
        {
            "common/log": '[project]\nname = "log"\n',
            "services/user": '[project]\nname = "user"\ndependencies = ["log"]\n',
        }
    )
    plan = make_plan(ws, select_all(ws))
    manifests = (
        "uv.lock",
        "pyproject.toml",
        "common/log/pyproject.toml",
        "services/user/pyproject.toml",
    )
    test = step_inputs(ws, plan.get("user:test"), "ci", ())
    build = step_inputs(ws, plan.get("user:build"), "ci", ())
    assert test == StepInputs(manifests, ("services/user", "common/log"))
    assert build == StepInputs(manifests, ("services/user",))


# ---------------------------------------------------------------- the Dagger side, offline


class NoImages(ImageSource):
    """A digest of the source reads host files only: no image is ever asked for."""

    async def image_for(self, address: str) -> str:
        raise AssertionError(f"a digest asked for an image: {address}")

    async def probe_image(self) -> str:
        raise AssertionError("a digest asked for a probe image")


async def no_podman(*args: str, **_: Any) -> Any:
    raise AssertionError(f"a digest ran podman {args}")


def host_evaluator(state: Path) -> Evaluator:
    """The rehearsal's evaluator, for queries over host directories (no podman needed)."""
    return Evaluator(NoImages(), lambda _: None, state, podman_command=no_podman)


@dataclass
class CacheEngine(FakeEngine):
    """FakeEngine plus the digests of host directories and files (by the rehearsal's
    evaluator) and a remote store the CLI execs use."""

    evaluator: Evaluator | None = None
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    stored_in: dict[str, str] = field(default_factory=dict)
    store_problem: str | None = None
    fetch_problems: list[str] = field(default_factory=list)
    fetch_fails: bool = False

    async def execute(self, ctx: Context, return_type: Any = None) -> Any:
        chain = self.expand(list(ctx.selections))
        if chain[-1].name == "digest" and chain[0].name == "host":
            self.queries.append(chain)
            assert self.evaluator is not None
            return await self.evaluator.evaluate(chain)
        files = args_of(chain, "file")
        if chain[-1].name == "contents" and files and files[-1]["path"].startswith(CACHE_DIR):
            self.queries.append(chain)
            return json.dumps(self.cli_answer(chain))
        return await super().execute(ctx, return_type)

    def cli_answer(self, chain: Chain) -> dict[str, Any]:
        argv = execs(chain)[-1]
        assert argv[:3] == ["python", "-m", CLI]
        if argv[3] not in ("fetch", "store"):
            return self.shard_store_answer(argv[3], chain)
        key = argv[argv.index("--key") + 1]
        scopes = [argv[i + 1] for i, a in enumerate(argv) if a == "--scope"]
        if argv[3] == "fetch":
            if self.fetch_fails:  # the exec itself failed: the engine's error
                raise dagger.QueryError([QueryErrorValue("exit code 1")], gql("query { noop }"))
            found = next((s for s in scopes if self.stored_in.get(key) == s), None)
            if found is None:
                return {"hit": False, "problems": self.fetch_problems, "skipped": None}
            meta = self.entries[key]
            return {"hit": True, "scope": found, "meta": meta, "bytes": 2048, "problems": []}
        if self.store_problem:
            return {"bytes": 0, "problem": self.store_problem}
        written = next(
            a["contents"] for a in args_of(chain, "withNewFile") if a["path"].endswith("meta.json")
        )
        self.entries[key] = json.loads(written)
        self.stored_in[key] = scopes[0]
        return {"bytes": 1024, "problem": None}

    def shard_store_answer(self, action: str, chain: Chain) -> dict[str, Any]:
        """An empty store's answers to the shard report and history actions
        (test_sharding.py runs the entries CLI itself against an S3 server)."""
        answers: dict[str, dict[str, Any]] = {
            "put-report": {"key": "stored", "problem": None},
            "get-reports": {"reports": [], "problems": {}},
            "put-history": {"key": "stored", "problem": None},
            "get-history": {"history": None, "scope": None, "problems": []},
        }
        return answers[action]

    def cli_runs(self, action: str) -> list[Chain]:
        argv = ["python", "-m", CLI, action]
        return [
            q
            for q in self.queries
            if q[-1].name == "contents" and any(e[:4] == argv for e in execs(q))
        ]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CacheEngine]:
    fake = CacheEngine(evaluator=host_evaluator(tmp_path / "evaluator"))

    async def execute(ctx: Context, return_type: Any = None) -> Any:
        return await fake.execute(ctx, return_type)

    monkeypatch.setattr(Context, "execute", execute)
    with one_converter():  # the fake structures nothing: see acme_ci.rehearsal.converter
        yield fake


def module(root: Path = ROOT) -> AcmeCi:
    return AcmeCi(source=dag.host().directory(str(root), exclude=SOURCE_IGNORE))


def cache_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "cache_url": dag.set_secret("cache-url", URL),
        "cache_scope": "feature/x",
        "cache_aws_access_key_id": dag.set_secret("cache-key-id", "AKIA-CACHE"),
        "cache_aws_secret_access_key": dag.set_secret("cache-secret", "s3cr3t"),
        "cache_signing_key": dag.set_secret("signing", "hmac-key"),
    }
    args.update(overrides)
    return args


async def ci_logger(acme: AcmeCi, **overrides: Any) -> str:
    summary: str = await acme.ci(all_=False, base="", jobs=2, **cache_args(**overrides))
    return summary


@pytest.fixture
def one_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """ci --all on the whole repository is slow offline; one small package is enough."""
    from acme_ci.dagger import main

    async def select(ws: Workspace, source: object, base: str, all_: bool) -> Selection:
        return select_packages(ws, ["acme-logger"])

    monkeypatch.setattr(main, "select", select)


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
async def test_a_miss_runs_every_step_then_stores_it_in_the_runs_own_scope(
    engine: CacheEngine,
) -> None:
    summary = await ci_logger(module())
    ran = {s[0] for s in engine.step_commands()}
    assert ran == {"acme-logger"}
    assert len(engine.step_commands()) == 3
    stores = engine.cli_runs("store")
    assert len(engine.cli_runs("fetch")) == len(stores) == 3
    assert set(engine.stored_in.values()) == {"feature/x"}
    build = next(
        q
        for q in stores
        if "--key" in execs(q)[-1]
        and any(
            a["path"] == f"{CACHE_DIR}/outputs/dist/acme-logger"
            for a in args_of(q, "withDirectory")
        )
    )
    source = next(
        a["source"] for a in args_of(build, "withDirectory") if a["path"].startswith(CACHE_DIR)
    )
    # The stored dist is the build step's own container's, after `uv build`.
    assert [
        "uv",
        "build",
        "--package",
        "acme-logger",
        "--out-dir",
        "dist/acme-logger",
        "--quiet",
    ] in execs(engine.expand(chain_of(source)))
    assert (
        "Remote cache s3://(bucket hidden)/ci (reads feature/x, main; writes feature/x)" in summary
    )
    assert BUCKET not in summary  # the URL is a secret


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
async def test_a_fresh_runner_skips_what_an_earlier_run_stored(engine: CacheEngine) -> None:
    await ci_logger(module(), cache_scope="main")  # a push to main
    runs_before = len(engine.step_runs())
    summary = await ci_logger(module(), cache_scope="feature/y")  # reads main after its own
    assert len(engine.step_runs()) == runs_before  # not one step exec more
    assert not engine.cli_runs("store")[3:]  # nothing stored again
    assert summary.count("remote") >= 3
    assert "3 cached" in summary


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
async def test_a_hit_restores_the_build_output_from_the_fetched_entry(engine: CacheEngine) -> None:
    acme = module()
    await ci_logger(acme)
    executor_runs = len(engine.step_runs())
    ws = await acme._workspace()
    plan = make_plan(ws, select_packages(ws, ["acme-logger"]), PlanOptions(tasks=("build",)))
    url = dag.set_secret("cache-url", URL)
    cache = CacheOptions(url=url, location=parse_cache_url(URL), scope="feature/x")
    run, executor = await run_in_containers(acme.source, ws, plan, 1, cache)
    assert run.results[0].status == "cached"
    assert run.results[0].cache_source == "remote"
    assert len(engine.step_runs()) == executor_runs
    dist = executor.finished["acme-logger:build"].directory(f"{images.SRC}/dist/acme-logger")
    restored = chain_of(dist)
    with_dir = next(
        a
        for a in args_of(restored, "withDirectory")
        if a["path"] == f"{images.SRC}/dist/acme-logger"
    )
    fetched = chain_of(with_dir["source"])
    assert fetched[-1].args == {"path": f"{CACHE_DIR}/entry/outputs/dist/acme-logger"}
    assert any(e[:4] == ["python", "-m", CLI, "fetch"] for e in execs(fetched))


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
async def test_lookup_and_store_get_credentials_as_secrets_and_a_call_id_each(
    engine: CacheEngine,
) -> None:
    args = cache_args()
    await ci_logger(module(), **args)
    await ci_logger(module(), **cache_args(cache_scope="main"))
    runs = engine.cli_runs("fetch") + engine.cli_runs("store")
    ids: list[str] = []
    for chain in runs:
        secrets = {a["name"]: a["secret"] for a in args_of(chain, "withSecretVariable")}
        assert set(secrets) == SECRET_VARIABLES
        env = {a["name"]: a["value"] for a in args_of(chain, "withEnvVariable")}
        assert not SECRET_VARIABLES & set(env)
        ids.append(env[images.CALL_ID_VARIABLE])
    first_secrets = {
        a["name"]: a["secret"] for a in args_of(engine.cli_runs("fetch")[0], "withSecretVariable")
    }
    assert first_secrets == {
        "ACME_CACHE_URL": args["cache_url"],
        "AWS_ACCESS_KEY_ID": args["cache_aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": args["cache_aws_secret_access_key"],
        "ACME_CACHE_SIGNING_KEY": args["cache_signing_key"],
    }
    # A miss must never be replayed: every lookup and store has its own input.
    assert len(ids) == len(set(ids)) == len(runs) > 0
    first = engine.cli_runs("fetch")[0]
    argv = execs(first)[-1]
    assert argv[argv.index("--scope") :] == [
        "--scope",
        "feature/x",
        "--scope",
        "main",
        "--dir",
        CACHE_DIR,
    ]


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
async def test_read_only_and_pull_requests_on_the_default_scope_never_store(
    engine: CacheEngine,
) -> None:
    summary = await ci_logger(module(), cache_read_only=True)
    assert "writes nothing (--cache-read-only)" in summary
    await ci_logger(module(), cache_scope="main", cache_pull_request=True)
    assert engine.cli_runs("fetch")
    assert not engine.cli_runs("store")
    await ci_logger(module(), cache_scope="main")  # a push to main writes main
    assert set(engine.stored_in.values()) == {"main"}


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
async def test_a_failing_store_or_a_rejected_entry_never_fails_the_run(engine: CacheEngine) -> None:
    engine.store_problem = "store failed: ClientError: AccessDenied"
    engine.fetch_problems = [
        "entry in scope 'main' not used: wrong signature (tampered, or signed with another key)"
    ]
    summary = await ci_logger(module())
    assert "3 passed" in summary
    assert "wrong signature" in summary
    assert "the step runs" in summary
    assert "remote cache skipped from acme-logger:" in summary
    assert "AccessDenied" in summary
    assert len(engine.cli_runs("store")) == 1  # given up after the first failure


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
async def test_a_lookup_that_breaks_gives_the_cache_up_and_every_step_runs(
    engine: CacheEngine,
) -> None:
    engine.fetch_fails = True
    summary = await ci_logger(module())
    assert "3 passed" in summary
    assert "remote cache skipped from the first failed lookup on: QueryError" in summary
    assert len(engine.cli_runs("fetch")) == 1  # given up: no lookup, no store after it
    assert not engine.cli_runs("store")


@pytest.mark.anyio
async def test_a_bad_cache_url_or_no_scope_is_refused_before_anything_runs(
    engine: CacheEngine,
) -> None:
    bad = dag.set_secret("cache-url", "https://private-cache.example/x")
    with pytest.raises(RemoteCacheError, match="s3://BUCKET/PREFIX") as caught:
        await module().ci(all_=True, cache_url=bad)
    shown = "".join(traceback.format_exception(caught.value))
    assert "private-cache" not in shown  # the URL is a secret, even when it is wrong
    with pytest.raises(RemoteCacheError, match="--cache-scope"):
        await module().ci(all_=True, cache_url=dag.set_secret("cache-url", URL))
    one_key = {"cache_aws_secret_access_key": dag.set_secret("empty", "")}
    with pytest.raises(RemoteCacheError, match="--cache-aws-access-key-id"):
        await module().ci(all_=True, **cache_args(**one_key))
    assert [q[-1].name for q in engine.queries] == ["plaintext"] * len(engine.queries)


# Never part of a checkout's content (in a Dagger test container /src is no git repository).
_NOT_SOURCE = frozenset({".git", ".venv", ".acme", "__pycache__", "dist", "var", "mutants"})


def source_files() -> list[str]:
    """The repository's files: as git lists them, or (no repository) every file on disk."""
    if (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        return [name for name in listed.decode().split("\0") if name]
    return [
        path.relative_to(ROOT).as_posix()
        for path in ROOT.rglob("*")
        if not _NOT_SOURCE.intersection(path.relative_to(ROOT).parts)
    ]


def copy_tracked(target: Path) -> Path:
    for name in source_files():
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def digested_path(chain: Chain) -> Path:
    """The source path a digest query reads (below the source, before the normalised copy)."""
    copy = [i for i, s in enumerate(chain) if s.name == "withDirectory"]
    return FakeEngine.host_path(chain[2 : copy[0] if copy else None])


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
async def test_keys_come_from_content_never_from_where_the_checkout_lives(
    engine: CacheEngine, tmp_path: Path
) -> None:
    first = copy_tracked(tmp_path / "a" / "checkout")
    second = copy_tracked(tmp_path / "elsewhere")
    await ci_logger(module(first))
    stored = dict(engine.stored_in)
    await ci_logger(module(second))
    assert len(stored) == 3
    assert not engine.cli_runs("store")[3:]

    digests = [q for q in engine.queries if q[-1].name == "digest"]
    relative = {digested_path(q).as_posix() for q in digests}
    assert "uv.lock" in relative
    assert "common/logger" in relative
    assert not any(r.startswith("/") for r in relative)

    # A changed source file (in acme-ci's own test container only the manifest of
    # acme-logger is on disk, so the file may be new: a content change all the same).
    changed = second / "common/logger/src/acme_logger/__init__.py"
    changed.parent.mkdir(parents=True, exist_ok=True)
    changed.write_text("# changed\n", encoding="utf-8")
    await ci_logger(module(second))
    assert len(engine.stored_in) == 6  # a changed source: three new keys, three new entries


def checkout(target: Path, umask: int) -> Path:
    """The repository's files written afresh under `umask`, as git writes a checkout:
    0666 for a file and 0777 for an executable or a directory, less the umask."""
    previous = os.umask(umask)
    try:
        for name in source_files():
            if not (ROOT / name).is_file():
                continue
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, target / name)  # a new file: the umask decides
            if (ROOT / name).stat().st_mode & stat.S_IXUSR:
                (target / name).chmod(0o777 & ~umask)
    finally:
        os.umask(previous)
    return target


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
async def test_checkouts_made_with_umask_0002_and_0022_share_their_keys(
    engine: CacheEngine, tmp_path: Path
) -> None:
    group_writable = checkout(tmp_path / "umask-0002", 0o002)
    private = checkout(tmp_path / "umask-0022", 0o022)
    manifest = "common/logger/pyproject.toml"
    assert stat.S_IMODE((group_writable / manifest).stat().st_mode) == 0o664
    assert stat.S_IMODE((private / manifest).stat().st_mode) == 0o644
    # The engine's digest of the same package directory differs: it hashes modes.
    plain = {
        await module(root).source.directory("common/logger").digest()
        for root in (group_writable, private)
    }
    assert len(plain) == 2

    await ci_logger(module(group_writable))
    assert len(engine.stored_in) == 3
    await ci_logger(module(private))
    assert len(engine.stored_in) == 3  # the same keys: every step found, none stored again
    assert not engine.cli_runs("store")[3:]

    # A change of mode alone changes no key (as git blob ids in the native keys)...
    (private / manifest).chmod(0o755)
    await ci_logger(module(private))
    assert len(engine.stored_in) == 3
    # ...a change of content does.
    with (private / manifest).open("a", encoding="utf-8") as text:
        text.write("\n# changed\n")
    await ci_logger(module(private))
    assert len(engine.stored_in) == 6


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
async def test_a_checkout_owned_by_another_user_shares_its_keys(
    engine: CacheEngine, tmp_path: Path
) -> None:
    mine = copy_tracked(tmp_path / "mine")
    theirs = copy_tracked(tmp_path / "theirs")
    for path in [theirs, *theirs.rglob("*")]:
        os.lchown(path, 1001, 1001)  # a CI runner's user, say
    await ci_logger(module(mine))
    await ci_logger(module(theirs))
    assert len(engine.stored_in) == 3


def test_the_normalised_copy_goes_where_the_source_never_has_anything() -> None:
    """The copy starts empty only because the upload leaves that name out at any depth."""
    ignored = PathFilter.of(SOURCE_IGNORE, None)
    for below in ("", "common/logger/", ".github/workflows/"):
        assert not ignored.keeps(f"{below}{NORMALISED_COPY}")


@pytest.mark.anyio
@pytest.mark.usefixtures("one_package")
async def test_empty_optional_cache_secrets_count_as_not_given(engine: CacheEngine) -> None:
    """A fork's pull request gets no secrets: GitHub passes each as an empty variable."""
    summary = await ci_logger(module(), cache_url=dag.set_secret("cache-url", ""))
    assert not engine.cli_runs("fetch")
    assert "Remote cache" not in summary
    assert "3 passed" in summary

    empty = {
        name: dag.set_secret(name, "")
        for name in ("cache_signing_key", "cache_aws_access_key_id", "cache_aws_secret_access_key")
    }
    summary = await ci_logger(module(), **empty)
    runs = engine.cli_runs("fetch") + engine.cli_runs("store")
    assert runs
    for chain in runs:
        assert [a["name"] for a in args_of(chain, "withSecretVariable")] == ["ACME_CACHE_URL"]
    assert "--cache-signing-key is empty, so not used" in summary
    assert "--cache-aws-* keys are empty, so not used" in summary


@pytest.mark.anyio
async def test_cd_runs_ci_with_the_remote_cache_it_is_given(engine: CacheEngine) -> None:
    url = dag.set_secret("cache-url", URL)
    report = await module().cd(
        "abc123", "registry.example/acme", rehearsal=True, cache_url=url, cache_scope="main"
    )
    lookups = engine.cli_runs("fetch")
    assert len(lookups) == len(engine.cli_runs("store")) > 0  # every step of its ci
    for lookup in lookups:
        secrets = {a["name"]: a["secret"] for a in args_of(lookup, "withSecretVariable")}
        assert secrets == {"ACME_CACHE_URL": url}
    assert "Remote cache s3://(bucket hidden)/ci (reads main; writes main)" in report
