"""The workflow's own scripts and the pinned dagger action's, run by bash as the runner runs
them: what reaches the dagger CLI, and that nothing in a branch name runs.

dagger-for-github pastes its `args` input unquoted into bash twice (its assemble step inside
single quotes, its exec step bare), so the workflow keeps `args` fixed text and passes every
value through the step's env as a quoted "$VARIABLE". A stand-in `dagger` on PATH records the
argv it is given.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs

from acme_ci.core.affected import select_all
from acme_ci.core.plan import make_plan
from acme_ci.core.remote_cache import scope_policy
from acme_ci.core.shard_plan_format import github_matrix, shard_plan_json
from acme_ci.core.shards import History, make_shard_plan
from acme_ci.native.discover import load_workspace

from ..conftest import REPOSITORY, Repo, git, repository_file
from .github_runner import Runner

ACTION_FILE = Path(__file__).with_name("dagger_for_github_action.yml")
ACTION = "dagger/dagger-for-github"
# The action's first step downloads the CLI: the stand-in replaces it.
INSTALL_STEP = "0"
# Where the stand-in `dagger` records each argv it is given, beside itself.
ARGV_FILE = "argv.jsonl"

CACHE_SECRETS = {
    "ACME_CACHE_URL": "s3://bucket/ci",
    "ACME_CACHE_AWS_ACCESS_KEY_ID": "AKIA-test",
    "ACME_CACHE_AWS_SECRET_ACCESS_KEY": "secret-test",
    "ACME_CACHE_SIGNING_KEY": "signing-test",
}
CD_SECRETS = {
    "GITHUB_TOKEN": "ghs-test",
    "KUBECONFIG": "apiVersion: v1",
    "DATABASE_URL": "postgresql://db/acme",
    "AWS_ACCESS_KEY_ID": "AKIA-prod",
    "AWS_SECRET_ACCESS_KEY": "secret-prod",
}


# Branch names (and worse: git forbids some of these) that are code to a shell; MARKER stands
# for a file that must never be created.
MARKER = "{marker}"
HOSTILE_NAMES = [
    "$(touch {marker})",
    "`touch {marker}`",
    "x;touch {marker}",
    "x && touch {marker} #",
    "x\ntouch {marker}",
    "x'; touch {marker}; '",
    'x"; touch {marker}; "',
    "x\\'$(touch {marker})",
    "${HOME}",
    "--all",
    "-rf",
    ";rm -rf /",
    "a b  *",
    "it's",
    "x\\",
]


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    """A job's machine: bash and jq (the action's assemble step runs it), `dagger` a
    stand-in that records its argv."""
    for tool in ("bash", "jq"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (the workflow's and the action's scripts run it)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "dagger"
    stand_in.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"with open({str(bin_dir / ARGV_FILE)!r}, 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n",
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    workdir = tmp_path / "work"
    workdir.mkdir()
    path = f"{bin_dir}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
    return Runner(workdir=workdir, path=path)


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(repository_file(".github/workflows/ci.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow()["jobs"][job]["steps"]
    return found


def dagger_step(job: str) -> dict[str, Any]:
    (step,) = [s for s in steps(job) if str(s.get("uses", "")).startswith(f"{ACTION}@")]
    return step


RUN_ID = "9876"
RUN_ATTEMPT = "2"
RUNNER_TEMP = "/home/runner/work/_temp"
SHARD_PLAN = f"{RUNNER_TEMP}/shard-plan/shard-plan.json"


def github(
    event: str,
    *,
    base_ref: str = "",
    head_ref: str = "",
    ref_name: str = "main",
    before: str = "",
    fork: bool | None = None,
    secrets: dict[str, str] | None = None,
    variables: dict[str, str] | None = None,
    temp: str = RUNNER_TEMP,
) -> dict[str, Any]:
    """The expression context of one run (null where GitHub gives nothing)."""
    pull_request = None if fork is None else {"head": {"repo": {"fork": fork}}}
    return {
        "github": {
            "event_name": event,
            "base_ref": base_ref,
            "head_ref": head_ref,
            "ref_name": ref_name,
            "sha": "3f2a9c" + "0" * 34,
            "repository_owner": "ACME-Corp",
            "actor": "octocat",
            "run_id": RUN_ID,
            "run_attempt": RUN_ATTEMPT,
            "event": {
                "before": before,
                "repository": {"default_branch": "main"},
                "pull_request": pull_request,
            },
        },
        "secrets": secrets if secrets is not None else {},
        "vars": variables if variables is not None else {},
        "runner": {"temp": temp},
    }


def dagger_argv(runner: Runner, job: str) -> list[str]:
    """The argv the job's dagger step gives the CLI, through the action's own scripts."""
    done = runner.run_composite(action(), dagger_step(job), skip=(INSTALL_STEP,))
    assert all(d.returncode == 0 for d in done), [d.stderr for d in done]
    stand_in = shutil.which("dagger", path=runner.path)
    assert stand_in is not None
    recorded = Path(stand_in).with_name(ARGV_FILE)
    (line,) = recorded.read_text(encoding="utf-8").splitlines()
    recorded.unlink()
    argv: list[str] = json.loads(line)
    assert argv[:3] == ["--progress", "plain", "call"], argv
    return argv[3:]


def run_plan_steps(runner: Runner, context: dict[str, Any]) -> dict[str, str]:
    """The plan job's base and mode steps: what they decide (the job's outputs but the
    matrix)."""
    runner.context = context
    decided: dict[str, str] = {}
    for name in ("base", "mode"):
        (step,) = [s for s in steps("plan") if s.get("id") == name]
        done = runner.run_step(step)
        assert done.returncode == 0, done.stderr
        decided.update(runner.context["steps"][name]["outputs"])
    return decided


def after_plan(runner: Runner, context: dict[str, Any], shard: str = "") -> None:
    """A job after the plan job: its outputs in `needs`, a matrix naming `shard`."""
    outputs = run_plan_steps(runner, context)
    outputs["sharded"] = "true" if shard else "false"
    runner.context["needs"] = {
        "plan": {"outputs": outputs, "result": "success"},
        "ci": {"result": "success"},
    }
    runner.context["matrix"] = {"shard": shard}


def run_ci_job(runner: Runner, context: dict[str, Any], shard: str = "") -> list[str]:
    """A ci job (`shard` of a sharded run, or the one job of an unsharded run) after the
    plan job's selection: its dagger step's argv after `call`."""
    after_plan(runner, context, shard)
    return dagger_argv(runner, "ci")


def flags(argv: list[str]) -> dict[str, str]:
    """`--name=value` arguments as a dict (each must be one)."""
    assert all(a.startswith("--") and "=" in a for a in argv), argv
    return dict(a.removeprefix("--").split("=", 1) for a in argv)


# ---------------------------------------------------------------- the pinned action


def test_the_workflow_runs_the_action_this_suite_runs() -> None:
    (commit,) = re.findall(r"commit ([0-9a-f]{40})", ACTION_FILE.read_text(encoding="utf-8"))
    for job in ("plan", "ci", "verdict", "cd"):
        assert dagger_step(job)["uses"] == f"{ACTION}@{commit}"


def test_the_action_runs_an_expression_pasted_into_args(runner: Runner, tmp_path: Path) -> None:
    """Why args holds no `${{ }}`: the action hands a pasted value to bash as code."""
    marker = tmp_path / "pwned"
    runner.context = github("pull_request", base_ref=f"$(touch {marker})")
    pasted = {**dagger_step("ci"), "env": {}, "with": {"args": "ci --base=${{ github.base_ref }}"}}
    runner.run_composite(action(), pasted, skip=(INSTALL_STEP,))
    assert marker.exists()


# ---------------------------------------------------------------- the ci job


@pytest.mark.parametrize("template", HOSTILE_NAMES)
def test_a_hostile_branch_name_reaches_dagger_as_one_literal_argument(
    runner: Runner, tmp_path: Path, template: str
) -> None:
    marker = tmp_path / "pwned"
    name = template.replace(MARKER, str(marker))
    plain = run_ci_job(
        runner, github("pull_request", base_ref="main", head_ref="feature", secrets=CACHE_SECRETS)
    )
    hostile = run_ci_job(
        runner, github("pull_request", base_ref=name, head_ref=name, secrets=CACHE_SECRETS)
    )
    assert not marker.exists()
    # The same argv, but for the two values, each one argument holding the name as it is.
    replaced = {
        "--base=origin/main": f"--base=origin/{name}",
        "--cache-scope=feature": f"--cache-scope={name}",
    }
    assert hostile == [replaced.get(argument, argument) for argument in plain]
    assert set(replaced) <= set(plain)


def test_a_pull_request_is_compared_with_its_target_branch(runner: Runner) -> None:
    argv = run_ci_job(runner, github("pull_request", base_ref="release/2.x", head_ref="f"))
    assert flags(argv[1:]) == {"base": "origin/release/2.x", "all": "false"}
    assert argv[0] == "ci"


def test_a_push_is_compared_with_the_commit_it_replaced(runner: Runner, repo: Repo) -> None:
    runner.workdir = repo.root
    before = git(repo.root, "rev-parse", "HEAD").strip()
    repo.write("libs/core/src/core/extra.py", "X = 1\n")
    repo.commit("core changed")
    argv = run_ci_job(runner, github("push", before=before))
    assert flags(argv[1:]) == {"base": before, "all": "false"}


@pytest.mark.parametrize("before", ["0" * 40, "1234567" + "0" * 33, ""])
def test_a_first_push_or_a_force_push_selects_everything(
    runner: Runner, repo: Repo, before: str
) -> None:
    # A branch's first push: `before` is all zeros; after a force push it is a commit the
    # checkout does not have.
    runner.workdir = repo.root
    assert flags(run_ci_job(runner, github("push", before=before))[1:]) == {
        "base": "",
        "all": "true",
    }


def policy(argv: list[str]) -> tuple[tuple[str, ...], str | None]:
    """The scopes `dagger call ci` reads and writes with these flags (the core decides)."""
    given = flags(argv[1:])
    chosen = scope_policy(
        given["cache-scope"],
        given["cache-default-scope"],
        pull_request=given["cache-pull-request"] == "true",
        read_only=given["cache-read-only"] == "true",
    )
    return chosen.read, chosen.write


def test_a_push_to_main_reads_and_writes_mains_scope_with_secrets_by_reference(
    runner: Runner,
) -> None:
    argv = run_ci_job(runner, github("push", secrets=CACHE_SECRETS))
    assert policy(argv) == (("main",), "main")
    given = flags(argv[1:])
    assert given["cache-url"] == "env:ACME_CACHE_URL"
    assert given["cache-aws-access-key-id"] == "env:ACME_CACHE_AWS_ACCESS_KEY_ID"
    assert given["cache-aws-secret-access-key"] == "env:ACME_CACHE_AWS_SECRET_ACCESS_KEY"
    assert given["cache-signing-key"] == "env:ACME_CACHE_SIGNING_KEY"
    assert not set(CACHE_SECRETS.values()) & set(given.values())


def test_a_pull_request_writes_its_branchs_scope_and_reads_main_after_it(runner: Runner) -> None:
    context = github(
        "pull_request", base_ref="main", head_ref="feature/login", secrets=CACHE_SECRETS
    )
    assert policy(run_ci_job(runner, context)) == (("feature/login", "main"), "feature/login")


def test_nothing_a_pull_request_computes_is_written_to_mains_scope(runner: Runner) -> None:
    # A fork's branch may be called main: it only reads.
    def run(head: str, fork: bool) -> tuple[tuple[str, ...], str | None]:
        context = github(
            "pull_request", base_ref="main", head_ref=head, fork=fork, secrets=CACHE_SECRETS
        )
        return policy(run_ci_job(runner, context))

    assert run("main", fork=True) == (("main",), None)
    assert run("x", fork=True) == (("x", "main"), None)
    # A pull request from main into another branch runs on a merge, not on main: reads only.
    assert run("main", fork=False) == (("main",), None)


def test_without_the_cache_url_no_cache_flag_is_passed(runner: Runner) -> None:
    secrets = {k: v for k, v in CACHE_SECRETS.items() if k != "ACME_CACHE_URL"}
    argv = run_ci_job(runner, github("push", secrets=secrets))
    assert flags(argv[1:]) == {"base": "", "all": "true"}


def test_an_unset_optional_secret_passes_no_flag(runner: Runner) -> None:
    secrets = {"ACME_CACHE_URL": CACHE_SECRETS["ACME_CACHE_URL"]}
    variables = {"ACME_CACHE_ENDPOINT_URL": "https://s3.example", "ACME_CACHE_REGION": "eu-west-1"}
    given = flags(run_ci_job(runner, github("push", secrets=secrets, variables=variables))[1:])
    assert not {
        "cache-aws-access-key-id",
        "cache-aws-secret-access-key",
        "cache-signing-key",
    } & set(given)
    assert given["cache-endpoint-url"] == "https://s3.example"
    assert given["cache-region"] == "eu-west-1"


# ---------------------------------------------------------------- the cd job


def check_step() -> dict[str, Any]:
    first = steps("cd")[0]
    assert "run" in first, "the secrets are checked first, before the checkout and dagger"
    return first


def test_cd_checks_its_secrets_by_presence_never_by_value() -> None:
    for name, value in check_step()["env"].items():
        assert re.fullmatch(r"\$\{\{ (secrets|vars)\.[A-Z_]+ != '' \}\}", value), name


@pytest.mark.parametrize(
    "unset",
    [
        ("KUBECONFIG",),
        ("DATABASE_URL", "AWS_SECRET_ACCESS_KEY"),
        ("KUBECONFIG", "DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        ("KAFKA_BOOTSTRAP_SERVERS",),
    ],
)
def test_cd_stops_naming_every_unset_secret(runner: Runner, unset: tuple[str, ...]) -> None:
    secrets = {name: "" if name in unset else value for name, value in CD_SECRETS.items()}
    variables = {"KAFKA_BOOTSTRAP_SERVERS": "" if "KAFKA_BOOTSTRAP_SERVERS" in unset else "k:9092"}
    runner.context = github("push", secrets=secrets, variables=variables)
    done = runner.run_step(check_step())
    assert done.returncode != 0
    (message,) = re.findall(r"^::error::.*unset or empty: ([A-Z_ ]+)\.", done.stdout, re.M)
    assert sorted(message.split()) == sorted(unset)
    assert not any(v and v in done.stdout + done.stderr for v in CD_SECRETS.values())


def test_cd_goes_on_when_every_secret_is_set(runner: Runner) -> None:
    runner.context = github(
        "push", secrets=CD_SECRETS, variables={"KAFKA_BOOTSTRAP_SERVERS": "k:9092"}
    )
    done = runner.run_step(check_step())
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def run_cd_job(runner: Runner, context: dict[str, Any]) -> list[str]:
    runner.context = context
    return dagger_argv(runner, "cd")


def test_cd_passes_the_commit_the_owner_and_the_targets_as_literal_values(runner: Runner) -> None:
    variables = {"KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9092", "S3_ENDPOINT_URL": "$(id)"}
    argv = run_cd_job(runner, github("push", secrets=CD_SECRETS, variables=variables))
    assert argv[0] == "cd"
    given = flags(argv[1:])
    assert given["version"] == "3f2a9c" + "0" * 34
    assert given["registry"] == "ghcr.io/ACME-Corp"
    assert given["username"] == "octocat"
    assert given["kafka-bootstrap-servers"] == "k1:9092,k2:9092"
    assert given["s3-endpoint-url"] == "$(id)"
    assert given["password"] == "env:REGISTRY_PASSWORD"
    assert not set(CD_SECRETS.values()) & set(given.values())


def cache_flags(argv: list[str]) -> dict[str, str]:
    """The remote cache's flags (--cache-*)."""
    return {name: value for name, value in flags(argv[1:]).items() if name.startswith("cache-")}


