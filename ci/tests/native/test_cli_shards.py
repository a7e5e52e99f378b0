"""A sharded run end to end on a generated workspace in a real git repository: `plan --shards`,
`ci --shard K/N` (one after another in one checkout, or at once in checkouts of their own),
and `verdict`, against an unsharded run of the same commit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acme_ci.native.cli import main

from ..conftest import Repo, copy_workspace

BROKEN = 'def test_always_broken() -> None:\n    assert 1 == 2, "a real bug"\n'
PASSING = "def test_{name}() -> None:\n    assert True\n"
FLAKY = """\
import os
import pathlib

import pytest


@pytest.mark.flaky(reruns=2)
def test_sometimes() -> None:
    counter = pathlib.Path(os.environ["FLAKE_COUNTER"])
    attempt = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(attempt + 1))
    assert attempt >= 1, "fails on the first attempt only"
"""
SLOW = "import time\n\n\ndef test_slow() -> None:\n    time.sleep(60)\n"
# Small enough that util's suite (several files) is split, one file to a group.
TARGET = "0.05"


def acme(repo: Repo, *args: str) -> int:
    return main(["-C", str(repo.root), *args])


def statuses(report: Path) -> dict[str, str]:
    return {s["id"]: s["status"] for s in json.loads(report.read_text())["steps"]}


def with_util_suite(repo: Repo, broken: bool = False) -> None:
    """util's suite in three files (four with the broken one), committed, then timed by an
    unsharded `acme-ci test` (what the plan job learns the split from)."""
    for name in ("more", "most"):
        repo.write(f"libs/util/tests/test_{name}.py", PASSING.format(name=name))
    if broken:
        repo.write("libs/util/tests/test_broken.py", BROKEN)
    repo.commit("util's suite in files")


def unsharded(repo: Repo, report: Path) -> int:
    return acme(repo, "ci", "--runner", "native", "--no-cache", "--report", str(report))


def plan_file(repo: Repo, count: int, capsys: pytest.CaptureFixture[str]) -> Path:
    capsys.readouterr()
    assert (
        acme(repo, "plan", "--shards", str(count), "--shard-target", TARGET, "--format", "json")
        == 0
    )
    path = repo.root.parent / f"plan-{count}.json"
    path.write_text(capsys.readouterr().out)
    return path


def shard(repo: Repo, k: int, n: int, plan: Path, reports: Path, *more: str) -> int:
    return acme(
        repo, "ci", "--shard", f"{k}/{n}", "--shard-plan", str(plan),
        "--shard-report-dir", str(reports), "--no-cache", "--jobs", "2", *more,
    )  # fmt: skip


def verdict(repo: Repo, plan: Path, reports: Path, report: Path) -> int:
    return acme(
        repo, "verdict", "--shard-plan", str(plan), "--shard-report-dir", str(reports),
        "--report", str(report),
    )  # fmt: skip


def test_plan_shows_the_shards_as_text_json_and_a_github_matrix(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with_util_suite(repo)
    assert acme(repo, "test") == 0  # times every suite, file by file
    timing = json.loads((repo.root / ".acme/test-durations/util.json").read_text())
    assert set(timing["files"]) == {
        "tests/test_basic.py",
        "tests/test_more.py",
        "tests/test_most.py",
    }
    capsys.readouterr()
    assert acme(repo, "plan", "--shards", "2", "--shard-target", TARGET) == 0
    text = capsys.readouterr().out
    assert "Shards: 2 (" in text
    assert "Split: util:test (expected " in text
    assert "into 3 groups of its test files" in text
    assert "Shard 1/2 (expected " in text
    assert "  util:test[2/3]  " in text

    assert acme(repo, "plan", "--shards", "auto", "--format", "github-matrix") == 0
    matrix = json.loads(capsys.readouterr().out)
    assert [entry["shard"] for entry in matrix["include"]] == ["1/1"]

    path = plan_file(repo, 3, capsys)
    data = json.loads(path.read_text())
    assert data["count"] == 3
    assert len(data["groups"]["util:test"]["groups"]) == 3
    assert sorted(s["id"] for shard in data["shards"] for s in shard["steps"]) == sorted(
        [*(f"{p}:{t}" for p in ("core", "api", "web") for t in ("lint", "test", "build")),
         "util:lint", "util:build", "util:test[1/3]", "util:test[2/3]", "util:test[3/3]"]
    )  # fmt: skip

    assert acme(repo, "plan", "--format", "github-matrix") == 2
    assert "--format github-matrix: only with --shards N|auto" in capsys.readouterr().err
    assert acme(repo, "plan", "--shards", "0") == 2
    assert "expected auto or a number from 1 to 256" in capsys.readouterr().err


@pytest.mark.parametrize("broken", [False, True], ids=["passing", "a failing test"])
def test_two_shards_one_after_another_reach_the_unsharded_verdict(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path, broken: bool
) -> None:
    with_util_suite(repo, broken)
    expected_code = 1 if broken else 0
    alone = tmp_path / "alone.json"
    assert unsharded(repo, alone) == expected_code
    plan = plan_file(repo, 2, capsys)
    reports = tmp_path / "reports"
    codes = [shard(repo, k, 2, plan, reports) for k in (1, 2)]
    # A shard's own exit code is its own steps' (the broken test fails util's lint too).
    assert (1 in codes) if broken else codes == [0, 0]
    assert sorted(p.name for p in reports.iterdir()) == ["shard-1-of-2.json", "shard-2-of-2.json"]
    capsys.readouterr()
    merged = tmp_path / "merged.json"
    assert verdict(repo, plan, reports, merged) == expected_code
    assert statuses(merged) == statuses(alone)
    out = capsys.readouterr().out
    assert "Shards (2):" in out
    assert "  shard 1/2  " in out
    junit = (repo.root / ".acme/reports/util/junit.xml").read_text()
    for name in ("test_basic", "test_more", "test_most"):
        assert f'classname="tests.{name}"' in junit
    if broken:
        assert statuses(merged)["util:build"] == statuses(merged)["api:build"] == "blocked"
        assert "tests.test_broken::test_always_broken" in out
        assert "a real bug" in junit
    states = [s["state"] for s in json.loads(merged.read_text())["shards"]]
    assert states == ["failed" if code else "passed" for code in codes]


def test_three_shards_at_once_in_checkouts_of_their_own_reach_the_unsharded_verdict(
    repo: Repo,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    bytecode_cache: Path,
) -> None:
    with_util_suite(repo, broken=True)
    alone = tmp_path / "alone.json"
    assert unsharded(repo, alone) == 1
    plan = plan_file(repo, 3, capsys)
    reports = tmp_path / "artifacts"
    runners = []
    for k in (1, 2, 3):
        checkout = copy_workspace(repo.root, tmp_path / f"runner{k}", bytecode_cache)
        argv = [
            sys.executable, "-m", "acme_ci.native.cli", "-C", str(checkout.root), "ci",
            "--shard", f"{k}/3", "--shard-plan", str(plan), "--no-cache", "--jobs", "1",
            # One artifact directory per shard, as actions/download-artifact lays them out.
            "--shard-report-dir", str(reports / f"shard-{k}"),
        ]  # fmt: skip
        runners.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    outputs = [runner.communicate(timeout=300)[0].decode() for runner in runners]
    assert [runner.returncode for runner in runners].count(1) >= 1, outputs
    capsys.readouterr()
    merged = tmp_path / "merged.json"
    assert verdict(repo, plan, reports, merged) == 1
    assert statuses(merged) == statuses(alone)


def timed(repo: Repo, seconds: dict[str, float]) -> None:
    """util's recorded seconds per test file set to `seconds` (its cut and the rest kept),
    as a later run might have measured them."""
    path = repo.root / ".acme/test-durations/util.json"
    data = json.loads(path.read_text())
    data["files"] = {f"tests/test_{name}.py": s for name, s in seconds.items()}
    path.write_text(json.dumps(data))


def test_a_warm_sharded_run_keeps_the_cut_and_finds_every_step_cached(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with_util_suite(repo)
    assert acme(repo, "test") == 0
    timed(repo, {"basic": 0.3, "more": 0.2, "most": 0.1})
    first = plan_file(repo, 2, capsys)
    cached = ("--jobs", "2")  # the local step cache on: no --no-cache

    def sharded(plan: Path, name: str) -> dict[str, str]:
        reports, report = tmp_path / name, tmp_path / f"{name}.json"
        assert [
            acme(repo, "ci", "--shard", f"{k}/2", "--shard-plan", str(plan),
                 "--shard-report-dir", str(reports), *cached)
            for k in (1, 2)
        ] == [0, 0]  # fmt: skip
        assert verdict(repo, plan, reports, report) == 0  # records the cut it ran
        return statuses(report)

    cold = sharded(first, "cold")
    assert set(cold.values()) == {"passed"}
    # The next runs measure the files the other way round: cut anew, the first group would
    # run test_most.py and the last (which runs the rest) another set, all other keys.
    timed(repo, {"basic": 0.1, "more": 0.2, "most": 0.3})
    second = plan_file(repo, 2, capsys)
    cut = [g["files"] for g in json.loads(first.read_text())["groups"]["util:test"]["groups"]]
    again = json.loads(second.read_text())["groups"]["util:test"]["groups"]
    assert [g["files"] for g in again] == cut == [["tests/test_basic.py"],
                                                  ["tests/test_more.py"],
                                                  ["tests/test_most.py"]]  # fmt: skip
    warm = sharded(second, "warm")
    assert set(warm) == set(cold)
    assert set(warm.values()) == {"cached"}  # util:test too: each of its groups was cached


def test_a_shard_that_never_ran_or_was_killed_fails_the_verdict_naming_it(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo.write("services/web/tests/test_slow.py", SLOW)
    repo.commit("a slow web test")
    plan = plan_file(repo, 3, capsys)
    data = json.loads(plan.read_text())
    web = next(s for s in data["shards"] if any(x["id"] == "web:test" for x in s["steps"]))["shard"]
    reports = tmp_path / "reports"
    others = [k for k in (1, 2, 3) if f"{k}/3" != web]
    assert shard(repo, others[0], 3, plan, reports) == 0
    killed = subprocess.Popen(
        [sys.executable, "-m", "acme_ci.native.cli", "-C", str(repo.root), "ci", "--shard", web,
         "--shard-plan", str(plan), "--shard-report-dir", str(reports), "--no-cache"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    assert killed.stdout is not None
    for line in killed.stdout:
        if b"-> start   web:test" in line:
            break
    time.sleep(0.5)
    os.killpg(killed.pid, signal.SIGKILL)  # the runner dies: no report
    killed.wait()
    capsys.readouterr()
    merged = tmp_path / "merged.json"
    assert verdict(repo, plan, reports, merged) == 1
    out = capsys.readouterr().out
    steps = ", ".join(
        s["id"] for s in next(s for s in data["shards"] if s["shard"] == web)["steps"]
    )
    assert f"shard {web} never reported: its steps ({steps}) have no result" in out
    never = f"{others[1]}/3"
    assert f"shard {never} never reported: its steps (" in out
    shards = {s["shard"]: s["state"] for s in json.loads(merged.read_text())["shards"]}
    assert shards == {f"{others[0]}/3": "passed", web: "missing", never: "missing"}
    assert statuses(merged)["web:test"] == "failed"


def test_a_flake_in_a_shard_shows_in_the_merged_summary(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAKE_COUNTER", str(tmp_path / "counter"))
    repo.write("services/web/tests/test_flaky.py", FLAKY)
    repo.commit("flaky")
    plan = plan_file(repo, 2, capsys)
    reports = tmp_path / "reports"
    assert [shard(repo, k, 2, plan, reports) for k in (1, 2)] == [0, 0]
    capsys.readouterr()
    merged = tmp_path / "merged.json"
    assert verdict(repo, plan, reports, merged) == 0
    out = capsys.readouterr().out
    assert "Flaky tests (passed after a rerun): 1" in out
    assert "web: tests.test_flaky::test_sometimes after 2 attempts" in out
    web = next(s for s in json.loads(merged.read_text())["steps"] if s["id"] == "web:test")
    assert web["flakes"] == [{"test": "tests.test_flaky::test_sometimes", "attempts": 2}]


def test_reports_from_another_plan_are_refused_and_bad_flags_are_usage_errors(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    two, three = plan_file(repo, 2, capsys), plan_file(repo, 3, capsys)
    reports = tmp_path / "reports"
    assert shard(repo, 1, 2, two, reports) == 0
    assert shard(repo, 2, 2, two, reports) == 0
    capsys.readouterr()
    other = tmp_path / "other.json"
    # The same step ids under a report of the plan for 3 shards: refused, named.
    (reports / "shard-1-of-2.json").rename(reports / "shard-1-of-3.json")
    text = (reports / "shard-1-of-3.json").read_text().replace('"shard": "1/2"', '"shard": "1/3"')
    (reports / "shard-1-of-3.json").write_text(text)
    assert verdict(repo, three, reports, other) == 1
    out = capsys.readouterr().out
    assert "shard 1/3: its report is from another plan (digest " in out
    assert "): refused; its steps (" in out

    usage = [
        (["ci", "--shard", "3/2", "--shard-report-dir", "r"], "shard '3/2': expected K/N"),
        (["ci", "--shard", "1/2"], "shard 1/2 has nowhere to put its report"),
        (["ci", "--shard", "1/2", "--shard-plan", str(three), "--shard-report-dir", "r"],
         "has 3 shards"),
        (["ci", "--shard-plan", str(two)], "--shard-plan: only with --shard K/N"),
        (["ci", "--shard", "1/2", "--runner", "dagger", "--shard-report-dir", "r"],
         "runs natively"),
        (["verdict", "--shard-report-dir", "r"], "which shard plan?"),
        (["verdict", "--shards", "auto", "--shard-report-dir", "r"], "the count the shards ran"),
        (["verdict", "--shards", "2"], "where are the shard reports?"),
        (["verdict", "--shard-plan", str(tmp_path / "none.json"), "--shard-report-dir", "r"],
         "cannot read it"),
        (["plan", "--shard-target", "1"], "--shard-target: only with --shards"),
    ]  # fmt: skip
    for args, message in usage:
        assert acme(repo, *args) == 2, args
        assert message in capsys.readouterr().err, args
    tampered = tmp_path / "tampered.json"
    tampered.write_text(two.read_text().replace('"digest": "', '"digest": "0'))
    argv = ["ci", "--shard", "1/2", "--shard-plan", str(tampered), "--shard-report-dir", "r"]
    assert acme(repo, *argv) == 2
    assert f"shard plan {tampered}: made for another plan" in capsys.readouterr().err
