"""A long test suite cut into groups of its test files, each group a step of its own. Pure.

How long each file takes comes from the suite's JUnit reports (`suite_timing`): every
testcase's time, summed per file (a rerun's time included: it is time the suite spends),
and what the step took beyond them (interpreter start, imports, collection) as the suite's
overhead, which every group pays again.

A suite is split only when it is expected to take longer than the target shard length: it
would not fit in one shard. It is then cut into groups of about a third of that target at
most (GROUP_SHARE), its overhead included, so the shards are packed from pieces small
enough to even them out (a greedy packing overshoots the mean by at most one piece); with
shards shorter than the target, as many such groups as fill one (`group_length`). Files
go to groups longest first, each to the group with the least so far (LPT: within 4/3 of the
best possible split), so every group has at least one file.

A suite's groups are its cache keys' argv, so a cut is not made anew on every run: the
last cut a sharded run's verdict recorded (`SuiteTiming.cut`) is kept, with today's
seconds, for plans of the shard count and target it was made for, while it still names
timed files and its longest group stays within KEEP_SLACK of a fresh cut's. An unchanged
suite then keeps its groups, and a warm sharded run finds them in the cache; another shard
count (or target) cuts it anew, for its own shards.

A file is the unit, except a file that alone takes longer than a group may: its tests (by
node id, `tests/test_x.py::test_y[1]`) are shared out one by one instead.

Every group but the last runs the files and tests it names. The last names none: it runs
the suite as the package configures it, less the other groups' files (`--ignore`) and tests
(`--deselect`, by node id from the package: every package here keeps its pytest
configuration, hence its rootdir, in its own directory), so it also runs every test file or
test no timing knows yet (a new one, or one collected under a pattern of the package's
own). A sharded run never leaves a test out. Groups go longest first, so that last group is
the one expected to take least.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from acme_ci.core.plan import Plan, Step

# A group is expected to take at most this fraction of the target shard length.
GROUP_SHARE = 3
# A group fills a shard shorter than the target whole, up to this many times its share.
GROUP_STRETCH = 1.25
# More groups than this would spend more on their start-up than they save.
MAX_GROUPS = 16
# The last cut is kept while its longest group is expected to take at most this many times
# the longest group of a fresh cut: a group's argv is its cache key, so a cut made again
# from each run's slightly different seconds would re-run every group of an unchanged suite.
KEEP_SLACK = 1.25
RERUN_CAP_FLAG = "--max-suite-reruns="
JUNIT_FLAG = "--junitxml="
IGNORE_FLAG = "--ignore="
DESELECT_FLAG = "--deselect="
# Between a node id's file and the test's name (with its classes): `file::Class::test`.
NODE_SEP = "::"


@dataclass(frozen=True)
class SuiteTiming:
    """What earlier runs measured of one package's test suite: seconds per test file (relative
    to the package), the overhead (start-up, collection) around them, and seconds per test
    by node id (`file::test`; none known: a file is never shared out by its tests)."""

    files: Mapping[str, float]
    overhead: float = 0.0
    tests: Mapping[str, float] = field(default_factory=dict)
    # The groups a sharded run last cut the suite into (each group's files or tests, in
    # order), recorded by its verdict: kept while it still fits (`split_suite`).
    cut: tuple[tuple[str, ...], ...] = ()
    # What that cut was made for: the shard count and target (`cut_spec`).
    cut_for: str = ""

    @property
    def total(self) -> float:
        """What the whole suite is expected to take in one step."""
        return self.overhead + sum(self.files.values())


@dataclass(frozen=True)
class TestGroup:
    """Some of a suite's test files (or tests, `file::test`, of a file too long for one
    group), and how long they are expected to take as one step."""

    __test__ = False  # not a pytest test class, despite its name

    files: tuple[str, ...]
    expected: float


def group_id(step_id: str, index: int, count: int) -> str:
    """The id of group `index` (from 1) of `count` of the test step `step_id`."""
    return f"{step_id}[{index}/{count}]"


def suite_timing(
    junit_text: str, step_seconds: float, python_files: Iterable[str], package_path: str
) -> SuiteTiming:
    """Seconds per test file from a JUnit report of a step that took `step_seconds`, and the
    overhead around them (its seconds per test: `seconds_per_test`).

    A testcase's classname is its module's dotted path from pytest's rootdir (the package,
    or the workspace root), then its classes: it belongs to the longest dotted prefix that
    is one of `python_files` (relative to the package at `package_path`). Raises
    xml.etree.ElementTree.ParseError when the report is not XML.
    """
    files: dict[str, float] = {}
    tested = 0.0
    for seconds, node in _timed_cases(junit_text, python_files, package_path):
        tested += seconds
        if node is not None:
            path = node.partition(NODE_SEP)[0]
            files[path] = files.get(path, 0.0) + seconds
    return SuiteTiming(files, max(0.0, step_seconds - tested))


def suite_measurements(plan: Plan, measured: Mapping[str, SuiteTiming]) -> dict[str, SuiteTiming]:
    """One run's measurement of each tested package's suite, from what its test steps
    measured (`measured`, by step id: `suite_timing` with `seconds_per_test`). A whole
    suite's is its step's. A split suite's is its groups' together: every test's seconds; a
    file's from the group that ran it whole; a file shared out by its tests, the sum of its
    groups' parts, and only when every group of the suite ran (a part of a file is not the
    file: folded as the file, it would shrink it, and the last group, which runs what the
    others do not name, would be expected to end long before it does); and the overhead
    every group paid, on average."""
    steps_of: dict[str, list[Step]] = {}
    for step_id in measured:
        step = plan.get(step_id)
        steps_of.setdefault(step.package, []).append(step)
    suites: dict[str, SuiteTiming] = {}
    for package, steps in steps_of.items():
        every_group = {s.id for s in plan.steps if s.package == package and s.task == "test"}
        files: dict[str, float] = {}
        parts: dict[str, float] = {}
        tests: dict[str, float] = {}
        for step in steps:
            timing = measured[step.id]
            shared = _shared_out_files(step)
            for path, seconds in timing.files.items():
                into = parts if path in shared else files
                into[path] = into.get(path, 0.0) + seconds
            tests.update(timing.tests)
        if every_group <= {step.id for step in steps}:
            files.update(parts)
        overhead = sum(measured[step.id].overhead for step in steps) / len(steps)
        suites[package] = SuiteTiming(files, overhead, tests)
    return suites


def current_tests(old: Mapping[str, float], measured: SuiteTiming) -> dict[str, float]:
    """`old` seconds per test less those of a file `measured` ran whole but not these tests:
    a test deleted or renamed since, which no group may name (pytest stops on a node id it
    cannot find). Tests of files not measured whole are kept as they were."""
    return {
        test: seconds
        for test, seconds in old.items()
        if test in measured.tests or test.partition(NODE_SEP)[0] not in measured.files
    }


def _shared_out_files(step: Step) -> frozenset[str]:
    """The files a group step runs only some tests of: it names them by node id, or leaves
    some of their tests out (`--deselect`)."""
    found: set[str] = set()
    for arg in step.commands[0] if step.commands else ():
        unit = arg.removeprefix(DESELECT_FLAG)
        if NODE_SEP in unit and not unit.startswith("-"):
            found.add(unit.partition(NODE_SEP)[0])
    return frozenset(found)


def seconds_per_test(
    junit_text: str, python_files: Iterable[str], package_path: str
) -> dict[str, float]:
    """Seconds per test, by node id (`file::Class::test[param]`, as pytest's junitxml names
    a testcase: its file, then its classes and name), from a JUnit report."""
    tests: dict[str, float] = {}
    for seconds, node in _timed_cases(junit_text, python_files, package_path):
        if node is not None:
            tests[node] = tests.get(node, 0.0) + seconds
    return tests


def _timed_cases(
    junit_text: str, python_files: Iterable[str], package_path: str
) -> Iterator[tuple[float, str | None]]:
    """Each testcase's seconds and node id (None: in no file of the package, or nameless)."""
    import xml.etree.ElementTree as ET  # here: only a run that tested reads a report

    modules = _module_names(python_files, package_path)
    for case in ET.fromstring(junit_text).iter("testcase"):
        classname, name = case.get("classname"), case.get("name")
        found = _file_of(classname, modules) if classname else None
        node = None
        if found is not None and name:
            path, classes = found
            node = NODE_SEP.join([path, *classes, name])
        yield _seconds(case.get("time")), node