@pytest.mark.parametrize(
    "secrets",
    [CACHE_SECRETS, {"ACME_CACHE_URL": "s3://b/p"}, {}],
    ids=["every-cache-secret", "url-only", "no-cache"],
)
def test_cd_passes_the_cache_flags_ci_passes(runner: Runner, secrets: dict[str, str]) -> None:
    context = github("push", secrets={**CD_SECRETS, **secrets})
    ci = cache_flags(run_ci_job(runner, context))
    assert bool(ci) == ("ACME_CACHE_URL" in secrets)
    assert cache_flags(run_cd_job(runner, context)) == ci


# ---------------------------------------------------------------- the plan job


@pytest.mark.parametrize(
    ("context", "sharded"),
    [
        (github("push", secrets=CACHE_SECRETS), "true"),
        (github("pull_request", base_ref="main", head_ref="f", secrets=CACHE_SECRETS), "true"),
        # No cache to carry the shards' reports: one unsharded job.
        (github("push"), "false"),
        # A fork only reads the cache (and GitHub gives it no secrets anyway).
        (
            github("pull_request", base_ref="main", head_ref="f", fork=True, secrets=CACHE_SECRETS),
            "false",
        ),
    ],
    ids=["push", "pull-request", "no-cache", "fork"],
)
def test_a_run_is_sharded_only_when_it_may_write_the_cache(
    runner: Runner, context: dict[str, Any], sharded: str
) -> None:
    assert run_plan_steps(runner, context)["sharded"] == sharded


