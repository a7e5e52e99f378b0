"""Every shard's report gathered into one verdict: the run an unsharded run would report. Pure.

Each step's result comes from the report of the shard that ran it. A shard with no usable
report (it died, was cancelled, never started, or its report is refused: from another plan,
or failing its checks) is a failure, named, never a silent pass: each of its steps fails
with "shard K/N never reported: its steps ... have no result". A split suite's groups are
judged as one test step again (acme_ci.core.verdict.merged_test_result) and their JUnit
reports merged into one per package. Then every gate is applied across shards, in plan
order: a step whose need did not pass, in any shard, is blocked, as in an unsharded run
(where a build that started early is blocked, never passed, when a gate fails).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from acme_ci.core.scheduler import RunResult, StepResult
from acme_ci.core.shard_report import ShardLine, ShardReport, ShardState
from acme_ci.core.shards import Shard, ShardId, ShardPlan
from acme_ci.core.test_groups import suite_rerun_cap
from acme_ci.core.verdict import merged_junit, merged_test_result


@dataclass(frozen=True)
class GatheredRun:
    """The verdict of a sharded run.

    `run` is over the unsharded plan (what one runner would report); `shards` says what
    became of each shard; `junit` holds each tested package's JUnit report (groups merged);
    `executed` is every result a shard reported, by the step it ran (groups apart), and
    `step_junit` their JUnit reports: what the durations history learns from.
    """

    run: RunResult
    shards: tuple[ShardLine, ...]
    junit: Mapping[str, str]
    executed: tuple[StepResult, ...]
    step_junit: Mapping[str, str]

    @property
    def ok(self) -> bool:
        """Every step passed and every shard reported (an empty shard included)."""
        return self.run.ok and all(line.reported for line in self.shards)


def gather(
    shards: ShardPlan, reports: Iterable[ShardReport], problems: Mapping[ShardId, str]
) -> GatheredRun:
    """The one verdict of `shards`' run from its shards' `reports` (at most one a shard);
    `problems` says why a shard's report could not be read (it counts as missing)."""
    usable: dict[ShardId, ShardReport] = {}
    refused = dict(problems)
    for report in reports:
        if report.digest == shards.digest:
            usable[report.shard] = report
        else:
            refused[report.shard] = (
                f"its report is from another plan (digest {report.digest[:12]}, this "
                f"plan's {shards.digest[:12]}): refused"
            )
    results: dict[str, StepResult] = {}
    lines = []
    for shard in shards.shards:
        found = usable.get(shard.id)
        if found is None:
            line = _absent(shard, refused.get(shard.id))
            results.update({i: StepResult(i, "failed", output=line.note) for i in shard.steps})
        else:
            line = _reported(shard, found, results)
        lines.append(line)
    junit = {i: text for report in usable.values() for i, text in report.junit.items()}
    merged = _merged(shards, results, junit)
    ordered = tuple(usable[shard.id] for shard in shards.shards if shard.id in usable)
    run = RunResult(
        plan=shards.base,
        results=tuple(merged[step.id] for step in shards.base.steps),
        duration=max((r.duration for r in ordered), default=0.0),
        runner=ordered[0].runner if ordered else "native",
        warnings=tuple(f"shard {r.shard}: {w}" for r in ordered for w in r.warnings),
        expected={step.id: shards.expected[step.id] for step in shards.base.steps},
        remote_cache=next((r.remote_cache for r in ordered if r.remote_cache), None),
    )
    return GatheredRun(
        run,
        tuple(lines),
        _package_reports(shards, junit),
        tuple(r for report in ordered for r in report.results),
        junit,
    )


def _absent(shard: Shard, refused: str | None) -> ShardLine:
    steps = ", ".join(shard.steps) or "none"
    if refused is None:
        note = f"shard {shard.id} never reported: its steps ({steps}) have no result"
    else:
        note = f"shard {shard.id}: {refused}; its steps ({steps}) have no result"
    state: ShardState = "missing" if refused is None else "refused"
    return ShardLine(shard.id, state, len(shard.steps), shard.expected, note=note)


def _reported(shard: Shard, report: ShardReport, results: dict[str, StepResult]) -> ShardLine:
    """Take the shard's results from its report (a step it lacks fails, named)."""
    got = {r.step_id: r for r in report.results}
    for step_id in shard.steps:
        results[step_id] = got.get(step_id) or StepResult(
            step_id, "failed", output=f"shard {shard.id}'s report has no result for {step_id}"
        )
    ok = all(results[step_id].ok for step_id in shard.steps)
    return ShardLine(
        shard.id, "passed" if ok else "failed", len(shard.steps), shard.expected, report.duration
    )


def _merged(
    shards: ShardPlan, results: Mapping[str, StepResult], junit: Mapping[str, str]
) -> dict[str, StepResult]:
    """Each step of the unsharded plan: its groups judged as one, then its gates applied."""
    merged: dict[str, StepResult] = {}
    for step in shards.base.steps:
        parts = _parts(shards, step.id)
        if parts:
            texts = [junit[i] for i in parts if i in junit]
            own = merged_test_result(
                step, [results[i] for i in parts], texts, suite_rerun_cap(step)
            )
        else:
            own = results[step.id]
        blockers = tuple(need for need in step.needs if not merged[need].ok)
        merged[step.id] = StepResult(step.id, "blocked", blocked_by=blockers) if blockers else own
    return merged


def _parts(shards: ShardPlan, step_id: str) -> list[str]:
    """The ids of the groups a split test step ran as (none for a whole step)."""
    return [step.id for step in shards.plan.steps if step.part_of == step_id]


def _package_reports(shards: ShardPlan, junit: Mapping[str, str]) -> dict[str, str]:
    """Each test step's JUnit report by package; a split suite's groups merged into one."""
    reports: dict[str, str] = {}
    for step in shards.base.steps:
        parts = _parts(shards, step.id)
        if parts:
            reports[step.package] = merged_junit([junit[i] for i in parts if i in junit])
        elif step.id in junit:
            reports[step.package] = junit[step.id]
    return reports
