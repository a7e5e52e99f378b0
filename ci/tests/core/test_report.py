"""What a run tells its reader: the text summary, the JSON report, the Markdown summary, and
the plan views. Each test pins something a user reads (a status, a flake, a failure's log
tail, the critical path), not the layout code; mutation testing (bench/mutation.py) showed
these were otherwise unchecked outside the slow CLI tests.
"""

from __future__ import annotations

import json

from acme_ci.core.affected import Selection
from acme_ci.core.plan import Plan, Step
from acme_ci.core.plan_format import MAX_REASONS, plan_json, plan_mermaid, plan_text
from acme_ci.core.report import report_data, report_markdown
from acme_ci.core.scheduler import Flake, RunResult, StepResult
from acme_ci.core.summary import summary_text


def step(step_id: str, needs: tuple[str, ...] = (), workdir: str = "libs/a") -> Step:
    package, task = step_id.split(":")
    return Step(
        id=step_id,
        package=package,
        task=task,
        commands=(("ruff", "check", "."), ("mypy", "src")),
        workdir=workdir,
        env=(("PYTHONDONTWRITEBYTECODE", "1"),) if task == "test" else (),
        inputs=("uv.lock", workdir),
        needs=needs,
        outputs=(),
        reason="changed: libs/a/x.py",
    )


PLAN = Plan(
    (
        step("a:lint"),
        step("a:test"),
        step("a:build", ("a:lint", "a:test")),
        step("b:test", workdir="libs/b"),
        step("b:build", ("b:test",), workdir="libs/b"),
    ),
    Selection(
        {"a": ("changed: libs/a/x.py",), "b": ("depends on a",)},
        note="2 of 3 packages affected",
    ),
)
FLAKE = Flake("tests/test_x.py::test_slow", "a", 3)
RESULTS = (
    StepResult("a:lint", "cached", duration=9.0, cache_key="k" * 64),
    StepResult("a:test", "passed", duration=2.25, attempts=3, flakes=(FLAKE,), passed_tests=4),
    StepResult("a:build", "passed", duration=1.0),
    StepResult(
        "b:test",
        "failed",
        duration=4.0,
        output="collected 2 items\nE   assert 1 == 2\n1 failed",
        failed_tests=("tests/test_b.py::test_sum",),
        log_path=".acme/logs/r1/b-test.log",
    ),
    StepResult("b:build", "blocked", blocked_by=("b:test",)),
)
RUN = RunResult(PLAN, RESULTS, duration=6.5, warnings=("cache store unavailable: disk full",))


def rows(text: str) -> dict[str, list[str]]:
    """The summary table's rows by step id, split into columns."""
    return {
        line.split()[0]: line.split()
        for line in text.splitlines()
        if line.startswith("  ") and line.split()[0] in {s.id for s in PLAN.steps}
    }


def test_summary_table_shows_status_duration_cache_and_flakes() -> None:
    table = rows(summary_text(RUN))
    assert table["a:lint"] == ["a:lint", "cached", "9.0s", "yes", "-"]
    assert table["a:test"] == [
        "a:test",
        "passed",
        "2.2s",
        "no",
        "tests/test_x.py::test_slow",
        "(x3)",
    ]
    assert table["b:test"] == ["b:test", "failed", "4.0s", "no", "-"]
    assert table["b:build"] == ["b:build", "blocked", "-", "no", "-"]


def test_summary_columns_line_up() -> None:
    lines = [line for line in summary_text(RUN).splitlines() if line.startswith("  ")][:6]
    status_columns = {line.index(line.split()[1]) for line in lines}
    assert len(status_columns) == 1
    assert lines[0].split() == ["step", "status", "duration", "cached", "flakes"]
    assert all(line == line.rstrip() for line in lines)


def test_summary_counts_critical_path_flakes_warnings_and_failures() -> None:
    text = summary_text(RUN)
    # The cache hit costs nothing: a's chain took 3.25 s, b:test alone 4.0 s.
    assert "Critical path (4.0s): b:test" in text.splitlines()
    assert "Expected critical path: - (no recorded durations yet)" in text
    assert "5 steps: 2 passed, 1 cached, 1 failed, 1 blocked in 6.5s (runner: native)" in text
    assert "Flaky tests (passed after a rerun): 1" in text
    assert "  a: tests/test_x.py::test_slow after 3 attempts" in text.splitlines()
    assert "warning: cache store unavailable: disk full" in text.splitlines()
    failure = text[text.index("FAILED b:test") :].splitlines()
    assert failure[0] == "FAILED b:test (log: .acme/logs/r1/b-test.log)"
    assert failure[1] == "  failing tests: tests/test_b.py::test_sum"
    assert failure[2:] == ["  | collected 2 items", "  | E   assert 1 == 2", "  | 1 failed"]
    assert text.splitlines()[:2] == ["", "Summary"]


