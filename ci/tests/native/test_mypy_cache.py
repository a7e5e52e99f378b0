"""The lint steps' shared mypy cache on a cold run: created once before steps start, so two
lint steps that start together never fail on it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from acme_ci.core.affected import select_all
from acme_ci.core.plan import make_plan
from acme_ci.native.discover import load_workspace
from acme_ci.native.executor import NativeExecutor

from ..conftest import Repo


@pytest.fixture(autouse=True)
def own_mypy_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated workspace's own cache: a pipeline running this suite sets its own."""
    monkeypatch.delenv("MYPY_CACHE_DIR", raising=False)


def test_two_lint_steps_starting_together_on_a_cold_cache_both_pass(repo: Repo) -> None:
    plan = make_plan(load_workspace(repo.root), select_all(load_workspace(repo.root)))
    executor = NativeExecutor(root=repo.root, log_dir=repo.root / ".acme" / "logs" / "t")
    lints = [plan.get("util:lint"), plan.get("web:lint")]
    cache = repo.root / ".acme" / "mypy-cache"
    # Without the first creation, about half of such starts failed with mypy's INTERNAL
    # ERROR ("database is locked"): five in a row would all pass about once in thirty.
    for _ in range(5):
        shutil.rmtree(cache, ignore_errors=True)
        executor.prepare_mypy_cache(plan.steps)
        assert list(cache.glob("*/cache*.db"))
        started = [
            subprocess.Popen(
                ["mypy", "src", "tests"],
                cwd=repo.root / step.workdir,
                env=executor.environment(step),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for step in lints
        ]
        outputs = [process.communicate(timeout=120)[0].decode() for process in started]
        assert [process.returncode for process in started] == [0, 0], outputs


def test_the_cache_is_made_only_when_missing_and_only_for_a_plan_that_runs_mypy(
    repo: Repo, tmp_path: Path
) -> None:
    ws = load_workspace(repo.root)
    plan = make_plan(ws, select_all(ws))
    executor = NativeExecutor(root=repo.root, log_dir=tmp_path)
    cache = repo.root / ".acme" / "mypy-cache"
    tests_only = [s for s in plan.steps if s.task == "test"]
    executor.prepare_mypy_cache(tests_only)
    assert not cache.exists()
    cache.mkdir(parents=True)
    executor.prepare_mypy_cache(plan.steps)
    assert list(cache.iterdir()) == []  # there already: left alone
