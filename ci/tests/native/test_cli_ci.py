"""`acme-ci ci` end to end on a generated uv workspace in a real git repository."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from acme_ci.native.cli import main

from ..conftest import Repo, git

FLAKY = """\
import os
import pathlib

import pytest


@pytest.mark.flaky(reruns=2)
def test_sometimes() -> None:
    counter = pathlib.Path(os.environ["FLAKE_COUNTER"])
    attempt = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(attempt + 1))
    assert attempt >= 1, "fails on the first attempt only"
"""

BROKEN = """\
import pytest


@pytest.mark.flaky(reruns=1)
def test_always_broken() -> None:
    assert 1 == 2, "a real bug"
"""


# A util test that depends on core's code (read from its tree: the generated packages are
# not installed in the shared venv).
READS_CORE = """\
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core" / "src" / "core" / "__init__.py"


def test_core_value() -> None:
    assert "VALUE = 1" in CORE.read_text()
"""


def ci(repo: Repo, *args: str) -> int:
    return main(["-C", str(repo.root), "ci", "--runner", "native", "--jobs", "2", *args])


def statuses(report: Path) -> dict[str, str]:
    data = json.loads(report.read_text())
    return {step["id"]: step["status"] for step in data["steps"]}


def test_cold_then_warm_then_one_service_then_one_library(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    assert ci(repo, "--report", str(report)) == 0
    assert set(statuses(report).values()) == {"passed"}
    assert len(statuses(report)) == 12
    assert (repo.root / "dist/core").is_dir()
    out = capsys.readouterr().out
    assert "Critical path" in out
    assert "Expected critical path: - (no recorded durations yet)" in out
    assert "no --base given" in out
    durations = json.loads((repo.root / ".acme/durations.json").read_text())
    assert set(durations) == set(statuses(report))

    assert ci(repo, "--report", str(report)) == 0  # nothing changed: everything cached
    assert set(statuses(report).values()) == {"cached"}
    out = capsys.readouterr().out
    assert "12 cached" in out
    expected = json.loads(report.read_text())["expected_critical_path"]
    recorded = json.loads((repo.root / ".acme/durations.json").read_text())
    assert set(expected["steps"]) <= set(recorded)  # a chain of steps the first run timed
    assert expected["duration"] >= max(recorded[s] for s in expected["steps"]) > 0
    assert f"Expected critical path ({expected['duration']:.1f}s)" in out
    # The warm path starts no event loop and parses nothing (not even the manifests: the
    # TOML memo answers): those imports are its cost.
    script = (
        "import sys\nfrom acme_ci.native.cli import main\n"
        "code = main(['-C', sys.argv[1], 'ci', '--runner', 'native'])\n"
        "heavy = ('anyio', 'asyncio', 'tarfile', 'xml.etree.ElementTree', 'boto3', 'tomllib',\n"
        "         'acme_ci.native.remote_cache')\n"
        "print('LOADED', [m for m in heavy if m in sys.modules], code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(repo.root)], capture_output=True, text=True, check=True
    )
    assert "12 cached" in done.stdout
    assert "LOADED [] 0" in done.stdout

    repo.write("services/web/src/web/__init__.py", '"""web."""\n\nVALUE = 2\n')
    assert ci(repo, "--base", "HEAD", "--report", str(report)) == 0
    assert statuses(report) == {"web:lint": "passed", "web:test": "passed", "web:build": "passed"}

    repo.commit("web")
    repo.write("libs/core/src/core/__init__.py", '"""core."""\n\nVALUE = 3\n')
    assert ci(repo, "--base", "HEAD", "--report", str(report)) == 0
    ran = statuses(report)
    assert {step.split(":")[0] for step in ran} == {"core", "util", "api"}
    # The dependents' lint and tests read core's code and run; their builds read only
    # their own trees, so they are served from the cache once their gates have passed.
    assert ran == {
        **{f"{p}:{t}": "passed" for p in ("core", "util", "api") for t in ("lint", "test")},
        "core:build": "passed",
        "util:build": "cached",
        "api:build": "cached",
    }
    data = json.loads(report.read_text())
    assert data["selection"]["packages"]["api"] == ["depends on core"]


def test_a_broken_test_fails_ci_names_the_test_and_blocks_only_dependents(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo.write("libs/util/tests/test_broken.py", BROKEN)
    report = tmp_path / "report.json"
    assert ci(repo, "--report", str(report)) == 1
    status = statuses(report)
    assert status["util:test"] == "failed"
    assert status["util:build"] == status["api:build"] == "blocked"
    assert status["web:build"] == status["core:build"] == status["api:test"] == "passed"
    out = capsys.readouterr().out
    assert "FAILED util:test" in out
    assert "test_broken::test_always_broken" in out
    assert "a real bug" in out  # the log tail
    step = next(s for s in json.loads(report.read_text())["steps"] if s["id"] == "util:test")
    assert step["attempts"] == 2
    assert Path(repo.root / step["log"]).is_file()

    assert ci(repo) == 1  # a failure is never cached


def test_a_cached_build_is_blocked_when_a_dependency_change_breaks_its_gate(
    repo: Repo, tmp_path: Path
) -> None:
    """The build's key leaves the dependency's code out, but its gates still run: a cache
    hit never passes a package whose tests a dependency change broke."""
    report = tmp_path / "report.json"
    repo.write("libs/util/tests/test_reads_core.py", READS_CORE)
    repo.commit("util reads core")
    assert ci(repo) == 0  # every build is now in the cache
    repo.write("libs/core/src/core/__init__.py", '"""core."""\n\nVALUE = 3\n')
    assert ci(repo, "--report", str(report)) == 1
    status = statuses(report)
    assert status["util:test"] == "failed"
    assert status["util:build"] == status["api:build"] == "blocked"
    assert status["web:build"] == "cached"


def test_a_flaky_test_passes_is_reported_and_recorded(
    repo: Repo,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLAKE_COUNTER", str(tmp_path / "counter"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    repo.write("services/web/tests/test_flaky.py", FLAKY)
    repo.commit("flaky")
    assert ci(repo, "--package", "web") == 0
    out = capsys.readouterr().out
    assert "Flaky tests (passed after a rerun): 1" in out
    assert "test_flaky::test_sometimes after 2 attempts" in out
    lines = (repo.root / ".acme/flakes.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    assert record["test"].endswith("test_flaky::test_sometimes")
    assert (record["package"], record["attempts"]) == ("web", 2)
    assert record["commit"] == git(repo.root, "rev-parse", "HEAD").strip()
    assert "test_sometimes" in (tmp_path / "summary.md").read_text()

    assert ci(repo, "--package", "web") == 0  # cached: the flake is not recorded twice
    assert len((repo.root / ".acme/flakes.jsonl").read_text().splitlines()) == 1


def test_a_corrupt_cache_entry_is_reported_and_recomputed(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert ci(repo, "--package", "core") == 0
    for entry in (repo.root / ".acme/cache").glob("*/*/entry.json"):
        entry.write_text(entry.read_text().replace('"duration"', '"duration" ', 1)[:-5])
    capsys.readouterr()
    report = tmp_path / "report.json"
    assert ci(repo, "--package", "core", "--report", str(report)) == 0
    assert set(statuses(report).values()) == {"passed"}
    out = capsys.readouterr().out
    assert out.count("entry discarded, step recomputed") == 3
    assert ci(repo, "--package", "core", "--report", str(report)) == 0
    assert set(statuses(report).values()) == {"cached"}


def test_bad_input_exits_2_with_a_clear_message(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert ci(repo, "--base", "no-such-ref") == 2
    assert "unknown base ref 'no-such-ref'" in capsys.readouterr().err
    assert ci(repo, "--package", "nope") == 2
    assert "unknown package(s): nope" in capsys.readouterr().err
    not_git = tmp_path / "plain"
    not_git.mkdir()
    (not_git / "pyproject.toml").write_text((repo.root / "pyproject.toml").read_text())
    (not_git / "libs").symlink_to(repo.root / "libs")
    assert main(["-C", str(not_git), "ci", "--runner", "native", "--base", "main"]) == 2
    assert "is not a git repository" in capsys.readouterr().err
    assert main(["-C", str(tmp_path), "plan"]) == 2
    assert "no uv workspace found" in capsys.readouterr().err
    assert not (repo.root / ".acme/cache").exists()  # nothing ran, nothing stored
