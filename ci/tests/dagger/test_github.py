"""dagger.json and the GitHub workflows: pinned to the same Dagger release, valid, complete."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; types-PyYAML is not a dependency

from acme_ci.core.remote_cache import scope_policy
from acme_ci.dagger.main import AcmeCi

from ..conftest import Repo, git, repository_file

ROOT = Path(__file__).resolve().parents[3]
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
    assert step["with"]["args"].startswith("ci ${{ steps.base.outputs.args }} ")


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


# ---------------------------------------------------------------- the remote step cache


def cache_step() -> dict[str, Any]:
    steps: list[dict[str, Any]] = workflow("ci.yml")["jobs"]["ci"]["steps"]
    (step,) = [s for s in steps if s.get("id") == "cache"]
    return step


def cache_outputs(tmp_path: Path, **env: str) -> dict[str, str]:
    """What the workflow's cache step outputs, run by bash with these variables."""
    output = tmp_path / "github-output"
    output.write_text("", encoding="utf-8")
    defaults = {
        "CACHE_URL_SET": "true",
        "KEYS_SET": "true",
        "SIGNING_KEY_SET": "true",
        "ENDPOINT_URL": "",
        "REGION": "",
        "EVENT": "push",
        "SCOPE": "main",
        "DEFAULT_SCOPE": "main",
        "FORK": "",
    }
    variables = {**os.environ, **defaults, **env, "GITHUB_OUTPUT": str(output)}
    subprocess.run(
        ["bash", "-e", "-c", cache_step()["run"]], cwd=tmp_path, env=variables, check=True
    )
    lines = output.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines)


def flags(args: str) -> dict[str, str]:
    """`--name=value` and `--name` (true) as a dict."""
    found: dict[str, str] = {}
    for word in args.split():
        name, _, value = word.removeprefix("--").partition("=")
        found[name] = value or "true"
    return found


def policy_of(outputs: dict[str, str]) -> tuple[tuple[str, ...], str | None]:
    """The scopes `dagger call ci` reads and writes with these flags (the core decides)."""
    given = flags(outputs["args"])
    policy = scope_policy(
        given["cache-scope"],
        given["cache-default-scope"],
        pull_request="cache-pull-request" in given,
        read_only="cache-read-only" in given,
    )
    return policy.read, policy.write


def test_the_cache_step_sees_whether_secrets_are_set_never_their_values() -> None:
    step = cache_step()
    for name, value in step["env"].items():
        if "secrets." in value:
            assert re.fullmatch(r"\$\{\{ secrets\.[A-Z_]+ != '' \}\}", value), name
    assert step["env"]["SCOPE"] == "${{ github.head_ref || github.ref_name }}"
    assert step["env"]["FORK"] == "${{ github.event.pull_request.head.repo.fork }}"


def test_a_push_to_main_reads_and_writes_mains_scope_with_secrets_by_reference(
    tmp_path: Path,
) -> None:
    outputs = cache_outputs(tmp_path)
    assert outputs["enabled"] == "true"
    assert policy_of(outputs) == (("main",), "main")
    given = flags(outputs["args"])
    assert given["aws-access-key-id"] == "env:ACME_CACHE_AWS_ACCESS_KEY_ID"
    assert given["aws-secret-access-key"] == "env:ACME_CACHE_AWS_SECRET_ACCESS_KEY"
    assert given["cache-signing-key"] == "env:ACME_CACHE_SIGNING_KEY"
    (dagger,) = dagger_steps(workflow("ci.yml")["jobs"]["ci"])
    for value in given.values():
        if value.startswith("env:"):
            name = value.removeprefix("env:")
            assert dagger["env"][name] == f"${{{{ secrets.{name} }}}}"


def test_a_pull_request_writes_its_branchs_scope_and_reads_main_after_it(tmp_path: Path) -> None:
    outputs = cache_outputs(tmp_path, EVENT="pull_request", SCOPE="feature/login")
    assert policy_of(outputs) == (("feature/login", "main"), "feature/login")


def test_nothing_a_pull_request_computes_is_written_to_mains_scope(tmp_path: Path) -> None:
    # A fork's branch may be called main: it only reads.
    fork = cache_outputs(tmp_path, EVENT="pull_request", SCOPE="main", FORK="true")
    assert policy_of(fork) == (("main",), None)
    forked_feature = cache_outputs(tmp_path, EVENT="pull_request", SCOPE="x", FORK="true")
    assert policy_of(forked_feature) == (("x", "main"), None)
    # A pull request from main into another branch runs on a merge not on main: reads only.
    same_repo = cache_outputs(tmp_path, EVENT="pull_request", SCOPE="main")
    assert policy_of(same_repo) == (("main",), None)


def test_without_a_cache_url_or_with_an_unsafe_branch_name_there_is_no_cache(
    tmp_path: Path,
) -> None:
    assert cache_outputs(tmp_path, CACHE_URL_SET="false") == {"enabled": "false"}
    # A branch name is the author's text; it would reach a command line.
    hostile = cache_outputs(tmp_path, EVENT="pull_request", SCOPE="x$(touch pwned)", FORK="true")
    assert hostile == {"enabled": "false"}
    assert not (tmp_path / "pwned").exists()


def test_the_dagger_step_passes_the_url_only_when_the_cache_step_enables_it() -> None:
    (step,) = dagger_steps(workflow("ci.yml")["jobs"]["ci"])
    args = step["with"]["args"]
    assert "steps.cache.outputs.enabled == 'true'" in args
    assert "format('--cache-url={0} {1}', secrets.ACME_CACHE_URL, steps.cache.outputs.args)" in args
    assert re.findall(r"secrets\.\w+", args) == ["secrets.ACME_CACHE_URL"]


def test_every_cache_flag_the_workflow_passes_is_an_argument_of_ci(tmp_path: Path) -> None:
    outputs = cache_outputs(
        tmp_path,
        EVENT="pull_request",
        SCOPE="f",
        FORK="true",
        ENDPOINT_URL="https://s3.x",
        REGION="eu-west-1",
    )
    passed = {*flags(outputs["args"]), "cache-url"}
    assert {"cache-endpoint-url", "cache-region", "cache-read-only"} <= passed
    arguments = {n.replace("_", "-") for n in inspect.signature(AcmeCi.ci).parameters}
    assert passed <= arguments
