"""One verdict from every shard's report: groups judged as one suite again, gates applied
across shards, a shard without a usable report a named failure."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from acme_ci.core.affected import select_all
from acme_ci.core.junit import parse_junit
from acme_ci.core.plan import make_plan
from acme_ci.core.scheduler import Flake, StepResult
from acme_ci.core.shard_gather import gather
from acme_ci.core.shard_report import ShardReport
from acme_ci.core.shards import History, ShardId, ShardPlan, make_shard_plan
from acme_ci.core.test_groups import SuiteTiming
from acme_ci.core.workspace import parse_workspace

WS = parse_workspace(
    {
        "libs/log": '[project]\nname = "log"\n',
        "services/user": (
            '[project]\nname = "user"\ndependencies = ["log"]\n'
            "[tool.acme.test]\nmax-suite-reruns = 2\n"
        ),
    }
)
PLAN = make_plan(WS, select_all(WS))
GROUPS = [f"user:test[{i}/3]" for i in (1, 2, 3)]


def shard_plan() -> ShardPlan:
    timing = SuiteTiming({f"tests/test_{c}.py": 10.0 for c in "abc"}, 0.0)
    durations = {"log:lint": 3.0, "log:test": 2.5, "log:build": 2.0, "user:lint": 1.5}
    history = History(durations={**durations, "user:build": 1.0}, timings={"user": timing})
    return make_shard_plan(PLAN, history, 3, target=20.0)


SHARDS = shard_plan()


def junit(test: str, attempts: int = 1, failed: bool = False) -> str:
    """One test's JUnit report: its reruns as repeated testcases, its last attempt deciding."""
    cases = '<testcase classname="tests.t" name="{}" time="1.0"><failure/></testcase>' * (
        attempts - 1
    )
    last = "<failure/>" if failed else ""
    body = cases.format(*[test] * (attempts - 1))
    body += f'<testcase classname="tests.t" name="{test}" time="1.0">{last}</testcase>'
    tests = 1 if attempts == 1 else 0  # reruns: `tests` counts tests, not attempts
    return (
        f'<testsuites><testsuite name="pytest" tests="{tests}" failures="{int(failed)}" '
        f'errors="0" skipped="0" time="{attempts:.1f}">{body}</testsuite></testsuites>'
    )


def report(
    index: int,
    statuses: Mapping[str, str] | None = None,
    junits: Mapping[str, str] | None = None,
    results: Mapping[str, StepResult] | None = None,
    digest: str | None = None,
) -> ShardReport:
    """Shard `index`'s report: every step passed unless `statuses` or `results` say more."""
    shard = SHARDS.shards[index - 1]
    made = []
    for step_id in shard.steps:
        status = (statuses or {}).get(step_id, "passed")
        result = StepResult(step_id, status, duration=1.0, output=f"{step_id} said {status}")  # type: ignore[arg-type]
        made.append((results or {}).get(step_id, result))
    texts = {i: junit(i) for i in shard.steps if ":test" in i}
    return ShardReport(
        shard.id,
        digest or SHARDS.digest,
        "run",
        1,
        tuple(made),
        duration=10.0 * index,
        junit={**texts, **{k: v for k, v in (junits or {}).items() if k in shard.steps}},
        remote_cache="s3://b/ci" if index == 2 else None,
        warnings=(f"note from {index}",),
    )


def all_reports(**kwargs: object) -> list[ShardReport]:
    return [report(i, **kwargs) for i in (1, 2, 3)]  # type: ignore[arg-type]


def statuses(
    reports: list[ShardReport], problems: Mapping[ShardId, str] | None = None
) -> dict[str, str]:
    gathered = gather(SHARDS, reports, problems or {})
    return {r.step_id: r.status for r in gathered.run.results}


def test_the_cut_spreads_the_groups_and_puts_a_build_apart_from_its_gates() -> None:
    """What the other tests rely on: the groups in three shards, user's build apart."""
    assert {SHARDS.shard_of(i) for i in GROUPS} == {ShardId(1, 3), ShardId(2, 3), ShardId(3, 3)}
    assert SHARDS.shard_of("user:build") != SHARDS.shard_of("user:test[1/3]")