def test_the_plan_job_saves_the_shard_plan_outside_the_checkout(runner: Runner) -> None:
    run_plan_steps(runner, github("push", secrets=CACHE_SECRETS))
    argv = dagger_argv(runner, "plan")
    assert argv[0] == "plan"
    given = flags(argv[1:])
    assert {k: given[k] for k in ("base", "all", "shards", "format", "output")} == {
        "base": "",
        "all": "true",
        "shards": "auto",
        "format": "json",
        "output": SHARD_PLAN,
    }
    assert policy(["plan", *argv[1:]]) == (("main",), "main")


def run_matrix_step(runner: Runner, sharded: str) -> Any:
    """The plan job's matrix step, after a mode step that decided `sharded`."""
    runner.context.setdefault("steps", {})["mode"] = {"outputs": {"sharded": sharded}}
    (step,) = [s for s in steps("plan") if s.get("id") == "matrix"]
    done = runner.run_step(step)
    assert done.returncode == 0, done.stderr
    return json.loads(runner.context["steps"]["matrix"]["outputs"]["matrix"])


def test_the_matrix_has_a_job_per_shard_of_the_shard_plan(runner: Runner) -> None:
    """What `plan --shards N --format github-matrix` prints, read from the file the shards
    and the verdict take."""
    ws = load_workspace(REPOSITORY)
    plan = make_plan(ws, select_all(ws, "--all"))
    sizes = {p.name: 40_000 + 1_000 * i for i, p in enumerate(ws.packages)}
    shards = make_shard_plan(plan, History(sizes=sizes), 3)
    temp = runner.workdir / "temp"
    (temp / "shard-plan").mkdir(parents=True)
    (temp / "shard-plan/shard-plan.json").write_text(shard_plan_json(shards), encoding="utf-8")
    runner.context = github("push", temp=str(temp))
    assert run_matrix_step(runner, "true") == json.loads(github_matrix(shards))
    assert run_matrix_step(runner, "false") == {"include": [{"shard": ""}]}


