"""A sharded run's verdict as the summary, the JSON report and the Markdown summary show it:
a line per shard, and a shard without a report named with the steps it leaves without one."""

from __future__ import annotations

from acme_ci.core.plan import Plan, Step
from acme_ci.core.report import report_data, report_markdown
from acme_ci.core.scheduler import RunResult, StepResult
from acme_ci.core.shard_report import ShardLine
from acme_ci.core.shards import ShardId
from acme_ci.core.summary import shard_lines, summary_text

STEP = Step(
    id="a:lint",
    package="a",
    task="lint",
    commands=(("ruff",),),
    workdir="a",
    env=(),
    inputs=(),
    needs=(),
    outputs=(),
    reason="--all",
)
RUN = RunResult(Plan((STEP,)), (StepResult("a:lint", "passed", duration=1.0),), duration=2.0)
NOTE = "shard 3/3 never reported: its steps (b:test) have no result"
LINES = (
    ShardLine(ShardId(1, 3), "passed", 4, 40.04049, duration=41.20049),
    ShardLine(ShardId(2, 3), "failed", 1, 5.0, duration=6.0),
    ShardLine(ShardId(3, 3), "missing", 1, 9.5, note=NOTE),
)


def test_the_summary_has_a_line_per_shard() -> None:
    assert shard_lines(LINES) == [
        "Shards (3):",
        "  shard 1/3  passed  4 steps  41.2s (expected 40.0s)",
        "  shard 2/3  failed  1 steps  6.0s (expected 5.0s)",
        f"  {NOTE}",
    ]
    text = summary_text(RUN, LINES).splitlines()
    at = text.index("Shards (3):")
    assert text[at - 1].startswith("1 steps: 1 passed")
    assert text[at + 3] == f"  {NOTE}"
    assert shard_lines(()) == []
    assert "Shards" not in summary_text(RUN)
    refused = ShardLine(ShardId(1, 1), "refused", 0, 0.0, note="shard 1/1: refused")
    assert shard_lines((refused,)) == ["Shards (1):", "  shard 1/1: refused"]


def test_the_json_report_says_what_became_of_each_shard_and_fails_without_one() -> None:
    data = report_data(RUN, LINES)
    assert data["ok"] is False  # every step passed, but shard 3 never reported
    assert data["shards"][0] == {
        "shard": "1/3",
        "state": "passed",
        "steps": 4,
        "duration": 41.2,
        "expected": 40.04,  # seconds to the millisecond
        "note": "",
    }
    assert data["shards"][2]["note"] == NOTE
    assert report_data(RUN, LINES[:2])["ok"] is True
    assert "shards" not in report_data(RUN)
    assert report_data(RUN)["ok"] is True


def test_the_markdown_summary_tables_the_shards() -> None:
    text = report_markdown(RUN, "acme-ci verdict", LINES)
    assert text.startswith("## acme-ci verdict: FAILED in 2.0s (native)")
    lines = text.splitlines()
    at = lines.index("| shard | outcome | steps | duration | expected |")
    assert lines[at - 1] == ""
    assert lines[at + 1] == "| --- | --- | ---: | ---: | ---: |"
    assert lines[at + 2] == "| 1/3 | passed | 4 | 41.2s | 40.0s |"
    assert lines[at + 4] == "| 3/3 | missing | 1 | 0.0s | 9.5s |"
    assert lines[at + 5] == f"- {NOTE}"
    assert report_markdown(RUN, "t", LINES[:2]).startswith("## t: passed")
    assert "| shard |" not in report_markdown(RUN)
