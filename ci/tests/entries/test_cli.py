"""The entries CLI the Dagger shell runs in its container (`python -m acme_ci.entries.cli`),
run here for real against a moto S3 server, beside the native remote cache: both shells
write and read the same signed entries, and a bad one is refused, never restored.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from mypy_boto3_s3 import S3Client

from acme_ci.core.entry_format import CachedResult
from acme_ci.core.plan import Step
from acme_ci.core.remote_cache import entry_metadata, parse_cache_url
from acme_ci.entries import cli
from acme_ci.native.cache import Cache
from acme_ci.native.remote_cache import RemoteCache, RemoteSettings

from .conftest import BUCKET, URL

KEY = "ab" * 32
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
META = {
    "step_id": STEP.id,
    "duration": 1.5,
    "output": "built",
    "attempts": 1,
    "flakes": [],
    "passed_tests": 0,
    "skipped_tests": 0,
}


def staged(tmp_path: Path, wheel: bytes = b"wheel bytes") -> Path:
    """What the Dagger shell mounts before a store: meta.json and outputs/."""
    directory = tmp_path / "store"
    (directory / "outputs/dist/acme-logger").mkdir(parents=True)
    (directory / "outputs/dist/acme-logger/acme_logger-0.1.0-py3-none-any.whl").write_bytes(wheel)
    (directory / "meta.json").write_text(json.dumps(META))
    return directory


def run_cli(*argv: str) -> dict[str, Any]:
    assert cli.main(list(argv)) == 0
    directory = Path(argv[argv.index("--dir") + 1])
    name = cli.STATUS_FILE if argv[0] == "fetch" else cli.STORED_FILE
    answer: dict[str, Any] = json.loads((directory / name).read_text())
    return answer


def test_store_then_fetch_restores_outputs_and_result(s3: S3Client, tmp_path: Path) -> None:
    stored = run_cli("store", "--key", KEY, "--scope", "feature/x", "--dir", str(staged(tmp_path)))
    assert stored["problem"] is None
    assert stored["bytes"] > 0
    into = tmp_path / "fetch"
    # Own scope first, then the default branch's: found in the first.
    status = run_cli(
        "fetch", "--key", KEY, "--scope", "main", "--scope", "feature/x", "--dir", str(into)
    )
    assert status["hit"]
    assert status["scope"] == "feature/x"
    assert status["meta"] == META
    wheel = into / "entry/outputs/dist/acme-logger/acme_logger-0.1.0-py3-none-any.whl"
    assert wheel.read_bytes() == b"wheel bytes"
    miss = run_cli("fetch", "--key", "cd" * 32, "--scope", "main", "--dir", str(tmp_path / "m"))
    assert miss == {"hit": False, "problems": [], "skipped": None}


def test_entries_are_the_native_caches_both_ways(
    s3: S3Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same key, same entry: one written in a container is installed and loaded natively,
    and one written natively is fetched in a container (the keys themselves differ)."""
    signing_key = b"k" * 32
    monkeypatch.setenv("ACME_CACHE_SIGNING_KEY", signing_key.decode())
    run_cli("store", "--key", KEY, "--scope", "main", "--dir", str(staged(tmp_path)))
    settings = RemoteSettings(url=URL, scope="main", default_scope="main", signing_key=signing_key)
    remote = RemoteCache(settings)
    fetched = remote.fetch(KEY, STEP.id)
    assert fetched is not None, remote.problems
    workspace = tmp_path / "native"
    cache = Cache(workspace / ".acme/cache", workspace)
    cache.install(KEY, fetched.content)
    assert cache.load(KEY, STEP) == CachedResult.from_meta(META)
    wheel = workspace / "dist/acme-logger/acme_logger-0.1.0-py3-none-any.whl"
    assert wheel.read_bytes() == b"wheel bytes"

    other = "ef" * 32
    native = CachedResult(STEP.id, 2.0, "native", 1, (("t::flaky", 2),), passed_tests=3)
    cache.store(other, STEP, native)
    packed = cache.pack(other)
    assert packed is not None
    assert remote.store(other, packed) > 0
    status = run_cli("fetch", "--key", other, "--scope", "main", "--dir", str(tmp_path / "f"))
    assert status["hit"]
    assert CachedResult.from_meta(status["meta"]) == native
    fetched_wheel = tmp_path / "f/entry/outputs/dist/acme-logger" / wheel.name
    assert fetched_wheel.read_bytes() == b"wheel bytes"


