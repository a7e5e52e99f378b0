"""dagger.json and the GitHub workflows: pinned to the same Dagger release, valid, complete,
audited by zizmor in acme-ci's lint step. What the workflow's scripts do when they run:
test_workflow_scripts.py."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; types-PyYAML is not a dependency
from dagger.client._core import Context

from acme_ci.core.affected import select_all
from acme_ci.core.plan import Step, make_plan
from acme_ci.dagger.main import AcmeCi
from acme_ci.dagger.remote_cache import step_inputs
from acme_ci.native.discover import load_workspace
from acme_ci.rehearsal.converter import one_converter

from ..conftest import repository_file
from .test_pipeline import FakeEngine, args_of, execs, in_src, module

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
    assert step["with"]["args"].startswith("ci ")


def test_checkouts_keep_no_token_for_the_engine_to_upload() -> None:
    """The module's source is the checkout with .git (DefaultPath("/")): a persisted token
    would travel into the engine with it."""
    for name, job in workflow("ci.yml")["jobs"].items():
        checkouts = [s for s in job["steps"] if uses(s, "actions/checkout")]
        assert checkouts, name
        for checkout in checkouts:
            assert checkout["with"]["persist-credentials"] is False, name


# `uses: owner/repo@ref # comment`, as written (PyYAML drops the comment).
USES_LINE = re.compile(r"^[\s-]*uses:\s*(\S+)(.*)$", re.MULTILINE)


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_action_is_pinned_to_a_commit_with_its_tag_beside_it(path: Path) -> None:
    """A tag can be moved to other code; a commit cannot. The tag says which release."""
    text = repository_file(path.relative_to(ROOT).as_posix()).read_text(encoding="utf-8")
    written = USES_LINE.findall(text)
    data = yaml.safe_load(text)
    used = [s["uses"] for job in data["jobs"].values() for s in job["steps"] if "uses" in s]
    assert [ref for ref, _ in written] == used
    for ref, comment in written:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r"\s+# v\d+(\.\d+)*", comment), (ref, comment)


def test_every_dagger_step_runs_the_locked_cli() -> None:
    data = workflow("ci.yml")
    steps = [s for job in data["jobs"].values() for s in dagger_steps(job)]
    assert len(steps) == 4  # plan, ci (each shard), verdict, cd
    for step in steps:
        assert step["with"]["version"] == locked_dagger_version()


def test_dagger_args_are_fixed_text_with_values_as_quoted_variables() -> None:
    """The action pastes `args` into bash twice (inside single quotes, then bare): an
    expression there would be code, a single quote would end the first quoting."""
    for job in workflow("ci.yml")["jobs"].values():
        (step,) = dagger_steps(job)
        args = step["with"]["args"]
        assert "${{" not in args
        assert "'" not in args
        variables = re.findall(r"\$\{?(\w+)", args)
        assert variables
        for name in variables:
            assert name in step["env"], name
        # A value is a whole double-quoted "$NAME" (one word); a secret is env:NAME.
        bare = re.sub(r'"\$\w+"|\$\{\w+:\+|env:\w+', "", args)
        assert "$" not in bare, bare


def test_cd_runs_on_main_only_after_ci_with_secrets_by_reference() -> None:
    job = workflow("ci.yml")["jobs"]["cd"]
    assert "refs/heads/main" in job["if"]
    # After the verdict: every shard passed (cd's own ci then finds their entries).
    assert job["needs"] == "verdict"
    (step,) = dagger_steps(job)
    args = step["with"]["args"]
    assert args.startswith("cd ")
    assert '--version="$ACME_VERSION"' in args
    assert step["env"]["ACME_VERSION"] == "${{ github.sha }}"
    secret_flags = dict(re.findall(r"--([a-z-]+)=env:(\w+)", args))
    assert {"password", "kubeconfig", "database-url", "aws-access-key-id"} <= set(secret_flags)
    for variable in secret_flags.values():
        assert re.fullmatch(r"\$\{\{ secrets\.\w+ \}\}", step["env"][variable]), variable


@pytest.mark.parametrize("function", ["plan", "ci", "verdict", "cd"])
def test_every_flag_a_job_passes_is_an_argument_of_its_function(function: str) -> None:
    (step,) = dagger_steps(workflow("ci.yml")["jobs"][function])
    passed = set(re.findall(r"--([a-z][a-z0-9-]*)=", step["with"]["args"]))
    # Dagger drops a Python name's trailing underscore (all_ is --all).
    parameters = inspect.signature(getattr(AcmeCi, function)).parameters
    arguments = {name.rstrip("_").replace("_", "-") for name in parameters}
    assert passed
    # --output is `dagger call`'s own: the result saved to a file.
    assert passed - {"output"} <= arguments, passed - arguments


def test_the_verdict_job_judges_every_shard_and_is_what_cd_waits_for() -> None:
    """The plan job's matrix makes the ci jobs; every shard runs to its end; the verdict
    runs whatever they did (a cancelled or failed shard is its failure, named)."""
    jobs = workflow("ci.yml")["jobs"]
    assert set(jobs) == {"plan", "ci", "verdict", "cd"}
    assert jobs["ci"]["needs"] == "plan"
    assert jobs["ci"]["strategy"] == {
        "fail-fast": False,
        "matrix": "${{ fromJSON(needs.plan.outputs.matrix) }}",
    }
    assert jobs["plan"]["outputs"]["matrix"] == "${{ steps.matrix.outputs.matrix }}"
    assert jobs["verdict"]["needs"] == ["plan", "ci"]
    assert jobs["verdict"]["if"] == "always()"
    assert jobs["cd"]["needs"] == "verdict"
    (verdict,) = dagger_steps(jobs["verdict"])
    assert verdict["with"]["args"].startswith("verdict ")


def test_the_shards_and_the_verdict_read_the_plan_jobs_shard_plan() -> None:
    """One file, from the plan job's artifact, outside the checkout (an untracked file in
    it would change what the shards select)."""
    jobs = workflow("ci.yml")["jobs"]
    (upload,) = [s for s in jobs["plan"]["steps"] if uses(s, "actions/upload-artifact")]
    (plan,) = dagger_steps(jobs["plan"])
    path = plan["env"]["ACME_SHARD_PLAN"]
    assert path.startswith("${{ runner.temp }}/")
    assert upload["with"]["path"] == path
    for job in ("ci", "verdict"):
        (download,) = [s for s in jobs[job]["steps"] if uses(s, "actions/download-artifact")]
        assert download["with"]["name"] == upload["with"]["name"]
        (step,) = dagger_steps(jobs[job])
        assert f"{download['with']['path']}/shard-plan.json" == step["env"]["ACME_SHARD_PLAN"]
        assert '--shard-plan="$ACME_SHARD_PLAN"' in step["with"]["args"]


# ---------------------------------------------------------------- zizmor, in acme-ci's lint


def module_lint() -> Step:
    """acme-ci's lint step, as the plan makes it for this repository."""
    ws = load_workspace(ROOT)
    (tool,) = [p for p in ws.packages if p.path == "ci"]
    return make_plan(ws, select_all(ws)).get(f"{tool.name}:lint")


