"""The plan: steps per package, their argv, needs, inputs and the critical path."""

from __future__ import annotations

import time

import anyio
import anyio.lowlevel
import pytest

from acme_ci.core.affected import Selection, select_affected, select_all, select_packages
from acme_ci.core.plan import Plan, PlanOptions, Step, make_plan
from acme_ci.core.scheduler import Event, RunResult, StepResult, run_plan
from acme_ci.core.workspace import Workspace, parse_workspace

WS = parse_workspace(
    {
        "common/log": '[project]\nname = "log"\n',
        "services/user": (
            '[project]\nname = "user"\ndependencies = ["log"]\n'
            "[tool.acme.test]\nmax-suite-reruns = 3\n"
        ),
    }
)


def test_each_package_gets_lint_test_build_and_build_needs_its_checks() -> None:
    plan = make_plan(WS, select_all(WS))
    assert [s.id for s in plan.steps] == [
        "log:lint",
        "log:test",
        "log:build",
        "user:lint",
        "user:test",
        "user:build",
    ]
    assert plan.get("log:build").needs == ("log:lint", "log:test")
    # A wheel is never built on top of a dependency whose tests failed.
    assert plan.get("user:build").needs == ("user:lint", "user:test", "log:test")


def test_argv_is_host_neutral_and_carries_the_rerun_cap() -> None:
    plan = make_plan(WS, select_all(WS))
    test = plan.get("user:test")
    assert test.workdir == "services/user"
    assert test.commands == (
        (
            "python",
            "-m",
            "pytest",
            "--junitxml=../../.acme/reports/user/junit.xml",
            "-rsR",
            "--max-suite-reruns=3",
        ),
    )
    assert test.outputs == (".acme/reports/user/junit.xml",)
    assert not any(a.startswith("--max-suite") for a in plan.get("log:test").commands[0])
    assert plan.get("log:lint").commands == (
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy", "src", "tests"),
    )
    build = plan.get("user:build")
    assert build.commands[0][:6] == ("uv", "build", "--package", "user", "--out-dir", "dist/user")
    assert build.workdir == "."
    # The cache key covers the lock, the root config, the package and its dependencies.
    assert set(test.inputs) == {"uv.lock", "pyproject.toml", "services/user", "common/log"}


def test_selected_subset_and_task_filter() -> None:
    plan = make_plan(WS, select_packages(WS, ["user"]), PlanOptions(tasks=("test",)))
    assert [s.id for s in plan.steps] == ["user:test"]
    assert all(s.needs == () for s in plan.steps)


def test_critical_path_is_the_longest_chain_of_needs() -> None:
    plan = make_plan(WS, select_all(WS))
    durations = {"log:test": 5.0, "user:test": 1.0, "user:lint": 2.0, "user:build": 1.0}
    path, length = plan.critical_path(durations)
    # The build reads only sources: it runs alongside the tests that gate it.
    assert path == ("log:test",)
    assert length == 5.0
    path, length = plan.critical_path({**durations, "user:build": 7.0})
    assert (path, length) == (("user:build",), 7.0)
    lint_first = {**durations, "user:lint": 9.0}
    assert plan.critical_path(lint_first) == (("user:lint",), 9.0)
    assert plan.dependents("log:test") == ("log:build", "user:build")


# The plan's steps as the README documents them, and the scheduler's promises to its
# callers (events, blocking, durations, errors). Sharpened by mutation testing
# (bench/mutation.py); each workspace is parsed inside its test so mutmut can tie them.


def workspace() -> Workspace:
    return parse_workspace(
        {
            "common/log": (
                "[project]\nname = \"log\"\n[tool.importlinter]\nroot_packages = ['log']\n"
            ),
            "services/user": (
                '[project]\nname = "user"\ndependencies = ["log"]\n'
                "[tool.acme.test]\nmax-suite-reruns = 3\n[tool.pyright]\n"
            ),
        }
    )


