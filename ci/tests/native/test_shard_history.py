"""What a sharded run plans from: each suite's seconds per test file, recorded from the JUnit
reports of the test steps a run executed, and the packages' sizes (the first-run prior)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acme_ci.core.affected import select_all
from acme_ci.core.plan import make_plan
from acme_ci.core.scheduler import StepResult
from acme_ci.core.shard_history import package_python_files
from acme_ci.native.cli import main
from acme_ci.native.discover import load_workspace
from acme_ci.native.history import (
    load_test_seconds,
    load_test_timing,
    package_sizes,
    record_test_timings,
)
from acme_ci.native.runner import repository_files

from ..conftest import Repo

SLEEPY = "import time\n\n\ndef test_nap() -> None:\n    time.sleep(0.3)\n"


def test_a_run_records_each_test_files_seconds_and_cached_tests_say_nothing(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("libs/util/tests/test_nap.py", SLEEPY)
    repo.commit("a slow util test")
    assert main(["-C", str(repo.root), "ci", "--runner", "native", "--package", "util"]) == 0
    record = repo.root / ".acme/test-durations/util.json"
    data = json.loads(record.read_text())
    assert set(data["files"]) == {"tests/test_basic.py", "tests/test_nap.py"}
    assert data["files"]["tests/test_nap.py"] >= 0.3
    assert data["files"]["tests/test_basic.py"] < data["files"]["tests/test_nap.py"]
    assert data["overhead"] > 0  # pytest's start and collection
    assert set(data["tests"]) == {"tests/test_basic.py::test_ok", "tests/test_nap.py::test_nap"}
    assert data["tests"]["tests/test_nap.py::test_nap"] == data["files"]["tests/test_nap.py"]
    before = record.read_text()
    assert main(["-C", str(repo.root), "ci", "--runner", "native", "--package", "util"]) == 0
    assert "cached" in capsys.readouterr().out
    assert record.read_text() == before  # a cache hit measured nothing


def test_timings_fold_into_a_moving_average_and_name_only_present_files(
    repo: Repo, tmp_path: Path
) -> None:
    ws = load_workspace(repo.root)
    plan = make_plan(ws, select_all(ws))
    report = repo.root / ".acme/reports/util/junit.xml"
    report.parent.mkdir(parents=True)
    files = {"util": ["tests/test_a.py", "tests/test_b.py"]}

    def measured(a: float, b: float, step_seconds: float) -> None:
        report.write_text(
            '<testsuites><testsuite name="pytest" tests="2">'
            f'<testcase classname="tests.test_a" name="t" time="{a}"/>'
            f'<testcase classname="tests.test_b" name="t" time="{b}"/>'
            "</testsuite></testsuites>"
        )
        result = StepResult("util:test", "failed", duration=step_seconds)
        record_test_timings(tmp_path, repo.root, plan, [result], files)

    measured(2.0, 4.0, 8.0)
    measured(4.0, 0.0, 6.0)
    timing = load_test_timing(tmp_path, "util", {"tests/test_a.py", "tests/test_b.py"})
    assert timing is not None
    assert dict(timing.files) == {"tests/test_a.py": 3.0, "tests/test_b.py": 2.0}
    assert timing.overhead == 2.0  # (8 - 6) then (6 - 4): averaged
    assert timing.tests == {}  # read apart, where a suite may be split test by test
    both = {"tests/test_a.py", "tests/test_b.py"}
    assert load_test_seconds(tmp_path, "util", both) == {
        "tests/test_a.py::t": 3.0,
        "tests/test_b.py::t": 2.0,
    }
    only_a = load_test_timing(tmp_path, "util", {"tests/test_a.py"})
    assert only_a is not None
    assert dict(only_a.files) == {"tests/test_a.py": 3.0}
    assert load_test_seconds(tmp_path, "util", {"tests/test_a.py"}) == {"tests/test_a.py::t": 3.0}
    assert load_test_timing(tmp_path, "core", {"tests/test_basic.py"}) is None
    assert load_test_seconds(tmp_path, "core", {"tests/test_basic.py"}) == {}

    # Not a test step, cached, blocked, or an unreadable report: nothing is folded in.
    record = (tmp_path / "test-durations/util.json").read_text()
    report.write_text("<testsuites")
    for result in (
        StepResult("util:test", "passed", duration=1.0),
        StepResult("util:test", "cached", duration=1.0),
        StepResult("util:lint", "passed", duration=1.0),
    ):
        record_test_timings(tmp_path, repo.root, plan, [result], files)
    report.unlink()
    record_test_timings(tmp_path, repo.root, plan, [StepResult("util:test", "passed")], files)
    assert (tmp_path / "test-durations/util.json").read_text() == record
    # A record written before tests were timed reads as one without them.
    (tmp_path / "test-durations/util.json").write_text('{"overhead": 1, "files": {}}')
    assert load_test_timing(tmp_path, "util", {"tests/test_a.py"}) is not None
    assert load_test_seconds(tmp_path, "util", {"tests/test_a.py"}) == {}
    (tmp_path / "test-durations/util.json").write_text("{not json")
    assert load_test_timing(tmp_path, "util", {"tests/test_a.py"}) is None


def test_package_sizes_and_python_files_are_read_by_package(repo: Repo) -> None:
    repo.write("libs/util/src/util/data.txt", "x" * 30_000)
    ws = load_workspace(repo.root)
    plan = make_plan(ws, select_all(ws))
    sizes = package_sizes(repo.root, plan)
    assert sizes is not None
    assert set(sizes) == {"core", "util", "api", "web"}
    assert sizes["util"] > 30_000 > sizes["core"] > 0
    listed = repository_files(repo.root)
    assert package_sizes(repo.root, plan, listed) == sizes
    found = package_python_files(plan, listed)
    assert found["util"] == {"src/util/__init__.py", "tests/test_basic.py"}
    assert "data.txt" not in " ".join(found["util"])
    assert package_sizes(repo.root.parent, plan) is None  # outside a repository, no list