def test_summary_marks_flakes_replayed_from_the_cache_and_uses_expected_durations() -> None:
    replayed = StepResult("a:test", "cached", flakes=(FLAKE,))
    run = RunResult(
        PLAN,
        (replayed,),
        duration=0.04,
        runner="dagger",
        expected={"a:lint": 3.0, "a:build": 1.5, "b:test": 4.0},
    )
    text = summary_text(run)
    assert "  a: tests/test_x.py::test_slow after 3 attempts (in the cached run)" in text
    assert "Expected critical path (4.5s): a:lint -> a:build" in text
    assert "1 steps: 1 cached in 0.0s (runner: dagger)" in text
    assert "FAILED" not in text
    assert "warning:" not in text


def test_summary_of_an_empty_run() -> None:
    text = summary_text(RunResult(Plan(()), (), duration=0.0))
    assert "Critical path (0.0s): -" in text
    assert "0 steps: nothing to do in 0.0s (runner: native)" in text
    assert "Flaky" not in text


def test_summary_without_a_log_or_failing_tests_shows_only_the_output() -> None:
    run = RunResult(PLAN, (StepResult("a:lint", "failed", output="E501"),), duration=1.0)
    failure = summary_text(run).split("FAILED ")[1].splitlines()
    assert failure == ["a:lint", "  | E501"]


def test_report_data_is_the_whole_run_as_json() -> None:
    data = json.loads(json.dumps(report_data(RUN)))
    assert data["ok"] is False
    assert data["runner"] == "native"
    assert data["duration"] == 6.5
    assert data["selection"] == {
        "note": "2 of 3 packages affected",
        "packages": {"a": ["changed: libs/a/x.py"], "b": ["depends on a"]},
    }
    by_id = {s["id"]: s for s in data["steps"]}
    assert list(by_id) == ["a:lint", "a:test", "a:build", "b:test", "b:build"]
    assert by_id["a:lint"]["cached"] is True
    assert by_id["a:lint"]["cache_key"] == "k" * 64
    expected = {
        "id": "a:test",
        "package": "a",
        "task": "test",
        "status": "passed",
        "duration": 2.25,
        "cached": False,
        "attempts": 3,
        "flakes": [{"test": "tests/test_x.py::test_slow", "attempts": 3}],
        "failed_tests": [],
        "blocked_by": [],
        "log": None,
        "cache_key": None,
    }
    assert {k: by_id["a:test"][k] for k in expected} == expected
    assert by_id["b:test"]["failed_tests"] == ["tests/test_b.py::test_sum"]
    assert by_id["b:test"]["log"] == ".acme/logs/r1/b-test.log"
    assert by_id["b:build"]["blocked_by"] == ["b:test"]
    assert data["critical_path"] == {"steps": ["b:test"], "duration": 4.0}
    assert data["expected_critical_path"] == {"steps": [], "duration": 0.0}
    assert data["warnings"] == ["cache store unavailable: disk full"]


def test_report_data_of_a_green_run_with_history() -> None:
    run = RunResult(
        PLAN,
        (StepResult("a:lint", "passed", duration=1.23456),),
        duration=1.23456,
        expected={"b:test": 2.0, "b:build": 0.5},
    )
    data = report_data(run)
    assert data["ok"] is True
    assert data["duration"] == 1.235
    assert data["steps"][0]["duration"] == 1.235
    assert data["expected_critical_path"] == {"steps": ["b:test", "b:build"], "duration": 2.5}


def test_markdown_summary_has_the_verdict_table_and_failure_details() -> None:
    text = report_markdown(RUN, title="CI")
    lines = text.splitlines()
    assert lines[0] == "## CI: FAILED in 6.5s (native)"
    assert "_2 of 3 packages affected_" in lines
    assert "| a:lint | cached | 9.0s | yes |  |" in lines
    assert "| a:test | passed | 2.2s |  | `tests/test_x.py::test_slow` (x3) |" in lines
    assert "Critical path (4.0s): b:test" in lines
    assert not any(line.startswith("Expected") for line in lines)
    details = lines[lines.index("<details><summary>b:test failed</summary>") :]
    assert details[1:7] == ["", "```", "collected 2 items", "E   assert 1 == 2", "1 failed", "```"]
    assert details[7] == "</details>"
    assert text.endswith("</details>\n")


def test_markdown_summary_of_a_green_run_keeps_only_the_log_tail() -> None:
    long_output = "\n".join(f"line {i}" for i in range(100))
    run = RunResult(
        PLAN,
        (StepResult("a:lint", "passed", duration=2.0),),
        duration=2.0,
        runner="dagger",
        expected={"a:lint": 2.0, "a:build": 1.0},
    )
    text = report_markdown(run)
    assert text.startswith("## acme-ci: passed in 2.0s (dagger)\n")
    assert "Expected critical path (3.0s): a:lint → a:build" in text.splitlines()
    assert "<details>" not in text
    failed = RunResult(PLAN, (StepResult("a:lint", "failed", output=long_output),), duration=1.0)
    body = report_markdown(failed).split("```")[1].strip().splitlines()
    assert body == [f"line {i}" for i in range(70, 100)]


