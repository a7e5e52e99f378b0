"""Past one runner: a plan cut into shards, each run by a runner (a CI job) of its own. Pure.

Expected durations in, balanced shards out. A step's expected duration is what earlier
runs measured (`History`), or, for a step never measured, the first-run prior: its
package's size in bytes at the seconds per byte the plan's measured steps of the same task
took (a fresh runner knows nothing else; the biggest package's suite is the longest), at
PRIOR_SECONDS_PER_MB when none is measured. A test suite longer than a shard's length (the
target, or the work / N when N is given and that is shorter) is first cut into groups of
its files, each sized for the target (acme_ci.core.test_groups).

Steps are packed longest first, each into the shard with the least expected work so far
(ties: the lower shard), a plan's steps in plan order within a shard: the same plan and
durations give the same shards on every runner. Greedy packing ends each shard within one
piece of the mean: the longest shard is at most the work / N plus the longest step.

Dependencies. A step that reads its needs' outputs (`Step.reads_needs`) is packed together
with them, as one piece. Today the only cross-step needs are a build's gates on its
package's lint and test (and its dependencies' tests), and a build reads none of their
outputs: a build goes wherever it balances best, runs at once in its shard, and the gate is
applied in the verdict, which reports it blocked when a need failed in any shard, as an
unsharded run does when a build started early. The alternatives cost more: taking the
needs' results from the shared cache would make the build's shard wait on (and poll for)
another runner, and fail with it when it dies; repeating the needs locally would run the
longest steps (the tests) twice.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

from acme_ci.core.plan import Plan
from acme_ci.core.test_groups import (
    SuiteTiming,
    TestGroup,
    cut_spec,
    group_id,
    group_length,
    plan_with_groups,
    split_suite,
)

# The length a shard aims at under `--shards auto`: long enough that a runner's start-up
# (checkout, environment) stays a small share, short enough for a quick verdict.
TARGET_SHARD_SECONDS = 60.0
MAX_AUTO_SHARDS = 16
# A bound on the packing's evening out (each change shortens the longest shard).
MAX_EVEN_OUT_CHANGES = 1000
# A GitHub Actions matrix runs at most this many jobs.
MAX_SHARDS = 256
# The first-run prior per task, in seconds per megabyte of the package's tracked files:
# this repository's cold run (1.37 MB; lint about 17 s, tests 150 s, builds 17 s in all).
PRIOR_SECONDS_PER_MB = {"lint": 12.0, "test": 110.0, "build": 12.0}


class ShardError(ValueError):
    """A shard name, a shard count or a shard plan that cannot be used."""


@dataclass(frozen=True, order=True)
class ShardId:
    """Shard `index` (from 1) of `count`, written K/N."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> ShardId:
    """`K/N` as a shard; ShardError unless 1 <= K <= N <= MAX_SHARDS."""
    index, slash, count = text.partition("/")
    if slash and index.isdigit() and count.isdigit():
        shard = ShardId(int(index), int(count))
        if 1 <= shard.index <= shard.count <= MAX_SHARDS:
            return shard
    raise ShardError(f"shard {text!r}: expected K/N with 1 <= K <= N <= {MAX_SHARDS}, e.g. 2/4")


def parse_shard_count(text: str) -> int | None:
    """`auto` (None: from the expected work) or a count from 1 to MAX_SHARDS."""
    if text == "auto":
        return None
    if text.isdigit() and 1 <= int(text) <= MAX_SHARDS:
        return int(text)
    raise ShardError(f"--shards {text!r}: expected auto or a number from 1 to {MAX_SHARDS}")


@dataclass(frozen=True)
class History:
    """What earlier runs measured: seconds per step id, each package's test suite timing
    (test files that still exist only), and each package's size in bytes (the prior)."""

    durations: Mapping[str, float] = field(default_factory=dict)
    timings: Mapping[str, SuiteTiming] = field(default_factory=dict)
    sizes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Shard:
    """One shard: its step ids in plan order, and the work they are expected to take."""

    id: ShardId
    steps: tuple[str, ...]
    expected: float


