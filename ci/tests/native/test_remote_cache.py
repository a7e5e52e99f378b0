"""The remote step cache against a real moto S3 server on 127.0.0.1: hits, trust, faults."""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from mypy_boto3_s3 import S3Client

from acme_ci.core.remote_cache import RemoteCacheError, scope_policy
from acme_ci.native.cli import main
from acme_ci.native.remote_cache import RemoteCache, RemoteSettings

from ..conftest import Repo

BUCKET = "acme-cache"
URL = f"s3://{BUCKET}/ci"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Client:
    """A fresh bucket, and boto3's own configuration pointing every client at moto."""
    for name, value in {
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    # An outer pipeline (this suite run by acme-ci in CI) may set its own cache variables.
    for name in list(os.environ):
        if name.startswith(("ACME_CACHE_", "GITHUB_")):
            monkeypatch.delenv(name)
    client = boto3.client("s3", endpoint_url=endpoint)
    if BUCKET in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    else:
        client.create_bucket(Bucket=BUCKET)
    return client


def ci(repo: Repo, report: Path, *args: str) -> int:
    return main(
        ["-C", str(repo.root), "ci", "--runner", "native", "--jobs", "2", "--package", "core",
         "--cache-url", URL, "--report", str(report), *args]
    )  # fmt: skip


def steps(report: Path) -> dict[str, tuple[str, str | None]]:
    data = json.loads(report.read_text())
    return {s["id"]: (s["status"], s["cache_source"]) for s in data["steps"]}


def fresh_clone(repo: Repo) -> None:
    """What a new checkout has: no local cache, no build outputs, no reports."""
    shutil.rmtree(repo.root / ".acme", ignore_errors=True)
    shutil.rmtree(repo.root / "dist", ignore_errors=True)


def objects(s3: S3Client) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


ALL_REMOTE = {f"core:{t}": ("cached", "remote") for t in ("lint", "test", "build")}
ALL_RAN = {f"core:{t}": ("passed", None) for t in ("lint", "test", "build")}


def test_a_fresh_clone_restores_every_step_from_the_remote_cache(
    repo: Repo, s3: S3Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    assert ci(repo, report, "--cache-scope", "main") == 0
    assert steps(report) == ALL_RAN
    assert len(objects(s3)) == 3
    assert all(key.startswith("ci/main/") for key in objects(s3))
    wheel = sorted(p.name for p in (repo.root / "dist/core").iterdir())

    fresh_clone(repo)
    capsys.readouterr()
    assert ci(repo, report, "--cache-scope", "main") == 0
    assert steps(report) == ALL_REMOTE
    assert sorted(p.name for p in (repo.root / "dist/core").iterdir()) == wheel
    assert (repo.root / ".acme/reports/core/junit.xml").is_file()
    data = json.loads(report.read_text())
    assert all(s["cache_bytes"] > 0 for s in data["steps"])
    out = capsys.readouterr().out
    assert "Remote cache s3://acme-cache/ci (reads main; writes main): 3 hits" in out
    assert "downloaded" in out

    assert ci(repo, report, "--cache-scope", "main") == 0  # now the local cache answers
    assert {source for _, source in steps(report).values()} == {"local"}


def test_a_tampered_entry_is_never_used_and_the_run_says_why(
    repo: Repo,
    s3: S3Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACME_CACHE_SIGNING_KEY", "secret")
    report = tmp_path / "report.json"
    assert ci(repo, report, "--cache-scope", "main") == 0
    build = next(key for key in objects(s3) if _key_of(report, "core:build") in key)
    original = s3.get_object(Bucket=BUCKET, Key=build)
    body = bytearray(original["Body"].read())
    body[len(body) // 2] ^= 0x01  # one flipped bit
    s3.put_object(Bucket=BUCKET, Key=build, Body=bytes(body), Metadata=original["Metadata"])

    fresh_clone(repo)
    capsys.readouterr()
    assert ci(repo, report, "--cache-scope", "main") == 0
    status = steps(report)
    assert status["core:build"] == ("passed", None)  # ran again
    assert status["core:lint"] == status["core:test"] == ("cached", "remote")
    out = capsys.readouterr().out
    assert "for core:build in scope 'main' not used: wrong signature" in out

    monkeypatch.delenv("ACME_CACHE_SIGNING_KEY")  # an unsigned writer...
    shutil.rmtree(repo.root / ".acme/cache")
    s3.delete_object(Bucket=BUCKET, Key=build)
    assert ci(repo, report, "--cache-scope", "main") == 0
    monkeypatch.setenv("ACME_CACHE_SIGNING_KEY", "secret")  # ...is not trusted by a signer
    fresh_clone(repo)
    capsys.readouterr()
    assert ci(repo, report, "--cache-scope", "main") == 0
    assert steps(report)["core:build"] == ("passed", None)
    assert "not used: no signature" in capsys.readouterr().out


def _key_of(report: Path, step_id: str) -> str:
    found = [s["cache_key"] for s in json.loads(report.read_text())["steps"] if s["id"] == step_id]
    return str(found[0])


def test_an_unreachable_store_never_fails_the_run_and_says_it_was_skipped(
    repo: Repo,
    s3: S3Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("ACME_CACHE_CONNECT_TIMEOUT", "1")
    report = tmp_path / "report.json"
    assert ci(repo, report, "--cache-scope", "main") == 0
    assert steps(report) == ALL_RAN
    out = capsys.readouterr().out
    assert "warning: remote cache skipped from the first failed lookup on: " in out
    assert "EndpointConnectionError" in out
    assert ci(repo, report, "--cache-scope", "main") == 0  # the local cache still works
    assert {source for _, source in steps(report).values()} == {"local"}


def test_a_branch_scope_is_not_read_by_the_default_branch_but_reads_it(
    repo: Repo, s3: S3Client, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    assert ci(repo, report, "--cache-scope", "feature/x") == 0
    assert all(key.startswith("ci/feature%2Fx/") for key in objects(s3))

    fresh_clone(repo)
    assert ci(repo, report, "--cache-scope", "main") == 0
    assert steps(report) == ALL_RAN  # main never trusts what a branch wrote

    fresh_clone(repo)
    assert ci(repo, report, "--cache-scope", "feature/y") == 0
    assert steps(report) == ALL_REMOTE  # a branch reads the default branch's scope


def test_read_only_writes_nothing(repo: Repo, s3: S3Client, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert ci(repo, report, "--cache-scope", "main", "--cache-read-only") == 0
    assert steps(report) == ALL_RAN
    assert objects(s3) == []


def test_scope_rules() -> None:
    assert scope_policy("feat", "main").read == ("feat", "main")
    assert scope_policy("feat", "main").write == "feat"
    assert scope_policy("main", "main").write == "main"
    fork = scope_policy("12/merge", "main", pull_request=True, fork=True)
    assert (fork.read, fork.write) == (("12/merge", "main"), None)
    posing = scope_policy("main", "main", pull_request=True)
    assert posing.write is None
    assert "never writes the default branch" in str(posing.read_only_because)
    with pytest.raises(RemoteCacheError, match="must not be empty"):
        scope_policy("", "main")


def test_a_bad_cache_url_is_a_usage_error(
    repo: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ci(repo, tmp_path / "r.json", "--cache-url", "https://example.invalid/x") == 2
    assert "expected s3://BUCKET/PREFIX" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ACME_CACHE_CONNECT_TIMEOUT", "soon"), ("ACME_CACHE_READ_TIMEOUT", "0"),
     ("ACME_CACHE_READ_TIMEOUT", "nan")],
)  # fmt: skip
def test_a_bad_timeout_variable_is_a_usage_error_naming_it(
    repo: Repo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert ci(repo, tmp_path / "r.json", "--cache-scope", "main") == 2
    assert f"{variable} must be a number of seconds above 0, not {value!r}" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "r.json").exists()  # refused before any step ran


def test_concurrent_writers_of_one_key_leave_one_whole_valid_entry(s3: S3Client) -> None:
    settings = RemoteSettings(URL, "main", "main", signing_key=b"secret")
    contents = [bytes([i]) * 200_000 for i in range(8)]

    def store(content: bytes) -> int:
        return RemoteCache(settings).store("ab" * 32, content)

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(store, contents)) == [200_000] * 8
    fetched = RemoteCache(settings).fetch("ab" * 32, "p:build")
    assert fetched is not None
    assert fetched.content in contents


def test_a_store_that_never_answers_is_given_up_after_the_timeout(
    s3: S3Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:  # accepts connections (kernel backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{silent.getsockname()[1]}")
        settings = RemoteSettings(URL, "main", "main", connect_timeout=0.3, read_timeout=0.3)
        remote = RemoteCache(settings)
        assert remote.fetch("cd" * 32, "p:build") is None
        assert remote.skipped is not None
        assert "ReadTimeoutError" in remote.skipped
        assert remote.store("cd" * 32, b"entry") == 0  # given up: no second wait