def test_every_step_is_complete_data_both_shells_can_run() -> None:
    ws = workspace()
    selection = select_affected(ws, ["common/log/src/log/a.py", "uv.lock"])
    plan = make_plan(ws, selection)
    assert plan.selection == selection
    reason = "changed: common/log/src/log/a.py; root file changed: uv.lock"
    inputs = ("uv.lock", "pyproject.toml", "common/log")
    assert plan.get("log:lint") == Step(
        id="log:lint",
        package="log",
        task="lint",
        commands=(
            ("ruff", "check", "."),
            ("ruff", "format", "--check", "."),
            ("mypy", "src", "tests"),
            ("lint-imports", "--no-cache"),  # the package declares an architecture contract
        ),
        workdir="common/log",
        env=(),
        inputs=inputs,
        needs=(),
        outputs=(),
        reason=reason,
    )
    assert plan.get("log:test") == Step(
        id="log:test",
        package="log",
        task="test",
        commands=(
            ("python", "-m", "pytest", "--junitxml=../../.acme/reports/log/junit.xml", "-rsR"),
        ),
        workdir="common/log",
        env=(("PYTHONDONTWRITEBYTECODE", "1"),),
        inputs=inputs,
        needs=(),
        outputs=(".acme/reports/log/junit.xml",),
        reason=reason,
    )
    assert plan.get("log:build") == Step(
        id="log:build",
        package="log",
        task="build",
        commands=(("uv", "build", "--package", "log", "--out-dir", "dist/log", "--quiet"),),
        workdir=".",
        env=(),
        # Its own tree and the other members' manifests: a build reads no dependency code.
        inputs=(*inputs, "services/user/pyproject.toml"),
        needs=("log:lint", "log:test"),
        outputs=("dist/log",),
        reason=reason,
        reads_needs=False,  # its needs gate it; it reads only sources
    )
    user_lint = plan.get("user:lint")
    assert ("lint-imports", "--no-cache") not in user_lint.commands
    assert user_lint.commands[-1] == ("pyright",)  # the package configures pyright
    assert ("pyright",) not in plan.get("log:lint").commands
    assert user_lint.reason == "root file changed: uv.lock"
    assert plan.get("user:test").inputs == (
        "uv.lock",
        "pyproject.toml",
        "services/user",
        "common/log",
    )
    assert plan.get("user:build").inputs == (
        "uv.lock",
        "pyproject.toml",
        "services/user",
        "common/log/pyproject.toml",
    )


def test_a_package_naming_workflows_audits_them_in_its_lint_and_only_there() -> None:
    ws = parse_workspace(
        {
            "tools/ci": (
                '[project]\nname = "tool"\n[tool.pyright]\n'
                '[tool.acme.lint]\nworkflows = "../../.github/workflows"\n'
            ),
            "common/log": '[project]\nname = "log"\n',
        }
    )
    plan = make_plan(ws, select_all(ws))
    lint = plan.get("tool:lint")
    assert lint.workdir == "tools/ci"
    # After the package's own checks; the path as seen from its directory.
    assert lint.commands[-2:] == (
        ("pyright",),
        ("zizmor", "--offline", "--no-config", "../../.github/workflows"),
    )
    # The workflows key the lint step alone: a workflow change re-runs no test or build.
    assert lint.inputs == ("uv.lock", "pyproject.toml", "tools/ci", ".github/workflows")
    assert ".github/workflows" not in plan.get("tool:test").inputs
    assert ".github/workflows" not in plan.get("tool:build").inputs
    assert not any(c[0] == "zizmor" for c in plan.get("log:lint").commands)
    assert plan.get("log:lint").inputs == ("uv.lock", "pyproject.toml", "common/log")


def test_a_package_at_the_root_writes_its_report_without_climbing() -> None:
    ws = parse_workspace({"": '[project]\nname = "solo"\n'})
    test = make_plan(ws, select_all(ws), PlanOptions(report_dir="out", tasks=("test",))).steps[0]
    assert test.workdir == "."
    assert test.commands[0][3] == "--junitxml=out/solo/junit.xml"
    assert test.outputs == ("out/solo/junit.xml",)


def test_a_member_at_the_root_is_read_by_other_builds_through_the_root_manifest() -> None:
    ws = parse_workspace({"": '[project]\nname = "solo"\n', "libs/x": '[project]\nname = "x"\n'})
    plan = make_plan(ws, select_all(ws), PlanOptions(tasks=("build",)))
    # The root member's manifest is the root pyproject.toml, named once.
    assert plan.get("x:build").inputs == ("uv.lock", "pyproject.toml", "libs/x")
    assert plan.get("solo:build").inputs == (
        "uv.lock",
        "pyproject.toml",
        ".",
        "libs/x/pyproject.toml",
    )


def test_a_build_needs_only_the_dependency_tests_that_are_in_the_plan() -> None:
    ws = workspace()
    only_user = make_plan(ws, select_packages(ws, ["user"]))
    assert only_user.get("user:build").needs == ("user:lint", "user:test")
    no_tests = make_plan(ws, select_all(ws), PlanOptions(tasks=("lint", "build")))
    assert no_tests.get("user:build").needs == ("user:lint",)
    assert [s.id for s in no_tests.steps] == ["log:lint", "log:build", "user:lint", "user:build"]