def _module_names(python_files: Iterable[str], package_path: str) -> dict[str, str]:
    """Each file's dotted module name, seen from the package and from the root, to the file."""
    names: dict[str, str] = {}
    for path in python_files:
        stem = path.removesuffix(".py")
        names[stem.replace("/", ".")] = path
        names[PurePosixPath(package_path, stem).as_posix().replace("/", ".")] = path
    return names


def _file_of(classname: str, modules: Mapping[str, str]) -> tuple[str, list[str]] | None:
    """The file a classname names, and the classes after its module."""
    parts = classname.split(".")
    for end in range(len(parts), 0, -1):
        found = modules.get(".".join(parts[:end]))
        if found is not None:
            return found, parts[end:]
    return None


def _seconds(text: str | None) -> float:
    try:
        return max(0.0, float(text or 0))
    except ValueError:
        return 0.0


def cut_spec(count: int | None, target: float) -> str:
    """What a cut is made for: `auto@60`, `8@60` (the shard count, or auto, and the target).
    Another count or target cuts a suite anew: its groups are sized for other shards."""
    return f"{'auto' if count is None else count}@{target:g}"


def group_length(shard_length: float, target: float) -> float:
    """How long a group may take in shards of `shard_length`: the shard shared into as many
    groups of about a third of the target (GROUP_SHARE) as it holds, at least one, so whole
    groups fill a shard, but no longer than GROUP_STRETCH times a third. 20 s for the 60 s
    target; 22.5 s for shards of 45 s or 22.5 s (180 s of work on 4 or 8 shards): a group
    of 20 s would leave 2.5 s of each shard to steps small enough to fill it, and the
    longest shard would end past the mean; 25 s for shards of 28 s."""
    share = target / GROUP_SHARE
    return min(shard_length / max(1, round(shard_length / share)), GROUP_STRETCH * share)