def test_every_shard_passed_is_the_unsharded_runs_verdict() -> None:
    gathered = gather(SHARDS, all_reports(), {})
    assert gathered.ok
    run = gathered.run
    assert [r.step_id for r in run.results] == [s.id for s in PLAN.steps]
    assert set(statuses(all_reports()).values()) == {"passed"}
    assert run.plan is SHARDS.base
    user = run.results[[s.id for s in PLAN.steps].index("user:test")]
    assert (user.duration, user.passed_tests) == (3.0, 0)
    assert run.duration == 30.0  # the slowest shard
    assert run.runner == "native"
    assert run.remote_cache == "s3://b/ci"
    assert run.warnings == (
        "shard 1/3: note from 1",
        "shard 2/3: note from 2",
        "shard 3/3: note from 3",
    )
    assert run.expected == {s.id: SHARDS.expected[s.id] for s in PLAN.steps}
    assert [line.state for line in gathered.shards] == ["passed"] * 3
    assert [line.shard for line in gathered.shards] == [s.id for s in SHARDS.shards]
    assert [line.duration for line in gathered.shards] == [10.0, 20.0, 30.0]
    assert [line.steps for line in gathered.shards] == [len(s.steps) for s in SHARDS.shards]
    assert [line.expected for line in gathered.shards] == [s.expected for s in SHARDS.shards]
    assert len(gathered.executed) == len(SHARDS.plan.steps)
    assert set(gathered.step_junit) == {*GROUPS, "log:test"}
    # One JUnit report per tested package, the groups' suites in one.
    assert set(gathered.junit) == {"user", "log"}
    assert gathered.junit["log"] == junit("log:test")
    merged = parse_junit(gathered.junit["user"])
    assert sorted(o.test_id for o in merged.outcomes) == [f"tests.t::{i}" for i in GROUPS]


def test_a_failed_group_fails_its_suite_and_blocks_the_build_in_another_shard() -> None:
    failing = GROUPS[1]
    failed_result = StepResult(
        failing, "failed", duration=2.0, output="assert 1 == 2", failed_tests=("tests.t::x",)
    )
    reports = all_reports(results={failing: failed_result})
    gathered = gather(SHARDS, reports, {})
    status = {r.step_id: r for r in gathered.run.results}
    assert status["user:test"].status == "failed"
    assert status["user:test"].failed_tests == ("tests.t::x",)
    assert f"{failing}:\nassert 1 == 2" in status["user:test"].output
    # The build passed in its own shard; its gate failed in another: blocked, as unsharded.
    assert status["user:build"].status == "blocked"
    assert status["user:build"].blocked_by == ("user:test",)
    assert status["log:build"].status == "passed"
    assert not gathered.ok
    failed_shard = SHARDS.shard_of(failing)
    line = gathered.shards[failed_shard.index - 1]
    assert line.state == "failed"


def test_a_step_blocked_inside_its_shard_is_named_blocked_by_the_unsharded_step() -> None:
    """A build in the shard of its failing group is blocked there by the group; the verdict
    names the suite, as one runner would."""
    shard = SHARDS.shard_of("user:build")
    group = next(i for i in GROUPS if SHARDS.shard_of(i) != shard)
    blocked = StepResult("user:build", "blocked", blocked_by=(group,))
    reports = all_reports(statuses={group: "failed"}, results={"user:build": blocked})
    result = {r.step_id: r for r in gather(SHARDS, reports, {}).run.results}["user:build"]
    assert (result.status, result.blocked_by) == ("blocked", ("user:test",))


def test_a_shard_that_never_reported_fails_naming_its_steps() -> None:
    reports = [report(1), report(3)]
    gathered = gather(SHARDS, reports, {})
    assert not gathered.ok
    missing = SHARDS.shards[1]
    note = f"shard 2/3 never reported: its steps ({', '.join(missing.steps)}) have no result"
    line = gathered.shards[1]
    assert (line.shard, line.state, line.note) == (ShardId(2, 3), "missing", note)
    assert (line.steps, line.expected, line.duration) == (len(missing.steps), missing.expected, 0.0)
    results = {r.step_id: r for r in gathered.run.results}
    for step_id in missing.steps:
        base = SHARDS.plan.get(step_id).part_of or step_id
        assert results[base].status in ("failed", "blocked")
    assert any(note in r.output for r in gathered.run.results)
    assert gathered.run.duration == 30.0
    assert len(gathered.executed) == len(SHARDS.plan.steps) - len(missing.steps)
    # None reported at all: every step fails, nothing is measured, and the run says native.
    nothing = gather(SHARDS, [], {})
    assert not nothing.ok
    assert {r.status for r in nothing.run.results} <= {"failed", "blocked"}
    assert (nothing.run.duration, nothing.run.runner, nothing.run.remote_cache) == (
        0.0,
        "native",
        None,
    )
    assert nothing.executed == ()


