"""The bytes a run moved to and from the remote cache, as the summary writes them: decimal
units (B, kB, MB) switching exactly at 1,000 and 1,000,000 bytes, one decimal. Fast
companions of test_report.py, added for mutation testing (bench/mutation.py).
"""

from __future__ import annotations

import pytest

from acme_ci.core.plan import Plan, Step
from acme_ci.core.scheduler import RunResult, StepResult
from acme_ci.core.summary import summary_text

URL = "s3://bucket/ci"


def step(step_id: str) -> Step:
    package, task = step_id.split(":")
    return Step(
        id=step_id,
        package=package,
        task=task,
        commands=(("uv", "build"),),
        workdir="libs/a",
        env=(),
        inputs=("uv.lock",),
        needs=(),
        outputs=(),
        reason="--all",
    )


PLAN = Plan((step("a:build"), step("b:build")))


def remote_line(*results: StepResult) -> str:
    text = summary_text(RunResult(PLAN, results, duration=1.0, remote_cache=URL))
    return next(line for line in text.splitlines() if line.startswith("Remote cache "))


def remote_cell(result: StepResult) -> str:
    """The remote column of the step's row: the last two cells before the flakes."""
    text = summary_text(RunResult(PLAN, (result,), duration=1.0, remote_cache=URL))
    row = next(line.split() for line in text.splitlines() if line.startswith(f"  {result.step_id}"))
    return " ".join(row[4:-1])


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (1, "1 B"),
        (999, "999 B"),
        (1_000, "1.0 kB"),
        (1_001, "1.0 kB"),
        (1_050, "1.1 kB"),
        (123_456, "123.5 kB"),
        (999_000, "999.0 kB"),
        (1_000_000, "1.0 MB"),
        (1_000_001, "1.0 MB"),
        (1_050_000, "1.1 MB"),
        (3_400_000, "3.4 MB"),
        (123_456_789_012, "123456.8 MB"),
    ],
)
def test_sizes_are_shown_in_decimal_units_with_one_decimal(size: int, shown: str) -> None:
    uploaded = StepResult("a:build", "passed", duration=1.0, cache_bytes=size)
    assert remote_cell(uploaded) == f"up {shown}"
    downloaded = StepResult("a:build", "cached", cache_source="remote", cache_bytes=size)
    assert remote_cell(downloaded) == f"down {shown}"
    assert remote_line(uploaded) == f"Remote cache {URL}: 0 hits, 0 B downloaded, {shown} uploaded"


def test_a_step_that_moved_nothing_shows_a_dash() -> None:
    assert remote_cell(StepResult("a:build", "passed", duration=1.0)) == "-"


def test_the_totals_count_hits_as_downloads_and_every_other_step_as_an_upload() -> None:
    line = remote_line(
        StepResult("a:build", "cached", cache_source="remote", cache_bytes=2_500),
        StepResult("b:build", "passed", duration=1.0, cache_bytes=700),
    )
    assert line == f"Remote cache {URL}: 1 hits, 2.5 kB downloaded, 700 B uploaded"
