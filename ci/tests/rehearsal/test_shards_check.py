"""The `shards` rehearsal's verdict: the sharded run's steps and verdicts read from the
summaries the core writes (verdict's, with its shard lines, and ci's), and compared (no
podman, no S3 here)."""

from __future__ import annotations

from acme_ci.core.plan import Plan
from acme_ci.core.scheduler import RunResult, StepResult
from acme_ci.core.shard_report import ShardLine
from acme_ci.core.shards import ShardId
from acme_ci.core.summary import summary_text
from acme_ci.rehearsal.shards_check import compared, step_statuses

STEPS = ("acme-logger:lint", "acme-logger:test", "acme-logger:build")


def summary(*results: StepResult, shards: tuple[ShardLine, ...] = ()) -> str:
    return summary_text(RunResult(Plan(()), results, 3.0, runner="dagger"), shards)


def test_statuses_are_read_from_the_table_of_ci_and_of_the_verdict() -> None:
    failed = StepResult(STEPS[1], "failed", output="  passed  failed\nexit code 1")
    results = (StepResult(STEPS[0], "passed"), failed, StepResult(STEPS[2], "blocked"))
    lines = (
        ShardLine(ShardId(1, 2), "passed", 2, 1.0, 1.0),
        ShardLine(ShardId(2, 2), "missing", 1, 1.0),
    )
    expected = {STEPS[0]: "passed", STEPS[1]: "failed", STEPS[2]: "blocked"}
    assert step_statuses(summary(*results)) == expected
    assert step_statuses(summary(*results, shards=lines)) == expected
    assert step_statuses("") == {}


def test_the_same_steps_with_the_same_verdicts_agree() -> None:
    ran = {s: "passed" for s in STEPS}
    assert compared(ran, ran) == []
    # A step the cache answered passed as one that ran.
    assert compared(ran, {**ran, STEPS[0]: "cached"}) == []
    assert compared(ran, {**ran, STEPS[1]: "failed"}) == [
        "acme-logger:test: passed sharded, failed unsharded"
    ]
    assert compared({STEPS[0]: "passed"}, {STEPS[1]: "passed"}) == [
        "only sharded: acme-logger:lint",
        "only unsharded: acme-logger:test",
    ]