def test_the_run_is_said_to_be_by_the_runner_the_shards_ran_on() -> None:
    reports = [
        ShardReport(
            r.shard, r.digest, r.run_id, r.attempt, r.results, r.duration, r.junit, "elsewhere"
        )
        for r in all_reports()
    ]
    assert gather(SHARDS, reports, {}).run.runner == "elsewhere"


def test_an_empty_shard_that_never_reported_still_fails_the_verdict() -> None:
    shards = make_shard_plan(PLAN, History(), 12)
    assert shards.shards[-1].steps == ()
    reports = [
        ShardReport(
            s.id, shards.digest, "run", 1, tuple(StepResult(i, "passed") for i in s.steps), 1.0
        )
        for s in shards.shards[:-1]
    ]
    gathered = gather(shards, reports, {})
    assert gathered.run.ok
    assert not gathered.ok
    assert gathered.shards[-1].note == "shard 12/12 never reported: its steps (none) have no result"


def test_a_report_from_another_plan_or_unreadable_is_refused_named() -> None:
    other = report(2, digest="e" * 64)
    gathered = gather(SHARDS, [report(1), other, report(3)], {})
    line = gathered.shards[1]
    assert line.state == "refused"
    assert line.note.startswith(
        f"shard 2/3: its report is from another plan (digest eeeeeeeeeeee, this plan's "
        f"{SHARDS.digest[:12]}): refused; its steps ("
    )
    assert not gathered.ok
    unreadable = gather(SHARDS, [report(1), report(3)], {ShardId(2, 3): "its report is torn"})
    assert unreadable.shards[1].state == "refused"
    assert unreadable.shards[1].note.startswith("shard 2/3: its report is torn; its steps (")


def test_a_report_missing_one_of_its_steps_fails_that_step() -> None:
    shard = SHARDS.shards[0]
    short = report(1)
    short = ShardReport(short.shard, short.digest, "run", 1, short.results[1:], 1.0)
    gathered = gather(SHARDS, [short, report(2), report(3)], {})
    lost = shard.steps[0]
    base = SHARDS.plan.get(lost).part_of or lost
    result = {r.step_id: r for r in gathered.run.results}[base]
    assert result.status == "failed"
    assert f"shard 1/3's report has no result for {lost}" in result.output
    assert gathered.shards[0].state == "failed"


def test_groups_rerunning_more_than_the_suites_cap_fail_it_naming_the_cap() -> None:
    # Each group reran once (within its own cap of 2); three reruns together exceed it.
    flaky = {i: junit(i, attempts=2) for i in GROUPS}
    flakes = {
        i: StepResult(i, "passed", flakes=(Flake(f"tests.t::{i}", "user", 2),), attempts=2)
        for i in GROUPS
    }
    gathered = gather(SHARDS, all_reports(junits=flaky, results=flakes), {})
    user = {r.step_id: r for r in gathered.run.results}["user:test"]
    assert user.status == "failed"
    assert user.output == (
        "user: 3 reruns across its 3 groups, over the suite's cap of 2 (--max-suite-reruns): "
        "run whole, the suite would have stopped rerunning and failed"
    )
    assert len(user.flakes) == 3
    assert {r.step_id: r.status for r in gathered.run.results}["user:build"] == "blocked"
    # Two reruns are within the cap: the flakes pass and are reported.
    within = {i: junit(i, attempts=2 if i != GROUPS[2] else 1) for i in GROUPS}
    ok = gather(SHARDS, all_reports(junits=within, results=flakes), {})
    user = {r.step_id: r for r in ok.run.results}["user:test"]
    assert (user.status, user.attempts) == ("passed", 2)
    assert [f.test_id for f in ok.run.flakes] == [f"tests.t::{i}" for i in GROUPS]


def test_a_suite_whose_groups_all_came_from_the_cache_is_cached() -> None:
    cached = {
        i: StepResult(i, "cached", duration=1.0, cache_source=src, cache_bytes=10)
        for i, src in zip(GROUPS, ("local", "remote", "remote"), strict=True)
    }
    gathered = gather(SHARDS, all_reports(results=cached), {})
    user = {r.step_id: r for r in gathered.run.results}["user:test"]
    assert (user.status, user.cache_source, user.cache_bytes) == ("cached", "local+remote", 30)
    half = {GROUPS[0]: cached[GROUPS[0]]}
    user = {r.step_id: r for r in gather(SHARDS, all_reports(results=half), {}).run.results}[
        "user:test"
    ]
    assert (user.status, user.cache_source, user.cache_bytes) == ("passed", None, 10)