def test_plan_text_says_what_runs_where_and_why() -> None:
    many = Plan(
        PLAN.steps[:1],
        Selection(
            {
                "a": tuple(f"changed: libs/a/f{i}.py" for i in range(MAX_REASONS + 2)),
                "b": ("--all",),
            },
            note="2 of 2 packages affected",
            ignored_files=("README.md", "docs/x.md"),
        ),
    )
    lines = plan_text(many).splitlines()
    assert lines[0] == "Selection: 2 of 2 packages affected"
    shown = "; ".join(f"changed: libs/a/f{i}.py" for i in range(MAX_REASONS))
    assert lines[1] == f"  a: {shown} (+2 more)"
    assert lines[2] == "  b: --all"
    assert lines[3] == "  (no package: README.md, docs/x.md)"
    assert lines[4] == "Steps (1):"
    assert lines[5] == "  a:lint"
    assert lines[6:] == ["      $ (cd libs/a && ruff check .)", "      $ (cd libs/a && mypy src)"]
    text = plan_text(PLAN)
    assert "  a:build  needs a:lint, a:test" in text.splitlines()
    assert "more)" not in text
    assert "no package" not in text


def test_plan_json_carries_every_step_field() -> None:
    data = json.loads(plan_json(PLAN))
    assert data["selection"] == {
        "note": "2 of 3 packages affected",
        "packages": {"a": ["changed: libs/a/x.py"], "b": ["depends on a"]},
        "ignored_files": [],
    }
    assert data["steps"][1] == {
        "id": "a:test",
        "package": "a",
        "task": "test",
        "commands": [["ruff", "check", "."], ["mypy", "src"]],
        "workdir": "libs/a",
        "env": {"PYTHONDONTWRITEBYTECODE": "1"},
        "inputs": ["uv.lock", "libs/a"],
        "needs": [],
        "outputs": [],
        "reason": "changed: libs/a/x.py",
    }
    assert data["steps"][2]["needs"] == ["a:lint", "a:test"]


def test_plan_mermaid_draws_each_step_once_and_each_need_as_an_edge() -> None:
    lines = plan_mermaid(PLAN).splitlines()
    assert lines[0] == "flowchart LR"
    nodes = {line.split("[")[0].strip(): line.split('"')[1] for line in lines if "[" in line}
    assert sorted(nodes.values()) == sorted(s.id for s in PLAN.steps)
    edges = {
        (nodes[line.split(" --> ")[0].strip()], nodes[line.split(" --> ")[1].strip()])
        for line in lines
        if "-->" in line
    }
    assert edges == {("a:lint", "a:build"), ("a:test", "a:build"), ("b:test", "b:build")}


TWO_FLAKES = (FLAKE, Flake("tests/test_x.py::test_io", "a", 2))


def test_summary_lists_several_flakes_failures_and_a_long_path_readably() -> None:
    results = (
        StepResult("a:lint", "passed", duration=1.0),
        StepResult("a:test", "passed", duration=2.0, flakes=TWO_FLAKES),
        StepResult("a:build", "failed", duration=3.0, failed_tests=("t::one", "t::two")),
    )
    run = RunResult(PLAN, results, duration=6.0, expected={"a:test": 1.0, "a:build": 1.0})
    text = summary_text(run)
    lines = text.splitlines()
    assert rows(text)["a:test"][-4:] == [
        "tests/test_x.py::test_slow",
        "(x3),",
        "tests/test_x.py::test_io",
        "(x2)",
    ]
    assert "Critical path (5.0s): a:test -> a:build" in lines
    assert "Expected critical path (2.0s): a:test -> a:build" in lines
    assert "  failing tests: t::one, t::two" in lines
    # Blank lines set the table, the paths and each failure apart.
    assert lines[lines.index("Critical path (5.0s): a:test -> a:build") - 1] == ""
    assert lines[lines.index("FAILED a:build") - 1] == ""


def test_every_summary_column_starts_at_the_same_place_on_every_row() -> None:
    results = (
        StepResult("a:lint", "cached", duration=12.5),
        StepResult("a:test", "passed", duration=2.0, flakes=(FLAKE,)),
        StepResult("b:build", "blocked"),
    )
    table = [
        line
        for line in summary_text(RunResult(PLAN, results, duration=1.0)).splitlines()
        if line.startswith("  ") and not line.startswith("  |")
    ][:4]
    header = table[0]
    starts = [header.index(c) for c in ("status", "duration", "cached", "flakes")]
    for line in table[1:]:
        for start in starts:
            assert line[start - 2 : start] == "  "  # a column gap ends right here
            assert line[start] != " "