# ---------------------------------------------------------------- the shards


def test_a_shard_job_runs_its_shard_of_the_plan_jobs_selection(runner: Runner, repo: Repo) -> None:
    runner.workdir = repo.root
    before = git(repo.root, "rev-parse", "HEAD").strip()
    context = github("push", before=before, secrets=CACHE_SECRETS)
    argv = run_ci_job(runner, context, shard="2/3")
    assert argv[0] == "ci"
    given = flags(argv[1:])
    assert {k: given[k] for k in ("base", "all", "shard", "shard-plan", "run-id")} == {
        "base": before,
        "all": "false",
        "shard": "2/3",
        "shard-plan": SHARD_PLAN,
        "run-id": RUN_ID,
    }
    assert given["run-attempt"] == RUN_ATTEMPT
    # Not sharded: no shard flag at all.
    unsharded = flags(run_ci_job(runner, context)[1:])
    assert not {"shard", "shard-plan", "run-id", "run-attempt"} & set(unsharded)


@pytest.mark.parametrize(
    "context",
    [
        github("push", secrets=CACHE_SECRETS),
        github("pull_request", base_ref="main", head_ref="feature/x", secrets=CACHE_SECRETS),
        github("pull_request", base_ref="main", head_ref="main", secrets=CACHE_SECRETS),
        github("push", secrets={"ACME_CACHE_URL": "s3://b/p"}),
    ],
    ids=["push", "pull-request", "pull-request-from-main", "url-only"],
)
def test_the_plan_every_shard_and_the_verdict_use_one_scope(
    runner: Runner, context: dict[str, Any]
) -> None:
    """The trust scopes hold for every shard: each job passes the cache flags the ci job
    always passed, so shards write their reports where the verdict reads them."""
    unsharded = cache_flags(run_ci_job(runner, context))
    after_plan(runner, context)
    planned = cache_flags(dagger_argv(runner, "plan"))
    shard = cache_flags(run_ci_job(runner, context, shard="1/2"))
    after_plan(runner, context, shard="1/2")
    judged = cache_flags(dagger_argv(runner, "verdict"))
    assert unsharded == planned == shard == judged
    assert unsharded