def test_the_merged_junit_report_sums_its_suites() -> None:
    flaky = {GROUPS[0]: junit(GROUPS[0], attempts=3, failed=True)}
    gathered = gather(SHARDS, all_reports(junits=flaky), {})
    text = gathered.junit["user"]
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>\n<testsuites")
    root = re.search(r"<testsuites[^>]*>", text)
    assert root is not None
    assert 'name="pytest tests"' in root.group(0)
    assert 'tests="2"' in root.group(0)  # 0 (a rerun suite counts attempts apart) + 1 + 1
    assert 'failures="1"' in root.group(0)
    assert 'errors="0"' in root.group(0)
    assert 'skipped="0"' in root.group(0)
    assert 'time="5.000"' in root.group(0)
    outcomes = {o.test_id: o for o in parse_junit(text).outcomes}
    assert outcomes[f"tests.t::{GROUPS[0]}"].attempts == 3
    assert not outcomes[f"tests.t::{GROUPS[0]}"].passed


def test_an_unreadable_group_report_is_left_out_of_the_merge_and_the_rerun_count() -> None:
    broken = {GROUPS[0]: "<testsuites", GROUPS[1]: junit(GROUPS[1], attempts=4)}
    gathered = gather(SHARDS, all_reports(junits=broken), {})
    outcomes = [o.test_id for o in parse_junit(gathered.junit["user"]).outcomes]
    assert outcomes == [f"tests.t::{i}" for i in GROUPS[1:]]
    user = {r.step_id: r for r in gathered.run.results}["user:test"]
    assert "3 reruns across its 3 groups, over the suite's cap of 2" in user.output


def test_a_suite_without_a_cap_never_fails_on_reruns() -> None:
    plain = parse_workspace({"libs/log": '[project]\nname = "log"\n'})
    plan = make_plan(plain, select_all(plain))
    timing = SuiteTiming({"tests/test_a.py": 10.0, "tests/test_b.py": 10.0})
    shards = make_shard_plan(plan, History(timings={"log": timing}), 1, target=5.0)
    ids = [s.id for s in shards.plan.steps if s.part_of]
    (shard,) = shards.shards
    rerun = ShardReport(
        shard.id,
        shards.digest,
        "run",
        1,
        tuple(StepResult(i, "passed") for i in shard.steps),
        1.0,
        junit={i: junit(i, attempts=9) for i in ids},
    )
    assert gather(shards, [rerun], {}).ok


@pytest.mark.parametrize("missing_group", [0, 2])
def test_a_group_without_a_junit_report_still_judges_by_its_result(missing_group: int) -> None:
    texts = {i: junit(i) for n, i in enumerate(GROUPS) if n != missing_group}
    reports = all_reports()
    reports = [
        ShardReport(
            r.shard,
            r.digest,
            r.run_id,
            r.attempt,
            r.results,
            r.duration,
            {k: v for k, v in r.junit.items() if k in texts or ":test[" not in k},
        )
        for r in reports
    ]
    gathered = gather(SHARDS, reports, {})
    assert gathered.ok
    assert len(parse_junit(gathered.junit["user"]).outcomes) == 2


def test_a_suites_counts_and_failures_are_its_groups_together() -> None:
    results = {
        GROUPS[0]: StepResult(GROUPS[0], "failed", output="first", passed_tests=3, skipped_tests=1),
        GROUPS[1]: StepResult(GROUPS[1], "passed", passed_tests=4, skipped_tests=2, attempts=3),
        GROUPS[2]: StepResult(GROUPS[2], "failed", output="third", passed_tests=5),
    }
    gathered = gather(SHARDS, all_reports(results=results), {})
    user = {r.step_id: r for r in gathered.run.results}["user:test"]
    assert (user.passed_tests, user.skipped_tests, user.attempts) == (12, 3, 3)
    assert user.output == f"{GROUPS[0]}:\nfirst\n{GROUPS[2]}:\nthird"


def test_a_suite_without_counts_in_a_group_report_merges_as_zero() -> None:
    bare = '<testsuite name="x"><testcase classname="tests.t" name="bare"/></testsuite>'
    gathered = gather(SHARDS, all_reports(junits={GROUPS[0]: bare}), {})
    text = gathered.junit["user"]
    assert '<testsuites name="pytest tests" tests="2" failures="0" errors="0" skipped="0"' in text
    assert 'time="2.000"' in text
    assert "tests.t::bare" in [o.test_id for o in parse_junit(text).outcomes]