def test_with_a_signing_key_unsigned_or_tampered_entries_are_never_used(
    s3: S3Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli("store", "--key", KEY, "--scope", "feature", "--dir", str(staged(tmp_path)))  # unsigned
    monkeypatch.setenv("ACME_CACHE_SIGNING_KEY", "the-real-key")
    run_cli("store", "--key", KEY, "--scope", "main", "--dir", str(staged(tmp_path / "2", b"good")))
    location = parse_cache_url(URL)
    signed = s3.get_object(Bucket=BUCKET, Key=location.object_key("main", KEY))
    body = signed["Body"].read()
    # Same signature, other bytes: a tampered entry in a third scope.
    s3.put_object(
        Bucket=BUCKET,
        Key=location.object_key("other", KEY),
        Body=body[:-1] + bytes([body[-1] ^ 1]),
        Metadata=signed["Metadata"],
    )
    status = run_cli(
        "fetch",
        "--key",
        KEY,
        "--scope",
        "feature",
        "--scope",
        "other",
        "--dir",
        str(tmp_path / "f"),
    )
    assert not status["hit"]
    assert "no signature" in status["problems"][0]
    assert "wrong signature" in status["problems"][1]
    assert not (tmp_path / "f/entry").exists()
    good = run_cli(
        "fetch", "--key", KEY, "--scope", "feature", "--scope", "main", "--dir", str(tmp_path / "g")
    )
    assert good["hit"]
    assert good["scope"] == "main"


@pytest.mark.parametrize("filters", [True, False], ids=["data-filter", "python-3.11.2"])
def test_an_entry_escaping_its_directory_is_refused_with_or_without_tar_filters(
    s3: S3Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filters: bool
) -> None:
    """The rehearsal's stand-in Python (3.11.2) has no tarfile filters: the lookup crashed on
    its first hit. Without them, the same members are refused as with the "data" filter."""
    if not filters:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    run_cli("store", "--key", KEY, "--scope", "main", "--dir", str(staged(tmp_path)))
    good = run_cli("fetch", "--key", KEY, "--scope", "main", "--dir", str(tmp_path / "good"))
    assert good["hit"]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    content = buffer.getvalue()
    s3.put_object(
        Bucket=BUCKET,
        Key=parse_cache_url(URL).object_key("main", KEY),
        Body=content,
        Metadata=entry_metadata(KEY, content, None),
    )
    bad = run_cli("fetch", "--key", KEY, "--scope", "main", "--dir", str(tmp_path / "bad"))
    assert not bad["hit"]
    assert "unreadable archive" in bad["problems"][0]
    assert not (tmp_path / "escaped").exists()


def test_a_store_that_fails_is_reported_and_exits_zero(
    s3: S3Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_CACHE_URL", "s3://no-such-bucket/ci")
    stored = run_cli("store", "--key", KEY, "--scope", "main", "--dir", str(staged(tmp_path)))
    assert stored["bytes"] == 0
    assert "NoSuchBucket" in stored["problem"]


def test_the_cli_runs_as_a_module_without_dagger(s3: S3Client, tmp_path: Path) -> None:
    """The container runs it with `python -m`: it must not need the dagger package."""
    code = (
        "import sys, runpy; sys.modules['dagger'] = None; "
        f"sys.argv = ['x', 'fetch', '--key', '{KEY}', '--scope', 'main', '--dir', '{tmp_path}']; "
        f"runpy.run_module('{cli.__name__}', run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / cli.STATUS_FILE).read_text())["hit"] is False