def test_plan_lookups_and_transitive_dependents() -> None:
    ws = workspace()
    plan = make_plan(ws, select_all(ws))
    assert plan.dependents("log:lint") == ("log:build",)
    assert plan.dependents("user:build") == ()
    # a chain a <- b <- c: c depends on a only through b
    chained = Plan(
        (
            Step("a", "p", "t", (), ".", (), (), (), (), ""),
            Step("b", "p", "t", (), ".", (), (), ("a",), (), ""),
            Step("c", "p", "t", (), ".", (), (), ("b",), (), ""),
        )
    )
    assert chained.dependents("a") == ("b", "c")
    with pytest.raises(KeyError, match=r"^\"no step 'x:lint' in the plan\"$"):
        plan.get("x:lint")


class Scripted:
    """An executor whose steps pass, fail or raise, as told."""

    def __init__(
        self, failing: frozenset[str] = frozenset(), raising: frozenset[str] = frozenset()
    ) -> None:
        self.failing = failing
        self.raising = raising

    async def run(self, step: Step) -> StepResult:
        await anyio.lowlevel.checkpoint()
        if step.id in self.raising:
            await anyio.sleep(0.01)
            raise OSError("disk full")
        if step.id in self.failing:
            return StepResult(step.id, "failed", duration=0.5)
        return StepResult(step.id, "passed", duration=0.5)


def _run(plan: Plan, executor: Scripted, **kwargs: object) -> tuple[RunResult, list[Event]]:
    events: list[Event] = []

    async def go() -> RunResult:
        return await run_plan(plan, executor, jobs=2, on_event=events.append, **kwargs)  # type: ignore[arg-type]

    return anyio.run(go), events


def test_events_report_each_start_and_each_end_with_its_result() -> None:
    ws = workspace()
    plan = make_plan(ws, select_all(ws))
    run, events = _run(plan, Scripted(failing=frozenset({"log:test"})))
    starts = [e.step.id for e in events if e.kind == "start"]
    assert sorted(starts) == ["log:lint", "log:test", "user:lint", "user:test"]
    assert all(e.result is None for e in events if e.kind == "start")
    ends = {e.step.id: e for e in events if e.kind != "start"}
    assert set(ends) == {s.id for s in plan.steps}
    for step_id, event in ends.items():
        assert event.result is not None
        assert event.result == run.results[[s.id for s in plan.steps].index(step_id)]
        assert event.kind == event.result.status
    blocked = {r.step_id: r.blocked_by for r in run.results if r.status == "blocked"}
    assert blocked == {"log:build": ("log:test",), "user:build": ("log:test",)}
    assert run.runner == "native"
    assert run.expected == {}


def test_an_executor_error_is_that_steps_failure_timed_within_the_run() -> None:
    ws = workspace()
    plan = make_plan(ws, select_all(ws))
    began = time.monotonic()
    run, _ = _run(
        plan,
        Scripted(raising=frozenset({"user:lint"})),
        runner="dagger",
        expected={"log:lint": 2.0},
    )
    elapsed = time.monotonic() - began
    broken = run.results[[s.id for s in plan.steps].index("user:lint")]
    assert broken.status == "failed"
    assert broken.output == "executor error: OSError: disk full"
    assert 0.01 <= broken.duration <= run.duration <= elapsed
    assert run.runner == "dagger"
    assert run.expected == {"log:lint": 2.0}


def test_bad_plans_and_settings_are_refused_with_a_reason() -> None:
    ws = workspace()
    plan = make_plan(ws, select_all(ws))
    with pytest.raises(ValueError, match=r"^jobs must be >= 1$"):
        anyio.run(lambda: run_plan(plan, Scripted(), jobs=0))
    dangling = Plan((Step("a", "p", "t", (), ".", (), (), ("x", "w"), (), ""),))
    with pytest.raises(ValueError, match=r"^step a needs w, x, not in the plan$"):
        anyio.run(lambda: run_plan(dangling, Scripted(), jobs=1))


def test_a_cache_hit_costs_nothing_on_the_critical_path() -> None:
    plan = Plan(
        (
            Step("a", "p", "t", (), ".", (), (), (), (), ""),
            Step("b", "p", "t", (), ".", (), (), ("a",), (), ""),
        ),
        Selection(),
    )
    run = RunResult(
        plan, (StepResult("a", "cached", duration=5.0), StepResult("b", "passed", 1.0)), 1.0
    )
    assert run.critical_path() == (("a", "b"), 1.0)