def split_suite(
    timing: SuiteTiming,
    target: float,
    longer_than: float | None = None,
    group: float | None = None,
    made_for: str = "",
) -> tuple[TestGroup, ...]:
    """The groups a suite is cut into, each expected to take at most `group` seconds
    (default: a GROUP_SHARE of `target`); () when it takes no longer than `longer_than`
    (default: `target`), or has fewer than two files (or tests) to share out. The suite's
    last cut is kept when it was made for the same shards (`made_for`: `cut_spec`) and
    still fits."""
    if timing.total <= (target if longer_than is None else longer_than):
        return ()
    fresh = _fresh_split(timing, target / GROUP_SHARE if group is None else group)
    if not fresh:
        return ()
    if timing.cut_for != made_for:
        return fresh
    return _kept_cut(timing, KEEP_SLACK * max(piece.expected for piece in fresh)) or fresh


def _kept_cut(timing: SuiteTiming, longest: float) -> tuple[TestGroup, ...]:
    """The suite's last cut, in its order, with today's seconds (the last group: every file
    the others do not name, a new one included); () when there is none, a group names a
    file or test no longer timed, or a group is expected to take longer than `longest`."""
    if not 2 <= len(timing.cut) <= MAX_GROUPS:
        return ()
    seconds = {**timing.tests, **timing.files}
    named = timing.cut[:-1]
    if not all(group and all(unit in seconds for unit in group) for group in named):
        return ()
    loads = [sum(seconds[unit] for unit in group) for group in named]
    loads.append(max(0.0, sum(timing.files.values()) - sum(loads)))
    if max(loads) + timing.overhead > longest:
        return ()
    last = tuple(unit for unit in timing.cut[-1] if unit in seconds)
    return tuple(
        TestGroup(units, timing.overhead + load)
        for units, load in zip((*named, last), loads, strict=True)
    )


