"""A shard plan as text, as the JSON every shard runs from (read back and checked), and as a
GitHub Actions matrix."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from acme_ci.core.affected import select_all, select_packages
from acme_ci.core.plan import make_plan
from acme_ci.core.shard_plan_format import (
    PLAN_FORMAT,
    github_matrix,
    shard_plan_document,
    shard_plan_from_document,
    shard_plan_json,
    shard_plan_text,
)
from acme_ci.core.shards import History, ShardError, ShardPlan, make_shard_plan
from acme_ci.core.test_groups import SuiteTiming
from acme_ci.core.workspace import parse_workspace

WS = parse_workspace(
    {
        "libs/log": '[project]\nname = "log"\n',
        "services/user": '[project]\nname = "user"\ndependencies = ["log"]\n',
    }
)
PLAN = make_plan(WS, select_all(WS))
TESTS = {f"tests/test_{c}.py": 10.0 for c in "abc"}
FILES = {"user": frozenset({*TESTS, "tests/__init__.py"}), "log": frozenset({"tests/test_l.py"})}
HISTORY = History(
    durations={s.id: 2.0 for s in PLAN.steps},
    timings={"user": SuiteTiming(TESTS, 1.0)},
)


def sharded(count: int | None = 2) -> ShardPlan:
    return make_shard_plan(PLAN, HISTORY, count, target=20.0)


def document(shards: ShardPlan) -> dict[str, Any]:
    return json.loads(shard_plan_json(shards))  # type: ignore[no-any-return]


def test_the_json_carries_the_cut_and_reads_back_to_the_same_shard_plan() -> None:
    shards = sharded()
    data = document(shards)
    assert data["format"] == PLAN_FORMAT
    assert data["digest"] == shards.digest
    assert (data["count"], data["target"], data["auto"]) == (2, 20.0, False)
    assert data["work"] == round(shards.work, 3)
    assert data["selection"]["packages"] == {
        "log": ["--all"],
        "user": ["--all"],
    }
    assert data["groups"]["user:test"]["expected"] == 31.0
    assert [g["files"] for g in data["groups"]["user:test"]["groups"]] == [
        ["tests/test_a.py"],
        ["tests/test_b.py"],
        ["tests/test_c.py"],
    ]
    assert [g["expected"] for g in data["groups"]["user:test"]["groups"]] == [11.0, 11.0, 11.0]
    first = data["shards"][0]
    assert first["shard"] == "1/2"
    assert first["expected"] == round(shards.shards[0].expected, 3)
    ran = {s["id"]: s for shard in data["shards"] for s in shard["steps"]}
    assert ran["user:test[1/3]"]["commands"] == [
        list(shards.plan.get("user:test[1/3]").commands[0])
    ]
    assert ran["user:test[1/3]"]["workdir"] == "services/user"
    assert ran["user:test[1/3]"]["expected"] == 11.0
    # A shard's steps are shown with the needs it runs them with (gates elsewhere dropped).
    build = ran["user:build"]
    own = shards.subplan(shards.shard_of("user:build")).get("user:build")
    assert build["needs"] == list(own.needs)

    back = shard_plan_from_document(PLAN, data, FILES)
    assert back.digest == shards.digest
    assert back.plan == shards.plan
    assert back.shards == shards.shards
    assert back.groups == shards.groups
    assert dict(back.expected) == dict(shards.expected)
    assert (back.target, back.auto, back.base) == (20.0, False, PLAN)


def test_the_json_is_indented_and_its_seconds_rounded_to_milliseconds() -> None:
    thirds = History(
        durations={s.id: 1 / 3 for s in PLAN.steps},
        timings={"user": SuiteTiming({p: 20 / 3 for p in TESTS}, 0.1004)},
    )
    shards = make_shard_plan(PLAN, thirds, 2, target=10.0)
    text = shard_plan_json(shards)
    assert text.startswith('{\n  "format": ')
    data = json.loads(text)
    assert data["selection"]["note"] == "all packages: --all"
    assert data["work"] == round(shards.work, 3) != shards.work
    split = data["groups"]["user:test"]
    assert split["expected"] == 20.1
    assert [g["expected"] for g in split["groups"]] == [6.767, 6.767, 6.767]
    pairs = list(zip(data["shards"], shards.shards, strict=True))
    assert all(shown["expected"] == round(shard.expected, 3) for shown, shard in pairs)
    assert any(shown["expected"] != shard.expected for shown, shard in pairs)
    lint = next(s for shard in data["shards"] for s in shard["steps"] if s["id"] == "log:lint")
    assert lint["expected"] == 0.333


def test_auto_is_kept_and_said() -> None:
    shards = sharded(None)
    assert shard_plan_from_document(PLAN, document(shards), FILES).auto is True
    assert (
        f"Shards: {shards.count} (auto: {shards.work:.1f}s of expected work, target 20s a shard)"
        in (shard_plan_text(shards))
    )


def test_the_text_says_why_each_shard_holds_what_it_holds() -> None:
    shards = sharded()
    text = shard_plan_text(shards).splitlines()
    assert text[0] == "Selection: all packages: --all"
    assert text[1] == f"Shards: 2 ({shards.work:.1f}s of expected work)"
    assert (
        text[2]
        == "Split: user:test (expected 31.0s, over the 20s target) into 3 groups of its test files"
    )
    assert f"Shard 1/2 (expected {shards.shards[0].expected:.1f}s):" in text
    assert "  user:test[1/3]  11.0s" in text
    build_shard = shards.shard_of("user:build")
    elsewhere = [
        n for n in shards.plan.get("user:build").needs if n not in shards.shard(build_shard).steps
    ]
    assert elsewhere
    line = next(t for t in text if t.startswith("  user:build"))
    gates = ", ".join(elsewhere)
    assert line == f"  user:build  2.0s  (gates in other shards, judged by the verdict: {gates})"
    # Steps are listed under their shard in plan order.
    body = [t.strip().split()[0] for t in text if t.startswith("  ")]
    assert body == [i for shard in shards.shards for i in shard.steps]


def test_the_matrix_is_what_strategy_matrix_takes() -> None:
    shards = sharded(3)
    matrix = json.loads(github_matrix(shards))
    assert matrix == {
        "include": [
            {"shard": f"{i}/3", "index": i, "count": 3, "expected": -(-shard.expected // 1)}
            for i, shard in enumerate(shards.shards, start=1)
        ]
    }
    assert " " not in github_matrix(shards)  # one line, for $GITHUB_OUTPUT
    assert shard_plan_document(shards)["count"] == 3


def test_a_plan_for_other_steps_or_files_is_refused_naming_what_differs() -> None:
    data = document(sharded())
    only_log = make_plan(WS, select_packages(WS, ["log"]))
    with pytest.raises(
        ShardError, match="it splits user:test, which this checkout's plan does not have"
    ):
        shard_plan_from_document(only_log, data, FILES)
    gone = {**FILES, "user": frozenset({"tests/test_a.py", "tests/test_b.py"})}
    with pytest.raises(
        ShardError, match=re.escape("user:test's groups name 'tests/test_c.py', not a file of user")
    ):
        shard_plan_from_document(PLAN, data, gone)
    with pytest.raises(ShardError, match="not a file of user here"):
        shard_plan_from_document(PLAN, data, {"log": FILES["log"]})
    tampered = copy.deepcopy(data)
    tampered["groups"]["user:test"]["groups"][0]["files"] = ["--rootdir=/"]
    with pytest.raises(ShardError, match="'--rootdir=/', not a file of user"):
        shard_plan_from_document(PLAN, tampered, FILES)
    # A test is named by its file's node id: the file must be the package's.
    by_test = copy.deepcopy(data)
    by_test["groups"]["user:test"]["groups"][0]["files"] = ["tests/test_x.py::test_a"]
    with pytest.raises(ShardError, match=re.escape("'tests/test_x.py::test_a', not a file of")):
        shard_plan_from_document(PLAN, by_test, FILES)
    by_test["groups"]["user:test"]["groups"][0]["files"] = ["tests/test_a.py::test_a"]
    with pytest.raises(ShardError, match="made for another plan"):  # known, but not this cut
        shard_plan_from_document(PLAN, by_test, FILES)


def test_another_cut_of_the_same_steps_is_refused_by_its_digest() -> None:
    data = document(sharded())
    data["digest"] = "0" * 64
    message = (
        f"made for another plan (its digest 000000000000, this checkout's "
        f"{sharded().digest[:12]}): the plan job and every shard must run the same commit "
        "with the same selection flags"
    )
    with pytest.raises(ShardError, match=re.escape(message) + "$"):
        shard_plan_from_document(PLAN, data, FILES)
    # A partition moved by hand, with the digest left as it was.
    moved = document(sharded())
    step = moved["shards"][0]["steps"].pop()
    moved["shards"][1]["steps"].append(step)
    with pytest.raises(ShardError, match="made for another plan"):
        shard_plan_from_document(PLAN, moved, FILES)


def test_shards_that_do_not_hold_each_step_once_are_refused_saying_which() -> None:
    lost = document(sharded())
    dropped = lost["shards"][0]["steps"].pop()["id"]
    with pytest.raises(ShardError, match=re.escape(f"each step once: {dropped} in no shard")):
        shard_plan_from_document(PLAN, lost, FILES)
    twice = document(sharded())
    twice["shards"][1]["steps"].append(twice["shards"][0]["steps"][0])
    name = twice["shards"][0]["steps"][0]["id"]
    with pytest.raises(ShardError, match=re.escape(f"each step once: {name} twice") + "$"):
        shard_plan_from_document(PLAN, twice, FILES)
    extra = document(sharded())
    extra["shards"][0]["steps"].append({"id": "ghost:test", "expected": 1.0})
    with pytest.raises(ShardError, match="ghost:test not in the plan"):
        shard_plan_from_document(PLAN, extra, FILES)
    both = document(sharded())
    gone = both["shards"][0]["steps"].pop()["id"]
    both["shards"][0]["steps"].append({"id": "ghost:test", "expected": 1.0})
    message = f"each step once: {gone} in no shard, ghost:test not in the plan"
    with pytest.raises(ShardError, match=re.escape(message) + "$"):
        shard_plan_from_document(PLAN, both, FILES)
    renamed = document(sharded())
    renamed["shards"][1]["shard"] = "1/2"
    with pytest.raises(ShardError, match="its shard 2 is named 1/2"):
        shard_plan_from_document(PLAN, renamed, FILES)
    recounted = document(sharded())
    recounted["shards"][1]["shard"] = "2/3"
    with pytest.raises(ShardError, match="its shard 2 is named 2/3"):
        shard_plan_from_document(PLAN, recounted, FILES)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.clear(), 'not a shard plan \\(no "format"'),
        (lambda d: d.update(format="acme-ci shard plan 0"), "not a shard plan"),
        (lambda d: d.pop("groups"), "not a usable shard plan \\(KeyError: 'groups'\\)"),
        (lambda d: d.pop("target"), "KeyError: 'target'"),
        (lambda d: d.pop("auto"), "KeyError: 'auto'"),
        (lambda d: d.update(shards=[{"shard": "x", "steps": [], "expected": 1}]), "expected K/N"),
        (lambda d: d["shards"][0].pop("expected"), "KeyError: 'expected'"),
        (lambda d: d["shards"][0]["steps"][0].pop("expected"), "KeyError: 'expected'"),
        (lambda d: d["groups"]["user:test"].pop("expected"), "KeyError: 'expected'"),
        (lambda d: d["groups"]["user:test"]["groups"][0].pop("expected"), "KeyError"),
        (lambda d: d.update(target="soon"), "ValueError"),
        (lambda d: d.update(groups=[]), "AttributeError"),
        (lambda d: d.update(shards=None), "TypeError"),
    ],
)
def test_a_file_that_is_not_a_shard_plan_is_refused(change: Any, message: str) -> None:
    data = document(sharded())
    change(data)
    with pytest.raises(ShardError, match=message):
        shard_plan_from_document(PLAN, data, FILES)
    with pytest.raises(ShardError, match="not a shard plan"):
        shard_plan_from_document(PLAN, [data], FILES)