def zizmor_command() -> tuple[str, ...]:
    (command,) = [c for c in module_lint().commands if c[0] == "zizmor"]
    binary = Path(sys.executable).parent / "zizmor"
    if not binary.exists():
        pytest.skip("zizmor is not installed (it is in the root dev group)")
    return (str(binary), *command[1:])


def test_acme_cis_lint_audits_the_workflows_and_is_keyed_on_them() -> None:
    lint = module_lint()
    assert ".github/workflows" in lint.inputs
    (command,) = [c for c in lint.commands if c[0] == "zizmor"]
    assert "--offline" in command
    assert (ROOT / lint.workdir / command[-1]).resolve() == ROOT / ".github" / "workflows"


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    repository_file(".github/workflows/ci.yml")
    done = subprocess.run(
        zizmor_command(), cwd=ROOT / "ci", capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_fails_the_lint_on_an_action_pinned_by_tag(tmp_path: Path) -> None:
    pinned = repository_file(".github/workflows/ci.yml").read_text(encoding="utf-8")
    unpinned, count = re.subn(r"(actions/checkout)@[0-9a-f]{40}", r"\1@v4", pinned)
    assert count
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(unpinned, encoding="utf-8")
    (tmp_path / "ci").mkdir()
    done = subprocess.run(
        zizmor_command(), cwd=tmp_path / "ci", capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "unpinned-uses" in done.stdout


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    """test_pipeline's offline engine, answering the module's queries here."""
    fake = FakeEngine()

    async def execute(ctx: Context, return_type: Any = None) -> Any:
        return await fake.execute(ctx, return_type)

    monkeypatch.setattr(Context, "execute", execute)
    with one_converter():
        yield fake


@pytest.mark.anyio
async def test_each_lint_container_gets_exactly_the_directories_its_key_names(
    engine: FakeEngine,
) -> None:
    """acme-ci's lint reads the workflows: its container gets them, and its remote cache key
    hashes them; no other lint gets them."""
    ws = load_workspace(ROOT)
    await module().ci(all_=True, jobs=2)
    plan = make_plan(ws, select_all(ws))
    # Each command of a step is a run of its container: one per lint's workdir is enough.
    lints = {
        args_of(q, "withWorkdir")[-1]["path"]: q
        for q in engine.step_runs()
        if ["ruff", "check", "."] in execs(q)
    }
    assert set(lints) == {in_src(p.path) for p in ws.packages}
    for workdir, run in lints.items():
        (package,) = [p for p in ws.packages if in_src(p.path) == workdir]
        keyed = step_inputs(ws, plan.get(f"{package.name}:lint"), "ci", ())
        received = {a["path"] for a in args_of(run, "withDirectory")}
        assert received == {in_src(d) for d in keyed.directories}, package.name
        assert (in_src(".github/workflows") in received) == (package.path == "ci")