@dataclass(frozen=True)
class ShardPlan:
    """A plan cut into shards.

    `base` is the plan an unsharded run has; `plan` is it with long suites split
    (`groups`: a split test step's id to its groups, in order); `shards` partition
    `plan`'s steps; `expected` holds seconds for every step of both plans. `auto` says the
    count came from the expected work and `target`.
    """

    base: Plan
    plan: Plan
    groups: Mapping[str, tuple[TestGroup, ...]]
    shards: tuple[Shard, ...]
    expected: Mapping[str, float]
    target: float
    auto: bool = False

    @property
    def count(self) -> int:
        return len(self.shards)

    @property
    def cut_for(self) -> str:
        """What its suites' cuts were made for (`cut_spec`): recorded with each cut."""
        return cut_spec(None if self.auto else self.count, self.target)

    @property
    def work(self) -> float:
        """The expected seconds of every step, as one runner would spend them."""
        return sum(self.expected[step.id] for step in self.plan.steps)

    @property
    def digest(self) -> str:
        """sha256 of every step's definition and of which shard runs it: equal on every
        runner that cut the same plan the same way, and nowhere else."""
        document = {
            "steps": [asdict(step) for step in self.plan.steps],
            "shards": [list(shard.steps) for shard in self.shards],
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()

    def shard(self, shard: ShardId) -> Shard:
        """The shard named `shard`; ShardError when this plan has another count."""
        if shard.count != self.count:
            raise ShardError(f"shard {shard}: this shard plan has {self.count} shards")
        return self.shards[shard.index - 1]

    def shard_of(self, step_id: str) -> ShardId:
        return next(shard.id for shard in self.shards if step_id in shard.steps)

    def subplan(self, shard: ShardId) -> Plan:
        """What the runner of `shard` runs: its steps, with only the needs in the same shard
        (a need elsewhere is a gate, applied in the verdict)."""
        ids = set(self.shard(shard).steps)
        return Plan(
            tuple(
                replace(step, needs=tuple(need for need in step.needs if need in ids))
                for step in self.plan.steps
                if step.id in ids
            ),
            self.plan.selection,
        )


def expected_seconds(plan: Plan, history: History) -> dict[str, float]:
    """Each step's expected seconds: a test suite's timing, else its recorded duration, else
    the first-run prior (its package's bytes at its task's measured seconds per byte)."""
    rates: dict[str, float] = {}
    for task in dict.fromkeys(step.task for step in plan.steps):
        measured = [
            step
            for step in plan.steps
            if step.task == task
            and step.id in history.durations
            and history.sizes.get(step.package)
        ]
        size = sum(history.sizes[step.package] for step in measured)
        seconds = sum(history.durations[step.id] for step in measured)
        prior = PRIOR_SECONDS_PER_MB.get(task, PRIOR_SECONDS_PER_MB["test"]) / 1_000_000
        rates[task] = seconds / size if size else prior
    expected: dict[str, float] = {}
    for step in plan.steps:
        timing = history.timings.get(step.package) if step.task == "test" else None
        if timing is not None:
            expected[step.id] = timing.total
        elif step.id in history.durations:
            expected[step.id] = history.durations[step.id]
        else:
            expected[step.id] = history.sizes.get(step.package, 0) * rates[step.task]
    return expected


def make_shard_plan(
    base: Plan, history: History, count: int | None, target: float = TARGET_SHARD_SECONDS
) -> ShardPlan:
    """`base` cut into `count` shards (None: auto, from the expected work and `target`),
    each test suite longer than a shard's length split into groups first: the target, or
    the work / `count` when that is shorter (a suite longer than the mean shard would
    otherwise be the wall), its groups as long as whole ones fill a shard (`group_length`)."""
    expected = expected_seconds(base, history)
    length = target if count is None else min(target, sum(expected.values()) / count)
    group = group_length(length, target)
    groups: dict[str, tuple[TestGroup, ...]] = {}
    for step in base.steps:
        timing = history.timings.get(step.package)
        if step.task == "test" and timing is not None:
            split = split_suite(
                timing, target, longer_than=length, group=group, made_for=cut_spec(count, target)
            )
            if split:
                groups[step.id] = split
    return pack(base, groups, expected, count, target)


def pack(
    base: Plan,
    groups: Mapping[str, tuple[TestGroup, ...]],
    expected: Mapping[str, float],
    count: int | None,
    target: float,
) -> ShardPlan:
    """`base` with `groups` cut into shards by `expected` seconds (every step of `base`;
    a group's own from the group)."""
    plan = plan_with_groups(base, groups)
    seconds = dict(expected)
    for parent, parts in groups.items():
        for index, group in enumerate(parts, start=1):
            seconds[group_id(parent, index, len(parts))] = group.expected
    pieces = _pieces(plan)
    work = sum(seconds[step.id] for step in plan.steps)
    auto = count is None
    if count is None:
        count = max(1, min(MAX_AUTO_SHARDS, len(pieces), math.ceil(work / target)))
    lengths = {piece: sum(seconds[i] for i in piece) for piece in pieces}
    bins: list[list[tuple[str, ...]]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for piece in sorted(pieces, key=lambda p: -lengths[p]):
        least = loads.index(min(loads))
        loads[least] += lengths[piece]
        bins[least].append(piece)
    _even_out(bins, lengths)
    shards = tuple(
        Shard(
            ShardId(index, count),
            tuple(step.id for step in plan.steps if any(step.id in p for p in bins[index - 1])),
            sum(lengths[p] for p in bins[index - 1]),
        )
        for index in range(1, count + 1)
    )
    return ShardPlan(base, plan, dict(groups), shards, seconds, target, auto)


def _even_out(bins: list[list[tuple[str, ...]]], lengths: Mapping[tuple[str, ...], float]) -> None:
    """Shorten the longest shard while a piece moved out of it, or swapped for a shorter one
    of another shard, leaves both shorter than it was: the greedy packing can end a piece
    past the mean (a shard of a 23 s group and an 8 s step beside one of 23 s alone). Each
    change lowers the sum of the squared loads, so it ends; bins and pieces are tried in
    order, so the same input gives the same shards."""
    for _ in range(MAX_EVEN_OUT_CHANGES):
        loads = [sum(lengths[p] for p in pieces) for pieces in bins]
        top = loads.index(max(loads))
        best: tuple[float, int, int, int] | None = None  # (new longer of the two, bin, a, b)
        for a, piece in enumerate(bins[top]):
            for other in (i for i in range(len(bins)) if i != top):
                # b = -1: a move; else a swap with the other bin's piece b.
                for b, swapped in [
                    (-1, 0.0),
                    *((b, lengths[q]) for b, q in enumerate(bins[other])),
                ]:
                    delta = lengths[piece] - swapped
                    longer = max(loads[top] - delta, loads[other] + delta)
                    if (
                        delta > 0
                        and longer < loads[top] - 1e-9
                        and (best is None or longer < best[0])
                    ):
                        best = (longer, other, a, b)
        if best is None:
            return
        _, other, a, b = best
        piece = bins[top].pop(a)
        if b >= 0:
            bins[top].append(bins[other].pop(b))
        bins[other].append(piece)


def _pieces(plan: Plan) -> list[tuple[str, ...]]:
    """The plan's steps in pieces that go to one shard whole: a step that reads its needs'
    outputs with those needs (and theirs). Pieces in the order of their first step, so
    sorting by length alone keeps ties in plan order."""
    owner = {step.id: step.id for step in plan.steps}

    def root(step_id: str) -> str:
        while owner[step_id] != step_id:
            step_id = owner[step_id]
        return step_id

    for step in plan.steps:
        if step.reads_needs:
            for need in step.needs:
                owner[root(need)] = root(step.id)
    pieces: dict[str, list[str]] = {}
    for step in plan.steps:
        pieces.setdefault(root(step.id), []).append(step.id)
    return [tuple(ids) for ids in pieces.values()]
