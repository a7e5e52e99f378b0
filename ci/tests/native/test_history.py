"""Step durations across runs, and the prior a first run (no durations yet) schedules by."""

from __future__ import annotations

from pathlib import Path

from acme_ci.core.affected import select_all
from acme_ci.core.plan import Plan, PlanOptions, make_plan
from acme_ci.core.scheduler import RunResult, StepResult
from acme_ci.native.discover import load_workspace
from acme_ci.native.history import biggest_packages_first, load_durations, record_durations
from acme_ci.native.runner import repository_files

from ..conftest import Repo


def test_a_first_run_starts_the_biggest_packages_steps_first(repo: Repo) -> None:
    repo.write("services/web/tests/test_many.py", "# a big suite\n" * 5_000)
    repo.write("libs/util/src/util/data.txt", "x" * 30_000)
    repo.write("libs/util/ignored.log", "x" * 900_000)  # git-ignored below: not counted
    repo.write(".gitignore", (repo.root / ".gitignore").read_text() + "*.log\n")
    ws = load_workspace(repo.root)
    plan = make_plan(ws, select_all(ws), PlanOptions(tasks=("test",)))
    order = biggest_packages_first(repo.root, plan, {})
    assert order == ("web:test", "util:test", "api:test", "core:test")
    # A build runs from the root but ranks with its package, not as the whole repository.
    every_task = biggest_packages_first(repo.root, make_plan(ws, select_all(ws)), {})
    assert every_task[:3] == ("web:lint", "web:test", "web:build")
    assert every_task[-3:] == ("core:lint", "core:test", "core:build")

    # The list the cache's hasher already made serves as well as git's: the same ranking.
    listed = repository_files(repo.root)
    assert biggest_packages_first(repo.root, plan, {}, listed) == order
    without_web = [f for f in listed if not f.startswith("services/web/")]
    assert biggest_packages_first(repo.root, plan, {}, without_web)[-1] == "web:test"

    assert biggest_packages_first(repo.root, plan, {s.id: 1.0 for s in plan.steps}) == ()
    # One step never seen is enough for the prior to be given (for every step).
    seen = {s.id: 1.0 for s in plan.steps if s.id != "core:test"}
    assert biggest_packages_first(repo.root, plan, seen) == order


def test_durations_are_a_moving_average_of_the_steps_that_ran(tmp_path: Path) -> None:
    def run(*results: StepResult) -> RunResult:
        return RunResult(plan=Plan(()), results=results, duration=1.0)

    record_durations(tmp_path, run(StepResult("a:test", "passed", duration=4.0)))
    assert load_durations(tmp_path) == {"a:test": 4.0}
    record_durations(
        tmp_path,
        run(
            StepResult("a:test", "failed", duration=2.0),
            StepResult("b:test", "cached", duration=9.0),  # a hit costs nothing, says nothing
        ),
    )
    assert load_durations(tmp_path) == {"a:test": 3.0}
    record_file = tmp_path / "durations.json"
    before = record_file.stat()
    record_durations(tmp_path, run(StepResult("a:test", "cached", duration=9.0)))
    after = record_file.stat()  # a run that executed nothing writes nothing (a write replaces)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert load_durations(tmp_path) == {"a:test": 3.0}
