"""The plan: steps per package, their argv, needs, inputs and the critical path."""

from __future__ import annotations

from acme_ci.core.affected import select_all, select_packages
from acme_ci.core.plan import PlanOptions, make_plan
from acme_ci.core.workspace import parse_workspace

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
