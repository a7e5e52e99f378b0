"""A long test suite cut into groups of its test files, each group a step of its own. Pure.

How long each file takes comes from the suite's JUnit reports (`suite_timing`): every
testcase's time, summed per file (a rerun's time included: it is time the suite spends),
and what the step took beyond them (interpreter start, imports, collection) as the suite's
overhead, which every group pays again.

A suite is split only when it is expected to take longer than the target shard length: it
would not fit in one shard. It is then cut into groups of about a third of that target at
most (GROUP_SHARE), so the shards are packed from pieces small enough to even them out (a
greedy packing overshoots the mean by at most one piece). Files go to groups longest first,
each to the group with the least so far (LPT: within 4/3 of the best possible split), so
every group has at least one file.

Every group but the last runs the files it names. The last names none: it runs the suite as
the package configures it, ignoring (`--ignore`) the other groups' files, so it also runs
every test file no timing knows yet (a new file, a file collected under a pattern of the
package's own). A sharded run never leaves a test file out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from acme_ci.core.plan import Plan, Step

# A group is expected to take at most this fraction of the target shard length.
GROUP_SHARE = 3
# More groups than this would spend more on their start-up than they save.
MAX_GROUPS = 16
RERUN_CAP_FLAG = "--max-suite-reruns="
JUNIT_FLAG = "--junitxml="
IGNORE_FLAG = "--ignore="


@dataclass(frozen=True)
class SuiteTiming:
    """What earlier runs measured of one package's test suite: seconds per test file (relative
    to the package), and the overhead (start-up, collection) around them."""

    files: Mapping[str, float]
    overhead: float = 0.0

    @property
    def total(self) -> float:
        """What the whole suite is expected to take in one step."""
        return self.overhead + sum(self.files.values())


@dataclass(frozen=True)
class TestGroup:
    """Some of a suite's test files, and how long they are expected to take as one step."""

    __test__ = False  # not a pytest test class, despite its name

    files: tuple[str, ...]
    expected: float


def group_id(step_id: str, index: int, count: int) -> str:
    """The id of group `index` (from 1) of `count` of the test step `step_id`."""
    return f"{step_id}[{index}/{count}]"


def suite_timing(
    junit_text: str, step_seconds: float, python_files: Iterable[str], package_path: str
) -> SuiteTiming:
    """Seconds per test file from a JUnit report of a step that took `step_seconds`.

    A testcase's classname is its module's dotted path from pytest's rootdir (the package,
    or the workspace root), then its class: it belongs to the longest dotted prefix that is
    one of `python_files` (relative to the package at `package_path`). Raises
    xml.etree.ElementTree.ParseError when the report is not XML.
    """
    import xml.etree.ElementTree as ET  # here: only a run that tested reads a report

    modules = _module_names(python_files, package_path)
    files: dict[str, float] = {}
    tested = 0.0
    for case in ET.fromstring(junit_text).iter("testcase"):
        seconds = _seconds(case.get("time"))
        tested += seconds
        classname = case.get("classname")
        path = _file_of(classname, modules) if classname else None
        if path is not None:
            files[path] = files.get(path, 0.0) + seconds
    return SuiteTiming(files, max(0.0, step_seconds - tested))


def _module_names(python_files: Iterable[str], package_path: str) -> dict[str, str]:
    """Each file's dotted module name, seen from the package and from the root, to the file."""
    names: dict[str, str] = {}
    for path in python_files:
        stem = path.removesuffix(".py")
        names[stem.replace("/", ".")] = path
        names[PurePosixPath(package_path, stem).as_posix().replace("/", ".")] = path
    return names


def _file_of(classname: str, modules: Mapping[str, str]) -> str | None:
    parts = classname.split(".")
    for end in range(len(parts), 0, -1):
        found = modules.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


def _seconds(text: str | None) -> float:
    try:
        return max(0.0, float(text or 0))
    except ValueError:
        return 0.0


def split_suite(timing: SuiteTiming, expected: float, target: float) -> tuple[TestGroup, ...]:
    """The groups a suite expected to take `expected` seconds is cut into; () when it fits
    in a shard of `target` seconds, or has fewer than two files to share out."""
    if expected <= target or len(timing.files) < 2:
        return ()
    count = min(len(timing.files), MAX_GROUPS, math.ceil(expected * GROUP_SHARE / target))
    loads = [0.0] * count
    members: list[list[str]] = [[] for _ in range(count)]
    for path in sorted(timing.files, key=lambda p: (-timing.files[p], p)):
        # Of equally loaded groups, the one with the fewest files: files timed at 0 s are
        # dealt out too, and no group is left empty (the last would then run nothing).
        least = min(range(count), key=lambda i: (loads[i], len(members[i])))
        loads[least] += timing.files[path]
        members[least].append(path)
    return tuple(
        TestGroup(tuple(sorted(members[i])), timing.overhead + loads[i]) for i in range(count)
    )


def group_steps(step: Step, groups: tuple[TestGroup, ...]) -> tuple[Step, ...]:
    """The steps that run `step`'s suite as `groups`: each its own id, argv (so its own cache
    key) and JUnit report; the last runs every file the others do not name."""
    count = len(groups)
    named = tuple(path for group in groups[:-1] for path in group.files)
    steps = []
    for index, group in enumerate(groups, start=1):
        suffix = f"-{index}-of-{count}.xml"
        argv = tuple(_renamed(arg, suffix) for arg in step.commands[0])
        chosen = group.files if index < count else tuple(IGNORE_FLAG + path for path in named)
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