def _fresh_split(timing: SuiteTiming, group: float) -> tuple[TestGroup, ...]:
    """The suite cut anew from its seconds: groups of `group` seconds, longest first."""
    # Every group pays the suite's overhead again: its files get what is left of a piece.
    room = group - timing.overhead
    units = _units(timing, room)
    if len(units) < 2:
        return ()
    wanted = math.ceil(sum(units.values()) / room) if room > 0 else MAX_GROUPS
    count = max(2, min(len(units), MAX_GROUPS, wanted))
    loads = [0.0] * count
    members: list[list[str]] = [[] for _ in range(count)]
    for unit in sorted(units, key=lambda u: (-units[u], u)):
        # Of equally loaded groups, the one with the fewest files: files timed at 0 s are
        # dealt out too, and no group is left empty (the last would then run nothing).
        least = min(range(count), key=lambda i: (loads[i], len(members[i])))
        loads[least] += units[unit]
        members[least].append(unit)
    # Longest group first: the last, which also runs the files no timing knows, is the
    # one expected to end soonest.
    order = sorted(range(count), key=lambda i: -loads[i])
    return tuple(TestGroup(tuple(sorted(members[i])), timing.overhead + loads[i]) for i in order)


def _units(timing: SuiteTiming, room: float) -> dict[str, float]:
    """What is shared out, with its seconds: each file, or the tests of a file longer than
    the `room` a group has (when its tests are known, and more than one)."""
    units: dict[str, float] = {}
    for path, seconds in timing.files.items():
        own = {t: s for t, s in timing.tests.items() if t.startswith(path + NODE_SEP)}
        if 0 < room < seconds and len(own) > 1:
            units.update(own)
        else:
            units[path] = seconds
    return units


def group_steps(step: Step, groups: tuple[TestGroup, ...]) -> tuple[Step, ...]:
    """The steps that run `step`'s suite as `groups`: each its own id, argv (so its own cache
    key) and JUnit report; the last runs every file and test the others do not name."""
    count = len(groups)
    named = tuple(path for group in groups[:-1] for path in group.files)
    steps = []
    for index, group in enumerate(groups, start=1):
        suffix = f"-{index}-of-{count}.xml"
        argv = tuple(_renamed(arg, suffix) for arg in step.commands[0])
        chosen = group.files if index < count else tuple(_left_out(unit) for unit in named)
        steps.append(
            replace(
                step,
                id=group_id(step.id, index, count),
                commands=((*argv, *chosen),),
                outputs=tuple(_report(output, suffix) for output in step.outputs),
                part_of=step.id,
            )
        )
    return tuple(steps)


def _left_out(unit: str) -> str:
    """The last group's flag that leaves out a file or a test another group runs."""
    return (DESELECT_FLAG if NODE_SEP in unit else IGNORE_FLAG) + unit


def _renamed(arg: str, suffix: str) -> str:
    """The JUnit flag pointed at the group's own report; any other argument as it is."""
    if not arg.startswith(JUNIT_FLAG):
        return arg
    return JUNIT_FLAG + _report(arg.removeprefix(JUNIT_FLAG), suffix)


def _report(path: str, suffix: str) -> str:
    return path.removesuffix(".xml") + suffix if path.endswith(".xml") else path


def plan_with_groups(plan: Plan, groups: Mapping[str, tuple[TestGroup, ...]]) -> Plan:
    """`plan` with each step named in `groups` replaced by its group steps, and every need
    on it by a need on each of them (a build's gate needs every group)."""
    made_of: dict[str, tuple[str, ...]] = {}
    steps: list[Step] = []
    for step in plan.steps:  # topological order: a need is made before its users
        needs = tuple(part for need in step.needs for part in made_of[need])
        whole = replace(step, needs=needs)
        made = group_steps(whole, groups[step.id]) if step.id in groups else (whole,)
        made_of[step.id] = tuple(part.id for part in made)
        steps.extend(made)
    return Plan(tuple(steps), plan.selection)


def suite_rerun_cap(step: Step) -> int:
    """The suite-wide rerun cap a test step passes to pytest (0: none)."""
    for arg in step.commands[0]:
        if arg.startswith(RERUN_CAP_FLAG):
            return int(arg.removeprefix(RERUN_CAP_FLAG))
    return 0
