"""A shard plan as text (people), JSON (the file every shard runs from) and a GitHub Actions
matrix; and that JSON read back against a checkout's own plan. Pure.

Durations differ between runners, so the plan job's cut is handed to every shard as data:
`acme-ci plan --shards N --format json > FILE`, then `acme-ci ci --shard K/N --shard-plan
FILE`. The file carries which test files (or tests) each group runs and which shard runs
each step, never a command: a shard rebuilds every step from its own checkout, checks each
named test file (a test's too) is a file of that package there, and refuses the file unless
the plan it rebuilds has the file's digest (same commit, same selection flags, same cut).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from acme_ci.core.plan import Plan
from acme_ci.core.shards import Shard, ShardError, ShardPlan, parse_shard
from acme_ci.core.test_groups import NODE_SEP, TestGroup, plan_with_groups

PLAN_FORMAT = "acme-ci shard plan 1"


def shard_plan_document(shards: ShardPlan) -> dict[str, Any]:
    """The shard plan as JSON data: digest, count, groups and each shard's steps."""
    return {
        "format": PLAN_FORMAT,
        "digest": shards.digest,
        "count": shards.count,
        "target": shards.target,
        "auto": shards.auto,
        "work": round(shards.work, 3),
        "selection": {
            "note": shards.plan.selection.note,
            "packages": {k: list(v) for k, v in shards.plan.selection.reasons.items()},
        },
        "groups": {
            parent: {
                "expected": round(shards.expected[parent], 3),
                "groups": [
                    {"files": list(g.files), "expected": round(g.expected, 3)} for g in groups
                ],
            }
            for parent, groups in shards.groups.items()
        },
        "shards": [
            {
                "shard": str(shard.id),
                "expected": round(shard.expected, 3),
                "steps": [
                    {
                        "id": step.id,
                        "expected": round(shards.expected[step.id], 3),
                        "needs": list(step.needs),
                        "commands": [list(c) for c in step.commands],
                        "workdir": step.workdir,
                    }
                    for step in shards.subplan(shard.id).steps
                ],
            }
            for shard in shards.shards
        ],
    }


def shard_plan_json(shards: ShardPlan) -> str:
    return json.dumps(shard_plan_document(shards), indent=2)


def github_matrix(shards: ShardPlan) -> str:
    """What `strategy.matrix` takes: one entry per shard (`shard` K/N, `index`, `count`,
    `expected` seconds, rounded up), so each job runs `acme-ci ci --shard ${{ matrix.shard }}`."""
    include = [
        {
            "shard": str(shard.id),
            "index": shard.id.index,
            "count": shard.id.count,
            "expected": math.ceil(shard.expected),
        }
        for shard in shards.shards
    ]
    return json.dumps({"include": include}, separators=(",", ":"))


def shard_plan_text(shards: ShardPlan) -> str:
    """Why this many shards, which suites were split, and each shard's steps and length."""
    how = (
        f"auto: {shards.work:.1f}s of expected work, target {shards.target:g}s a shard"
        if shards.auto
        else f"{shards.work:.1f}s of expected work"
    )
    lines = [f"Selection: {shards.plan.selection.note}", f"Shards: {shards.count} ({how})"]
    for parent, groups in shards.groups.items():
        lines.append(
            f"Split: {parent} (expected {shards.expected[parent]:.1f}s, over the "
            f"{shards.target:g}s target) into {len(groups)} groups of its test files"
        )
    for shard in shards.shards:
        lines.append(f"Shard {shard.id} (expected {shard.expected:.1f}s):")
        for step in shards.plan.steps:
            if step.id in shard.steps:
                lines.append(
                    f"  {step.id}  {shards.expected[step.id]:.1f}s{_gates(shards, step.id, shard)}"
                )
    return "\n".join(lines)


def _gates(shards: ShardPlan, step_id: str, shard: Shard) -> str:
    elsewhere = [n for n in shards.plan.get(step_id).needs if n not in shard.steps]
    if not elsewhere:
        return ""
    return f"  (gates in other shards, judged by the verdict: {', '.join(elsewhere)})"


def shard_plan_from_document(
    base: Plan,
    document: Any,
    python_files: Mapping[str, frozenset[str]],
) -> ShardPlan:
    """The shard plan `document` describes, rebuilt on this checkout's `base` plan.

    `python_files` are each package's files (relative to it) in this checkout: a group may
    name only those. ShardError, saying what does not match, for anything else.
    """
    try:
        if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
            raise ShardError(f'not a shard plan (no "format": "{PLAN_FORMAT}")')
        groups = {
            str(parent): _groups(base, str(parent), split["groups"], python_files)
            for parent, split in document["groups"].items()
        }
        plan = plan_with_groups(base, groups)
        target, auto = float(document["target"]), bool(document["auto"])
        expected = {str(p): float(split["expected"]) for p, split in document["groups"].items()}
        shards = []
        for entry in document["shards"]:
            ids = [str(step["id"]) for step in entry["steps"]]
            expected.update({str(s["id"]): float(s["expected"]) for s in entry["steps"]})
            shards.append(
                Shard(parse_shard(str(entry["shard"])), tuple(ids), float(entry["expected"]))
            )
    except ShardError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ShardError(f"not a usable shard plan ({type(error).__name__}: {error})") from error
    result = ShardPlan(base, plan, groups, tuple(shards), expected, target, auto)
    _check_partition(result)
    if result.digest != document.get("digest"):
        raise ShardError(
            f"made for another plan (its digest {str(document.get('digest'))[:12]}, this "
            f"checkout's {result.digest[:12]}): the plan job and every shard must run the same "
            "commit with the same selection flags"
        )
    return result


def _groups(
    base: Plan, parent: str, entries: Any, python_files: Mapping[str, frozenset[str]]
) -> tuple[TestGroup, ...]:
    try:
        step = base.get(parent)
    except KeyError:
        raise ShardError(f"it splits {parent}, which this checkout's plan does not have") from None
    known = python_files.get(step.package, frozenset())
    groups = []
    for entry in entries:
        files = tuple(str(path) for path in entry["files"])
        unknown = [unit for unit in files if unit.partition(NODE_SEP)[0] not in known]
        if unknown:
            raise ShardError(
                f"{parent}'s groups name {unknown[0]!r}, not a file of {step.package} here"
            )
        groups.append(TestGroup(files, float(entry["expected"])))
    return tuple(groups)


def _check_partition(shards: ShardPlan) -> None:
    """Every step of the plan in exactly one shard, and the shards numbered 1..N in order."""
    for index, shard in enumerate(shards.shards, start=1):
        if (shard.id.index, shard.id.count) != (index, shards.count):
            raise ShardError(f"its shard {index} is named {shard.id}")
    placed = [step_id for shard in shards.shards for step_id in shard.steps]
    wanted = {step.id for step in shards.plan.steps}
    problems = [f"{s} in no shard" for s in sorted(wanted - set(placed))]
    problems += [f"{s} not in the plan" for s in sorted(set(placed) - wanted)]
    problems += [f"{s} twice" for s in sorted(set(placed)) if placed.count(s) > 1]
    if problems:
        raise ShardError(f"its shards do not hold each step once: {', '.join(problems)}")
