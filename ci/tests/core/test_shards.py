"""A plan cut into shards: expected durations, balance, dependencies, determinism."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acme_ci.core.affected import select_all
from acme_ci.core.plan import Plan, Step, make_plan
from acme_ci.core.shards import (
    MAX_AUTO_SHARDS,
    MAX_SHARDS,
    PRIOR_SECONDS_PER_MB,
    TARGET_SHARD_SECONDS,
    History,
    ShardError,
    ShardId,
    expected_seconds,
    make_shard_plan,
    parse_shard,
    parse_shard_count,
)
from acme_ci.core.test_groups import SuiteTiming
from acme_ci.core.workspace import parse_workspace

from .graphs import dag_manifests

WS = parse_workspace(
    {
        "libs/log": '[project]\nname = "log"\n',
        "libs/web": '[project]\nname = "web"\ndependencies = ["log"]\n',
        "services/user": (
            '[project]\nname = "user"\ndependencies = ["web"]\n'
            "[tool.acme.test]\nmax-suite-reruns = 4\n"
        ),
    }
)
PLAN = make_plan(WS, select_all(WS))


def step(step_id: str, needs: tuple[str, ...] = (), reads_needs: bool = True) -> Step:
    package, task = step_id.split(":")
    return Step(
        id=step_id,
        package=package,
        task=task,
        commands=(("true",),),
        workdir=package,
        env=(),
        inputs=(),
        needs=needs,
        outputs=(),
        reason="--all",
        reads_needs=reads_needs,
    )


def test_a_shard_is_named_k_of_n() -> None:
    assert parse_shard("2/4") == ShardId(2, 4)
    assert str(ShardId(2, 4)) == "2/4"
    assert parse_shard("1/1") == ShardId(1, 1)
    assert parse_shard(f"{MAX_SHARDS}/{MAX_SHARDS}") == ShardId(MAX_SHARDS, MAX_SHARDS)
    for bad in (
        "0/4",
        "5/4",
        "2",
        "2/",
        "/4",
        "a/4",
        "2/b",
        "-1/4",
        "2/4/1",
        f"1/{MAX_SHARDS + 1}",
    ):
        with pytest.raises(ShardError, match="expected K/N"):
            parse_shard(bad)
    assert sorted([ShardId(2, 3), ShardId(1, 3)]) == [ShardId(1, 3), ShardId(2, 3)]


def test_a_shard_count_is_auto_or_a_number_up_to_the_matrix_limit() -> None:
    assert parse_shard_count("auto") is None
    assert parse_shard_count("1") == 1
    assert parse_shard_count(str(MAX_SHARDS)) == MAX_SHARDS
    for bad in ("0", str(MAX_SHARDS + 1), "-2", "two", ""):
        with pytest.raises(ShardError, match="expected auto or a number"):
            parse_shard_count(bad)


def test_expected_durations_prefer_a_suites_timing_then_the_record_then_the_prior() -> None:
    history = History(
        durations={"log:test": 7.0, "log:lint": 2.0, "web:lint": 4.0, "user:test": 99.0},
        timings={"user": SuiteTiming({"tests/test_a.py": 10.0}, 1.5)},
        sizes={"log": 1_000_000, "web": 3_000_000, "user": 500_000},
    )
    expected = expected_seconds(PLAN, history)
    assert expected["user:test"] == 11.5  # the files' seconds and the overhead
    assert expected["log:test"] == 7.0
    # web:test never ran: its bytes at the seconds per byte the measured tests took (the
    # timed suite counts as measured only through the record).
    assert expected["web:test"] == pytest.approx(3_000_000 * (7.0 + 99.0) / 1_500_000)
    # Lint was measured on 4 MB in 6 s: user's 0.5 MB is expected to take 0.75 s.
    assert expected["user:lint"] == pytest.approx(0.75)
    # No build ever ran: the prior's own rate.
    assert expected["web:build"] == pytest.approx(3.0 * PRIOR_SECONDS_PER_MB["build"], rel=1e-12)


def test_without_sizes_or_history_the_prior_expects_nothing() -> None:
    assert set(expected_seconds(PLAN, History()).values()) == {0.0}
    odd = Plan((step("a:deploy"),))
    assert expected_seconds(odd, History(sizes={"a": 2_000_000})) == {
        "a:deploy": pytest.approx(2 * PRIOR_SECONDS_PER_MB["test"])
    }
    # A measured step in a package of unknown size gives no rate: the prior's is used.
    lone = History(durations={"log:lint": 50.0}, sizes={"web": 1_000_000})
    assert expected_seconds(PLAN, lone)["web:lint"] == pytest.approx(PRIOR_SECONDS_PER_MB["lint"])


def test_auto_takes_the_work_over_the_target_rounded_up_and_capped() -> None:
    durations = {s.id: 10.0 for s in PLAN.steps}  # 9 steps, 90 s
    shards = make_shard_plan(PLAN, History(durations=durations), None, target=20.0)
    assert (shards.count, shards.auto) == (5, True)
    assert make_shard_plan(PLAN, History(durations=durations), None, 90.0).count == 1
    assert make_shard_plan(PLAN, History(durations=durations), None, 89.9).count == 2
    # Never more shards than pieces to give them, nor than the cap.
    assert make_shard_plan(PLAN, History(durations=durations), None, 0.001).count == 9
    many = Plan(tuple(step(f"p{i}:lint") for i in range(40)))
    big = History(durations={s.id: 100.0 for s in many.steps})
    assert make_shard_plan(many, big, None, 1.0).count == MAX_AUTO_SHARDS
    # Nothing expected: one shard.
    assert make_shard_plan(PLAN, History(), None).count == 1
    assert make_shard_plan(Plan(()), History(), None).count == 1
    explicit = make_shard_plan(PLAN, History(), 3)
    assert (explicit.count, explicit.auto, explicit.target) == (3, False, TARGET_SHARD_SECONDS)


def test_longest_first_into_the_least_loaded_shard_in_plan_order_within() -> None:
    plan = Plan(tuple(step(f"{p}:lint") for p in "abcde"))
    durations = {"a:lint": 1.0, "b:lint": 5.0, "c:lint": 3.0, "d:lint": 3.0, "e:lint": 2.0}
    shards = make_shard_plan(plan, History(durations=durations), 2)
    # b (5) -> 1; c (3) -> 2; d (3, after c in plan order) -> 2; e (2) -> 1; a (1) -> 2.
    assert [s.steps for s in shards.shards] == [
        ("b:lint", "e:lint"),
        ("a:lint", "c:lint", "d:lint"),
    ]
    assert [s.expected for s in shards.shards] == [7.0, 7.0]
    assert [s.id for s in shards.shards] == [ShardId(1, 2), ShardId(2, 2)]
    assert shards.work == 14.0
    assert shards.shard_of("a:lint") == ShardId(2, 2)
    assert shards.shard(ShardId(1, 2)).steps == ("b:lint", "e:lint")
    with pytest.raises(ShardError, match="has 2 shards"):
        shards.shard(ShardId(1, 3))


def test_a_step_that_reads_its_needs_goes_with_them_and_a_gate_goes_anywhere() -> None:
    plan = Plan(
        (
            step("a:gen"),
            step("b:gen"),
            step("a:use", ("a:gen", "b:gen")),
            step("c:late", ("a:use",)),
            step("d:lint"),
            step("d:build", ("d:lint", "a:use"), reads_needs=False),
        )
    )
    durations = {"a:gen": 1.0, "b:gen": 1.0, "a:use": 1.0, "c:late": 1.0, "d:lint": 3.0}
    shards = make_shard_plan(plan, History(durations={**durations, "d:build": 3.0}), 3)
    assert [s.steps for s in shards.shards] == [
        ("a:gen", "b:gen", "a:use", "c:late"),
        ("d:lint",),
        ("d:build",),
    ]
    # The shard runs its steps with only the needs it holds; a gate elsewhere is dropped.
    assert shards.subplan(ShardId(3, 3)).steps[0].needs == ()
    assert shards.subplan(ShardId(1, 3)).get("c:late").needs == ("a:use",)
    assert shards.subplan(ShardId(1, 3)).selection is plan.selection
    together = make_shard_plan(plan, History(durations={**durations, "d:build": 0.5}), 2)
    assert together.shard_of("d:build") == together.shard_of("d:lint") == ShardId(2, 2)
    assert together.subplan(ShardId(2, 2)).get("d:build").needs == ("d:lint",)


def test_a_long_suite_is_split_into_groups_before_packing() -> None:
    timing = SuiteTiming({f"tests/test_{c}.py": 10.0 for c in "abcd"}, 2.0)  # 42 s
    history = History(durations={s.id: 1.0 for s in PLAN.steps}, timings={"user": timing})
    shards = make_shard_plan(PLAN, history, 2, target=30.0)
    groups = shards.groups["user:test"]
    assert len(groups) == 4  # 42 s over pieces of 10 s, one file each
    ids = [f"user:test[{i}/4]" for i in (1, 2, 3, 4)]
    assert [s.id for s in shards.plan.steps if s.part_of == "user:test"] == ids
    assert all(shards.expected[i] == 12.0 for i in ids)
    assert shards.expected["user:test"] == 42.0
    before = PLAN.get("user:build").needs
    assert before[:2] == ("user:lint", "user:test")
    assert shards.plan.get("user:build").needs == ("user:lint", *ids, *before[2:])
    assert shards.base == PLAN
    assert sorted(s.expected for s in shards.shards) == [28.0, 28.0]
    # A timed suite under the target (and the mean shard), or another package's timing,
    # splits nothing.
    assert make_shard_plan(PLAN, history, None, target=42.0).groups == {}
    assert make_shard_plan(PLAN, history, 1, target=42.0).groups == {}
    lint_only = Plan((step("user:lint"),))
    assert make_shard_plan(lint_only, history, 1, target=1.0).groups == {}


def test_a_suite_longer_than_the_mean_shard_is_split_when_the_count_is_given() -> None:
    timing = SuiteTiming({f"tests/test_{c}.py": 10.0 for c in "abcd"}, 2.0)  # 42 s
    history = History(durations={s.id: 1.0 for s in PLAN.steps}, timings={"user": timing})
    # 50 s of work: under the 60 s target, one shard (or auto's one) holds the suite whole.
    assert make_shard_plan(PLAN, history, None, target=60.0).groups == {}
    assert make_shard_plan(PLAN, history, 1, target=60.0).groups == {}
    # Two shards of 25 s: the 42 s suite would be the wall, so it is cut, in groups as long
    # as one shard holds whole (25 s here, over a third of the target), not in three of 20 s:
    # two groups pay the suite's 2 s overhead once more, not twice.
    two = make_shard_plan(PLAN, history, 2, target=60.0)
    assert [g.expected for g in two.groups["user:test"]] == [22.0, 22.0]
    assert [s.expected for s in two.shards] == [26.0, 26.0]  # 42 + 2 s overhead + 8 s


def test_the_digest_names_the_steps_and_the_cut() -> None:
    durations = {s.id: float(i) for i, s in enumerate(PLAN.steps)}
    one = make_shard_plan(PLAN, History(durations=durations), 2)
    assert one.digest == make_shard_plan(PLAN, History(durations=durations), 2).digest
    assert len(one.digest) == 64
    # Other durations that cut the same way: the same digest (durations are not in it).
    same_cut = {k: v * 2 for k, v in durations.items()}
    assert make_shard_plan(PLAN, History(durations=same_cut), 2).digest == one.digest
    assert make_shard_plan(PLAN, History(durations=durations), 3).digest != one.digest
    reversed_cut = {k: -v for k, v in durations.items()}
    other = make_shard_plan(PLAN, History(durations=reversed_cut), 2)
    assert [s.steps for s in other.shards] != [s.steps for s in one.shards]
    assert other.digest != one.digest
    moved = Plan(
        tuple(
            Step(**{**s.__dict__, "workdir": "x"}) if s.id == "log:lint" else s for s in PLAN.steps
        )
    )
    assert make_shard_plan(moved, History(durations=durations), 2).digest != one.digest


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    dag_manifests(max_size=7),
    st.integers(min_value=1, max_value=6),
    st.lists(st.floats(min_value=0.0, max_value=100.0), min_size=21, max_size=21),
)
def test_every_step_lands_in_exactly_one_shard_balanced_and_the_same_every_time(
    graph: dict[str, tuple[str, ...]], count: int, seconds: list[float]
) -> None:
    ws = parse_workspace(
        {
            f"libs/{name}": f'[project]\nname = "{name}"\ndependencies = {list(deps)!r}\n'.replace(
                "'", '"'
            )
            for name, deps in graph.items()
        }
    )
    plan = make_plan(ws, select_all(ws))
    history = History(durations={s.id: seconds[i] for i, s in enumerate(plan.steps)})
    shards = make_shard_plan(plan, history, count)
    placed = [step_id for shard in shards.shards for step_id in shard.steps]
    assert sorted(placed) == sorted(s.id for s in plan.steps)
    assert len(placed) == len(set(placed))
    work = shards.work
    longest = max((shards.expected[s.id] for s in plan.steps), default=0.0)
    assert max(s.expected for s in shards.shards) <= work / count + longest + 1e-9
    assert all(
        s.expected == pytest.approx(sum(shards.expected[i] for i in s.steps)) for s in shards.shards
    )
    again = make_shard_plan(plan, history, count)
    assert again.shards == shards.shards
    assert again.digest == shards.digest
    for shard in shards.shards:
        sub = shards.subplan(shard.id)
        assert [s.id for s in sub.steps] == list(shard.steps)
        assert all(set(s.needs) <= set(shard.steps) for s in sub.steps)
    auto = make_shard_plan(plan, history, None, target=50.0)
    wanted = max(1, min(MAX_AUTO_SHARDS, len(plan.steps), math.ceil(work / 50.0)))
    assert auto.count == wanted


def test_the_packing_evens_out_a_shard_the_greedy_pass_leaves_long() -> None:
    # Longest first to the least loaded: 5 | 4, then 5 | 4 3, 5 3 | 4 3, 5 3 | 4 3 3: 8 and
    # 10. Swapping the 4 for a 3 ends both at 9, the best there is.
    seconds = {"a:lint": 5.0, "b:lint": 4.0, "c:lint": 3.0, "d:lint": 3.0, "e:lint": 3.0}
    plan = Plan(tuple(step(step_id) for step_id in seconds))
    shards = make_shard_plan(plan, History(durations=seconds), 2)
    assert [s.expected for s in shards.shards] == [9.0, 9.0]
    assert [set(s.steps) for s in shards.shards] == [
        {"a:lint", "b:lint"},
        {"c:lint", "d:lint", "e:lint"},
    ]
    # Nothing to gain: left as the greedy pass made it.
    even = {"a:lint": 2.0, "b:lint": 2.0, "c:lint": 2.0, "d:lint": 2.0}
    plan = Plan(tuple(step(step_id) for step_id in even))
    assert [s.steps for s in make_shard_plan(plan, History(durations=even), 2).shards] == [
        ("a:lint", "c:lint"),
        ("b:lint", "d:lint"),
    ]
