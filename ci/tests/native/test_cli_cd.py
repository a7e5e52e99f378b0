"""`acme-ci cd`: phases in order, versioned wheels with a manifest, services started for real."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from acme_ci.native.cli import main
from acme_ci.native.commands.cd import maintenance_subsystems

from ..conftest import HATCHLING, Repo, copy_workspace
from ..conftest import manifest as package_manifest

# A real HTTP server: 200 on /readiness, on the PORT the pipeline hands it.
SERVER = f"""#!{sys.executable}
import http.server, os

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readiness" else 404)
        self.end_headers()

http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

API_ACME = """
[project.scripts]
api-serve = "api:main"

[tool.acme]
kind = "service"

[tool.acme.service]
script = "api-serve"
"""


FAILING_SERVER = "#!/bin/sh\necho 'config missing' >&2\nexit 3\n"


def make_service(repo: Repo) -> None:
    """api declares a console script; web builds with hatchling, like the monorepo's packages,
    so ci and publish also run a backend that uv installs into an isolated build environment.
    """
    text = (repo.root / "services/api/pyproject.toml").read_text()
    head = text.split("\n[tool.acme]")[0]
    repo.write("services/api/pyproject.toml", head + API_ACME)
    repo.write("services/web/pyproject.toml", package_manifest("web", backend=HATCHLING))
    repo.commit("api is a service, web builds with hatchling")


def serve_with(bin_dir: Path, script: str, patch: pytest.MonkeyPatch) -> None:
    """Put `script` on PATH as api-serve, the stand-in for api's console script."""
    bin_dir.mkdir()
    (bin_dir / "api-serve").write_text(script)
    (bin_dir / "api-serve").chmod(0o755)
    patch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def cd(repo: Repo, *args: str) -> int:
    return main(["-C", str(repo.root), "cd", "--runner", "native", "--jobs", "2", *args])


@dataclass(frozen=True)
class Release:
    code: int
    out: str
    root: Path


@pytest.fixture(scope="module")
def released(
    repo_template: Path, bytecode_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Release:
    """One cold `cd --version 2.1.0` on a fresh service workspace, shared by this module.

    Tests read its exit code, output and workspace, or continue from a copy: never modify
    `root`.
    """
    tmp = tmp_path_factory.mktemp("released")
    repo = copy_workspace(repo_template, tmp / "ws", bytecode_cache)
    make_service(repo)
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        serve_with(tmp / "bin", SERVER, patch)
        code = cd(repo, "--version", "2.1.0")
    return Release(code, out.getvalue(), repo.root)


def test_cd_publishes_versioned_wheels_and_smoke_tests_services(released: Release) -> None:
    assert released.code == 0, released.out
    out = released.out
    for phase in ("ci", "publish", "maintenance", "deploy-smoke"):
        assert f"== {phase}: passed" in out
    assert "skipped: no acme-maintenance package" in out
    assert "api: ready" in out

    release = released.root / "dist/release/2.1.0"
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["version"] == "2.1.0"
    assert {a["name"] for a in manifest["artifacts"]} == {"api", "core", "util", "web"}
    for artifact in manifest["artifacts"]:
        wheel = release / artifact["file"]
        assert artifact["file"].startswith(f"{artifact['name']}-2.1.0-")
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == artifact["sha256"]
    with zipfile.ZipFile(release / "api-2.1.0-py3-none-any.whl") as wheel:
        metadata = wheel.read("api-2.1.0.dist-info/METADATA").decode()
    assert "Requires-Dist: util==2.1.0" in metadata  # a release pins its own libraries
    # The working tree is untouched: the version lives only in the artifacts.
    assert 'version = "0.1.0"' in (released.root / "libs/core/pyproject.toml").read_text()


def test_a_failing_phase_stops_cd_and_is_named(
    released: Release,
    bytecode_cache: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # From a copy of the shared release: its cache makes the ci phase a quick pass.
    service_repo = copy_workspace(released.root, tmp_path / "ws", bytecode_cache)
    serve_with(tmp_path / "bin", FAILING_SERVER, monkeypatch)
    assert cd(service_repo, "--version", "2.1.1") == 1
    out = capsys.readouterr().out
    assert "api: FAILED" in out
    assert "exited with code 3 before it was ready" in out
    assert "config missing" in out
    assert "cd failed in phase deploy-smoke" in out
    # The reason is repeated last, where a cut log's tail still holds it.
    assert "config missing" in out.split("cd failed in phase deploy-smoke")[1]

    service_repo.write("libs/core/tests/test_bad.py", "def test_bad() -> None:\n    assert False\n")
    assert cd(service_repo, "--version", "2.1.2") == 1
    out = capsys.readouterr().out
    assert "cd failed in phase ci" in out
    assert "1 step(s) failed" in out.split("cd failed in phase ci")[1]
    assert "publish       not run" in out
    assert not (service_repo.root / "dist/release/2.1.2").exists()


def test_a_bad_version_is_a_usage_error(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert cd(repo, "--version", "latest") == 2
    assert "not a PEP 440 release version" in capsys.readouterr().err


def test_maintenance_covers_what_is_configured() -> None:
    assert maintenance_subsystems({})[0] == ("db",)
    assert "kafka (KAFKA_BOOTSTRAP_SERVERS not set)" in maintenance_subsystems({})[1]
    env = {
        "S3_BUCKET": "b",
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    }
    assert maintenance_subsystems(env) == (("db", "s3", "kafka"), "maintaining db, s3, kafka")