def test_the_expected_path_line_is_its_own_line() -> None:
    text = summary_text(RunResult(PLAN, (), duration=0.0))
    assert "Expected critical path: - (no recorded durations yet)" in text.splitlines()
    empty = RunResult(Plan(()), (), duration=0.0, expected={"gone:test": 3.0})
    assert "Expected critical path (0.0s): -" in summary_text(empty).splitlines()
    markdown = report_markdown(empty).splitlines()
    assert "Expected critical path (0.0s): -" in markdown
    assert "Critical path (0.0s): -" in markdown


def test_report_rounds_every_duration_to_milliseconds() -> None:
    results = (StepResult("b:test", "passed", duration=1.23456),)
    run = RunResult(PLAN, results, duration=2.0, expected={"b:test": 0.98765})
    data = report_data(run)
    assert data["critical_path"] == {"steps": ["b:test"], "duration": 1.235}
    assert data["expected_critical_path"] == {"steps": ["b:test"], "duration": 0.988}


def test_markdown_layout_renders_as_a_table_with_separated_blocks() -> None:
    results = (
        StepResult("a:lint", "passed", duration=2.0),
        StepResult("a:test", "passed", duration=1.0, flakes=TWO_FLAKES),
        StepResult("a:build", "failed", duration=1.0, output="boom"),
    )
    run = RunResult(PLAN, results, duration=3.0, expected={"a:lint": 1.0, "a:build": 1.0})
    lines = report_markdown(run).splitlines()
    assert lines[1] == ""
    assert lines[3] == ""
    assert lines[4] == "| step | status | duration | cached | flakes |"
    assert lines[5] == "| --- | --- | ---: | --- | --- |"
    flakes = "`tests/test_x.py::test_slow` (x3), `tests/test_x.py::test_io` (x2)"
    assert f"| a:test | passed | 1.0s |  | {flakes} |" in lines
    path = lines.index("Critical path (3.0s): a:lint → a:build")
    assert lines[path - 1] == ""
    expected = lines.index("Expected critical path (2.0s): a:lint → a:build")
    assert lines[expected - 1] == ""
    details = lines.index("<details><summary>a:build failed</summary>")
    assert lines[details - 1] == ""


def test_with_a_remote_cache_the_summary_shows_where_hits_came_from_and_bytes_moved() -> None:
    results = (
        StepResult("a:lint", "cached", cache_source="remote", cache_bytes=2_500),
        StepResult("a:test", "cached", cache_source="local"),
        StepResult("a:build", "passed", duration=1.0, cache_bytes=3_400_000),
        StepResult("b:test", "passed", duration=1.0, cache_bytes=999),
        StepResult("b:build", "cached", cache_source="remote", cache_bytes=500),
    )
    run = RunResult(PLAN, results, duration=2.0, remote_cache="s3://bucket/ci")
    text = summary_text(run)
    table = rows(text)
    assert text.splitlines()[2].split() == [
        "step",
        "status",
        "duration",
        "cached",
        "remote",
        "flakes",
    ]
    assert table["a:lint"][3:] == ["remote", "down", "2.5", "kB", "-"]
    assert table["a:test"][3:] == ["local", "-", "-"]
    assert table["a:build"][3:] == ["no", "up", "3.4", "MB", "-"]
    assert table["b:test"][3:] == ["no", "up", "999", "B", "-"]
    assert "Remote cache s3://bucket/ci: 2 hits, 3.0 kB downloaded, 3.4 MB uploaded" in (
        text.splitlines()
    )
    data = report_data(run)
    assert data["remote_cache"] == "s3://bucket/ci"
    steps = {s["id"]: s for s in data["steps"]}
    assert (steps["a:lint"]["cache_source"], steps["a:lint"]["cache_bytes"]) == ("remote", 2_500)
    assert "| a:test | cached | 0.0s | local |  |" in report_markdown(run).splitlines()


def test_without_a_remote_cache_there_is_no_remote_column_or_line() -> None:
    text = summary_text(RUN)
    assert "remote" not in text.splitlines()[2]
    assert not any(line.startswith("Remote cache") for line in text.splitlines())
    assert report_data(RUN)["remote_cache"] is None


def test_plan_text_shows_exactly_three_reasons_without_a_count_and_json_is_indented() -> None:
    three = Plan(
        PLAN.steps[:1],
        Selection({"a": ("r1", "r2", "r3")}, note="1 of 1 packages affected"),
    )
    assert plan_text(three).splitlines()[1] == "  a: r1; r2; r3"
    assert plan_json(three).startswith('{\n  "selection": {\n    "note": ')
