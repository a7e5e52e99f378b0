"""`acme-ci plan`, `acme-ci test` and the runner's choice on a generated workspace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from acme_ci.native.cli import main
from acme_ci.native.runner_choice import RunnerUnavailableError, choose_runner

from ..conftest import Repo, git


def test_plan_formats_say_what_would_run_and_why(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("libs/util/src/util/extra.py", "X = 1\n")
    repo.write("docs.md", "notes\n")
    assert main(["-C", str(repo.root), "plan", "--base", "HEAD", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["selection"]["packages"] == {
        "api": ["depends on util"],
        "util": ["changed: libs/util/src/util/extra.py"],
    }
    assert data["selection"]["ignored_files"] == ["docs.md"]
    assert [s["id"] for s in data["steps"]][:3] == ["util:lint", "util:test", "util:build"]

    assert main(["-C", str(repo.root), "plan", "--base", "HEAD"]) == 0
    text = capsys.readouterr().out
    assert "util: changed: libs/util/src/util/extra.py" in text
    assert "api:build  needs api:lint, api:test, util:test" in text

    assert main(["-C", str(repo.root), "plan", "--package", "core", "--format", "mermaid"]) == 0
    mermaid = capsys.readouterr().out
    assert mermaid.startswith("flowchart LR")
    assert mermaid.count("-->") == 2
    assert not (repo.root / ".acme").exists()  # planning runs nothing


def test_a_workspace_below_the_repositorys_top_selects_what_changed_in_it(
    repo: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top = tmp_path / "top"
    ignore = shutil.ignore_patterns(".git")
    shutil.copytree(repo.root, top / "ws", symlinks=True, ignore=ignore)
    (top / "outside.txt").write_text("outside the workspace\n")
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "a workspace in ws/")
    (top / "ws/libs/util/src/util/extra.py").write_text("X = 1\n")
    (top / "outside.txt").write_text("changed, outside the workspace\n")
    assert main(["-C", str(top / "ws"), "plan", "--base", "HEAD", "--format", "json"]) == 0
    selection = json.loads(capsys.readouterr().out)["selection"]
    assert selection["packages"] == {
        "api": ["depends on util"],
        "util": ["changed: libs/util/src/util/extra.py"],
    }
    assert selection["ignored_files"] == []


def test_test_command_runs_every_package_and_totals_like_pytest(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-C", str(repo.root), "test", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "== 4 passed, 0 failed across 4 packages" in out
    assert not (repo.root / ".acme/cache").exists()  # `test` never reads or fills the cache

    repo.write("services/api/tests/test_bad.py", "def test_bad() -> None:\n    assert False\n")
    assert main(["-C", str(repo.root), "test", "--jobs", "2"]) == 1
    out = capsys.readouterr().out
    assert "== 4 passed, 1 failed across 4 packages" in out
    assert "packages failed: api" in out


def test_a_package_without_tests_fails_the_test_command(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo.root / "libs/core/tests/test_basic.py").unlink()
    assert main(["-C", str(repo.root), "test"]) == 1
    assert "core: pytest collected no tests" in capsys.readouterr().out


def test_runner_dagger_without_a_dagger_cli_fails_fast(
    repo: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dagger, no docker
    assert main(["-C", str(repo.root), "ci", "--runner", "dagger"]) == 2
    assert "--runner dagger: no `dagger` CLI on PATH" in capsys.readouterr().err
    choice = choose_runner("auto", env={})
    assert (choice.name, choice.why) == ("native", "auto: no `dagger` CLI on PATH")
    with pytest.raises(RunnerUnavailableError, match="no --package"):
        choose_runner("dagger", unsupported="the Dagger module has no --package selection")


def test_the_old_engine_flag_still_chooses_the_runner_with_a_deprecation_warning(
    repo: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Scripts written for `--engine` keep working (test_cli_parser: the same choice)."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no dagger, no docker
    assert main(["-C", str(repo.root), "ci", "--engine", "dagger"]) == 2
    err = capsys.readouterr().err
    assert "warning: --engine is deprecated, use --runner" in err
    assert "--runner dagger: no `dagger` CLI on PATH" in err


def test_runner_dagger_with_a_cli_but_no_dagger_engine_fails_fast(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "dagger"
    fake.write_text("#!/bin/sh\necho 'cannot connect to the engine' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    env = {"_EXPERIMENTAL_DAGGER_RUNNER_HOST": "unix:///nonexistent"}
    with pytest.raises(RunnerUnavailableError, match="cannot connect to the engine"):
        choose_runner("dagger", env=env)
    assert choose_runner("auto", env=env).name == "native"


def test_the_console_script_flushes_everything_and_keeps_the_exit_code(repo: Repo) -> None:
    """`acme-ci` (cli.entry) ends the process without the interpreter's teardown: what it
    printed still arrives whole through a pipe, and main's code is the process's."""
    entry = [sys.executable, "-c", "from acme_ci.native.cli import entry; entry()"]
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run(
        [*entry, "-C", str(repo.root), "plan", "--all", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env=buffered,  # stdout to a pipe is block-buffered: only a flush sends it
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["steps"]) == 12  # the whole document, parsed
    bad = subprocess.run(
        [*entry, "-C", str(repo.root), "plan", "--package", "nope"],
        capture_output=True,
        text=True,
        check=False,
        env=buffered,
    )
    assert bad.returncode == 2
    assert "nope" in bad.stderr
    assert "Traceback" not in bad.stderr
