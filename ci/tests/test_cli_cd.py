"""`acme-ci cd`: phases in order, versioned wheels with a manifest, services started for real."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
from pathlib import Path

import pytest
from acme_ci.cli import main
from acme_ci.commands.cd import maintenance_subsystems

from .conftest import Repo

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


@pytest.fixture
def service_repo(repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """The api package declares a console script; a stand-in for it is put on PATH."""
    text = (repo.root / "services/api/pyproject.toml").read_text()
    head = text.split("\n[tool.acme]")[0]
    repo.write("services/api/pyproject.toml", head + API_ACME)
    repo.commit("api is a service")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "api-serve").write_text(SERVER)
    (bin_dir / "api-serve").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return repo


def cd(repo: Repo, *args: str) -> int:
    return main(["-C", str(repo.root), "cd", "--engine", "native", "--jobs", "2", *args])


def test_cd_publishes_versioned_wheels_and_smoke_tests_services(
    service_repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cd(service_repo, "--version", "2.1.0") == 0
    out = capsys.readouterr().out
    for phase in ("ci", "publish", "maintenance", "deploy-smoke"):
        assert f"== {phase}: passed" in out
    assert "skipped: no acme-maintenance package" in out
    assert "api: ready" in out

    release = service_repo.root / "dist/release/2.1.0"
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
    assert 'version = "0.1.0"' in (service_repo.root / "libs/core/pyproject.toml").read_text()


def test_a_failing_phase_stops_cd_and_is_named(
    service_repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "bin/api-serve").write_text("#!/bin/sh\necho 'config missing' >&2\nexit 3\n")
    assert cd(service_repo, "--version", "2.1.1") == 1
    out = capsys.readouterr().out
    assert "api: FAILED" in out
    assert "exited with code 3 before it was ready" in out
    assert "config missing" in out
    assert "cd failed in phase deploy-smoke" in out

    service_repo.write("libs/core/tests/test_bad.py", "def test_bad() -> None:\n    assert False\n")
    assert cd(service_repo, "--version", "2.1.2") == 1
    out = capsys.readouterr().out
    assert "cd failed in phase ci" in out
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