# ---------------------------------------------------------------- the verdict job


def run_verdict_check(runner: Runner, plan: str, sharded: str, ci: str) -> Any:
    runner.context = github("push")
    runner.context["needs"] = {
        "plan": {"outputs": {"sharded": sharded}, "result": plan},
        "ci": {"result": ci},
    }
    return runner.run_step(steps("verdict")[0])


@pytest.mark.parametrize(
    ("plan", "sharded", "ci", "passes"),
    [
        ("success", "false", "success", True),
        ("success", "false", "failure", False),
        ("success", "false", "cancelled", False),
        ("failure", "", "skipped", False),
        ("cancelled", "", "skipped", False),
        # Sharded: dagger call verdict judges (a failed shard is named there).
        ("success", "true", "failure", True),
    ],
)
def test_the_verdict_fails_without_a_plan_or_with_a_failed_unsharded_run(
    runner: Runner, plan: str, sharded: str, ci: str, passes: bool
) -> None:
    done = run_verdict_check(runner, plan, sharded, ci)
    assert (done.returncode == 0) == passes, done.stdout
    if not passes:
        assert done.stdout.startswith("::error::")


def test_the_verdict_gathers_the_shards_of_this_run_and_attempt(runner: Runner) -> None:
    context = github("pull_request", base_ref="main", head_ref="feature/x", secrets=CACHE_SECRETS)
    after_plan(runner, context, shard="1/2")
    argv = dagger_argv(runner, "verdict")
    assert argv[0] == "verdict"
    given = flags(argv[1:])
    assert {k: given[k] for k in ("base", "all", "shard-plan", "run-id", "run-attempt")} == {
        "base": "origin/main",
        "all": "false",
        "shard-plan": SHARD_PLAN,
        "run-id": RUN_ID,
        "run-attempt": RUN_ATTEMPT,
    }


@pytest.mark.parametrize("template", HOSTILE_NAMES)
def test_hostile_names_reach_the_plan_shards_and_verdict_as_literal_arguments(
    runner: Runner, tmp_path: Path, template: str
) -> None:
    marker = tmp_path / "pwned"
    name = template.replace(MARKER, str(marker))
    context = github("pull_request", base_ref=name, head_ref=name, secrets=CACHE_SECRETS)
    after_plan(runner, context, shard=name)
    for job in ("plan", "ci", "verdict"):
        given = flags(dagger_argv(runner, job)[1:])
        assert given["base"] == f"origin/{name}", job
        assert given["cache-scope"] == name, job
        if job == "ci":
            assert given["shard"] == name
    assert not marker.exists()
