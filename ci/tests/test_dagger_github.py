"""dagger.json and the GitHub workflows: pinned to the same Dagger release, valid, complete."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; types-PyYAML is not a dependency

from .conftest import Repo, git, repository_file

ROOT = Path(__file__).resolve().parents[2]
# At least ci.yml: when .github/ is absent, its test says so rather than vanishing.
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml")) or [
    ROOT / ".github" / "workflows" / "ci.yml"
]


def locked_dagger_version() -> str:
    lock = tomllib.loads(repository_file("uv.lock").read_text(encoding="utf-8"))
    (version,) = [p["version"] for p in lock["package"] if p["name"] == "dagger-io"]
    return str(version)


def workflow(name: str) -> dict[Any, Any]:
    path = repository_file(f".github/workflows/{name}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).startswith(f"{action}@")


def dagger_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for s in job["steps"] if str(s.get("uses", "")).startswith("dagger/dagger-for-github@")
    ]


def test_dagger_json_declares_the_module_on_the_locked_engine() -> None:
    data = json.loads(repository_file("dagger.json").read_text(encoding="utf-8"))
    assert data == {
        "name": "acme-ci",
        "engineVersion": f"v{locked_dagger_version()}",
        "sdk": {"source": "python"},
        "source": "ci",
    }


def test_the_module_project_leaves_the_sdk_to_the_engine() -> None:
    """The runtime installs its vendored SDK (version 0.0.0): no pin, no path, no ci/uv.lock."""
    project = tomllib.loads((ROOT / "ci" / "pyproject.toml").read_text(encoding="utf-8"))
    assert "dagger-io" in project["project"]["dependencies"]
    assert "dagger-io" not in project.get("tool", {}).get("uv", {}).get("sources", {})
    entry = project["project"]["entry-points"]["dagger.mod"]["main_object"]
    assert entry == "acme_ci.dagger.main:AcmeCi"
    assert not (ROOT / "ci" / "uv.lock").exists()


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_matches_the_github_schema(path: Path) -> None:
    repository_file(path.relative_to(ROOT).as_posix())
    checker = Path(sys.executable).parent / "check-jsonschema"
    binary = str(checker) if checker.exists() else shutil.which("check-jsonschema")
    if binary is None:
        pytest.skip("check-jsonschema is not installed (it is in the root dev group)")
    done = subprocess.run(
        [binary, "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    if not checker.exists():
        pytest.skip("check-jsonschema is not installed")
    broken = tmp_path / "broken.yml"
    broken.write_text(
        repository_file(".github/workflows/ci.yml").read_text().replace("runs-on:", "run-on:"),
        encoding="utf-8",
    )
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1


def test_ci_runs_dagger_call_ci_with_full_history_on_prs_and_main() -> None:
    data = workflow("ci.yml")
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    triggers = data[True]
    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]
    job = data["jobs"]["ci"]
    checkout = next(
        s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")
    )
    assert checkout["with"]["fetch-depth"] == 0
    (step,) = dagger_steps(job)
    assert step["with"]["verb"] == "call"
    assert step["with"]["args"] == "ci ${{ steps.base.outputs.args }}"


def base_args(repo: Repo, event: str, base_ref: str = "", before: str = "") -> str:
    """What the workflow's base step selects, run by bash in a real repository."""
    (step,) = [s for s in workflow("ci.yml")["jobs"]["ci"]["steps"] if s.get("id") == "base"]
    assert step["env"] == {
        "EVENT": "${{ github.event_name }}",
        "BASE_REF": "${{ github.base_ref }}",
        "BEFORE": "${{ github.event.before }}",
    }
    output = repo.root / "github-output"
    output.write_text("", encoding="utf-8")
    env = {
        **os.environ,
        "EVENT": event,
        "BASE_REF": base_ref,
        "BEFORE": before,
        "GITHUB_OUTPUT": str(output),
    }
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo.root, env=env, check=True)
    (line,) = output.read_text(encoding="utf-8").splitlines()
    return line.removeprefix("args=")


def test_a_pull_request_is_compared_with_its_target_branch(repo: Repo) -> None:
    assert base_args(repo, "pull_request", base_ref="release/2.x") == "--base origin/release/2.x"
    assert base_args(repo, "pull_request", base_ref="main") == "--base origin/main"


def test_a_push_is_compared_with_the_commit_it_replaced(repo: Repo) -> None:
    before = git(repo.root, "rev-parse", "HEAD").strip()
    repo.write("libs/core/src/core/extra.py", "X = 1\n")
    repo.commit("core changed")
    assert base_args(repo, "push", before=before) == f"--base {before}"


def test_a_first_push_or_a_force_push_selects_everything(repo: Repo) -> None:
    # A branch's first push: `before` is all zeros.
    assert base_args(repo, "push", before="0" * 40) == "--all"
    # After a force push `before` is a commit the checkout does not have.
    assert base_args(repo, "push", before="1234567" + "0" * 33) == "--all"
    assert base_args(repo, "push", before="") == "--all"


def test_checkouts_keep_no_token_for_the_engine_to_upload() -> None:
    """The module's source is the checkout with .git (DefaultPath("/")): a persisted token
    would travel into the engine with it."""
    for name, job in workflow("ci.yml")["jobs"].items():
        checkouts = [s for s in job["steps"] if uses(s, "actions/checkout")]
        assert checkouts, name
        for checkout in checkouts:
            assert checkout["with"]["persist-credentials"] is False, name


def test_every_dagger_step_pins_a_released_action_and_the_locked_cli() -> None:
    data = workflow("ci.yml")
    steps = [s for job in data["jobs"].values() for s in dagger_steps(job)]
    assert len(steps) == 2
    for step in steps:
        tag = step["uses"].split("@", 1)[1]
        assert tag.startswith("v"), tag
        assert all(part.isdigit() for part in tag[1:].split(".")), tag
        assert step["with"]["version"] == locked_dagger_version()


def test_cd_runs_on_main_only_with_the_commit_as_version_and_secrets_by_reference() -> None:
    job = workflow("ci.yml")["jobs"]["cd"]
    assert "refs/heads/main" in job["if"]
    assert job["needs"] == "ci"
    (step,) = dagger_steps(job)
    function, *options = step["with"]["args"].split(" --")
    assert function == "cd"
    values = dict(option.split("=", 1) for option in options)
    assert values["version"] == "${{ github.sha }}"
    secret_args = {name: value for name, value in values.items() if value.startswith("env:")}
    assert set(secret_args) == {
        "password",
        "kubeconfig",
        "database-url",
        "aws-access-key-id",
        "aws-secret-access-key",
    }
    for value in secret_args.values():
        variable = value.removeprefix("env:")
        assert step["env"][variable].startswith("${{ secrets."), variable
    assert "secrets." not in step["with"]["args"]
