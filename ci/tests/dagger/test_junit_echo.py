"""A failing test step's verdict reaches the summary through the tail of its error output.

The plugin runs for real here (pytest in a subprocess, with pytest-rerunfailures as the
packages use it), and its stderr is cut the way the engine cuts a failed exec's output
before the executor reads it: the last 100 KiB, its start overwritten by
"[omitting N bytes]..." (engine/engineutil/ref.go, ReadSnapshotPath), then trimmed
(core/exec_error.go, execErrorFromMetaRef).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from dagger import dag

from acme_ci.core import junit
from acme_ci.core.plan import Step
from acme_ci.dagger import junit_echo

MAX_EXEC_ERROR_OUTPUT_BYTES = 100 * 1024  # engine/engineutil/ref.go
JUNIT = "r/junit.xml"
STEP = Step(
    id="acme-big:test",
    package="acme-big",
    task="test",
    commands=(("python", "-m", "pytest"),),
    workdir=".",
    env=(),
    inputs=(),
    needs=(),
    outputs=("r/junit.xml",),
    reason="--all",
)

FLAKY = """
import pathlib

import pytest


@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_flaky(name):
    seen = pathlib.Path(__file__).with_name(f".seen-{name}")
    if not seen.exists():
        seen.write_text("x")
        raise ConnectionError("first attempt")
"""


def engine_tail(output: str) -> str:
    """What a failed exec's ExecError carries of `output`."""
    data = output.encode()
    if len(data) >= MAX_EXEC_ERROR_OUTPUT_BYTES:
        omitted = len(data) - MAX_EXEC_ERROR_OUTPUT_BYTES
        kept = bytearray(data[-MAX_EXEC_ERROR_OUTPUT_BYTES:])
        message = f"[omitting {omitted} bytes]...".encode()
        kept[: len(message)] = message
        data = bytes(kept)
    return data.decode(errors="replace").strip()


def run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest over `directory` with the plugin installed as with_junit_echo installs it."""
    plugins = directory / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / f"{junit_echo.PLUGIN}.py").write_text(junit_echo.PLUGIN_SOURCE, encoding="utf-8")
    (plugins / f"{junit_echo.READER}.py").write_text(junit_echo.READER_SOURCE, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(plugins),
        "PYTEST_ADDOPTS": f"-p {junit_echo.PLUGIN}",
        # The venv's other plugins (schemathesis, hypothesis, faker) would cost seconds of
        # imports per run; rerunfailures is the one the packages' retry policies use.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "rerunfailures"]
    return subprocess.run(
        [*argv, "-q", "--tb=no", f"--junitxml={JUNIT}", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def failed_suite(directory: Path) -> str:
    """The stderr of a small failing suite: one pass, one failure, three flakes."""
    (directory / "test_small.py").write_text(
        "def test_ok():\n    pass\n\ndef test_bad():\n    assert 0\n", encoding="utf-8"
    )
    (directory / "test_flaky.py").write_text(FLAKY, encoding="utf-8")
    done = run_pytest(directory, "--reruns", "2", "--only-rerun", "ConnectionError")
    assert done.returncode == 1, done.stdout
    return done.stderr


def test_a_failing_run_ends_its_stderr_with_the_report_and_a_passing_one_prints_none(
    tmp_path: Path,
) -> None:
    stderr = failed_suite(tmp_path)
    assert stderr.rstrip().endswith(junit_echo.END)  # last: nothing after it to push it out
    rest, report = junit_echo.split_report(stderr)
    assert junit_echo.BEGIN not in rest
    verdict = junit_echo.failure_verdict(STEP, 1, report)
    assert verdict.failed_tests == ("test_small::test_bad",)
    flakes = [(f.test_id, f.attempts, f.package) for f in verdict.flakes]
    assert flakes == [(f"test_flaky::test_flaky[{n}]", 2, "acme-big") for n in "abc"]
    assert (verdict.passed_tests, verdict.skipped_tests, verdict.attempts) == (4, 0, 2)
    assert verdict.notes == ()

    (tmp_path / "test_small.py").write_text("def test_ok():\n    pass\n", encoding="utf-8")
    done = run_pytest(tmp_path, "test_small.py")
    assert done.returncode == 0
    assert junit_echo.split_report(done.stderr) == (done.stderr, None)


def test_thousands_of_failures_still_reach_the_verdict_through_the_engines_tail(
    tmp_path: Path,
) -> None:
    """5,000 cases, 3,000 failing: the whole JUnit report is far longer than the tail the
    engine keeps, so an echo of it would lose its start marker; the bounded report does not."""
    (tmp_path / "test_big.py").write_text(
        "import pytest\n\n\n"
        '@pytest.mark.parametrize("case", range(5000))\n'
        "def test_case(case):\n"
        "    assert case % 5 >= 3\n",
        encoding="utf-8",
    )
    (tmp_path / "test_flaky.py").write_text(FLAKY, encoding="utf-8")
    done = run_pytest(tmp_path, "--reruns", "1", "--only-rerun", "ConnectionError")
    assert done.returncode == 1
    whole = (tmp_path / JUNIT).read_text(encoding="utf-8")
    assert len(whole.encode()) > 5 * MAX_EXEC_ERROR_OUTPUT_BYTES

    # Whatever else the run writes to stderr first, the engine keeps the report.
    kept = engine_tail("a warning line\n" * 20_000 + done.stderr)
    assert kept.startswith("[omitting ")
    _, report = junit_echo.split_report(kept)
    assert report is not None
    assert len(report.encode()) < 8 * 1024
    verdict = junit_echo.failure_verdict(STEP, 1, report)
    failing = [case for case in range(5000) if case % 5 < 3]
    assert verdict.failed_tests == tuple(
        f"test_big::test_case[{case}]" for case in failing[: junit_echo.MAX_LISTED]
    )
    assert (verdict.passed_tests, verdict.attempts) == (2000 + 3, 2)
    assert [(f.test_id, f.attempts) for f in verdict.flakes] == [
        (f"test_flaky::test_flaky[{n}]", 2) for n in "abc"
    ]
    more = 3000 - junit_echo.MAX_LISTED
    assert verdict.notes == (
        f"acme-big: 3000 failed tests; the first {junit_echo.MAX_LISTED} are named, "
        f"and {more} more",
    )


def test_long_test_names_are_cut_so_the_report_stays_bounded(tmp_path: Path) -> None:
    (tmp_path / "test_long.py").write_text(
        "import pytest\n\n\n"
        'NAMES = ["x" * 5000 + str(i) for i in range(100)]\n\n\n'
        '@pytest.mark.parametrize("name", NAMES, ids=NAMES)\n'
        "def test_long(name):\n"
        "    assert False\n",
        encoding="utf-8",
    )
    done = run_pytest(tmp_path)
    _, report = junit_echo.split_report(engine_tail(done.stderr))
    assert report is not None
    assert len(report.encode()) < 2 * junit_echo.MAX_LISTED * (junit_echo.MAX_NAME + 16) + 512
    verdict = junit_echo.failure_verdict(STEP, 1, report)
    assert len(verdict.failed_tests) == junit_echo.MAX_LISTED
    assert all(len(name) == junit_echo.MAX_NAME for name in verdict.failed_tests)
    assert all(name.endswith("...") for name in verdict.failed_tests)


def test_a_run_that_fails_before_writing_a_report_says_so() -> None:
    verdict = junit_echo.failure_verdict(STEP, 4, None)
    assert verdict.notes == ("acme-big: pytest wrote no JUnit report",)
    unreadable = junit_echo.failure_verdict(STEP, 1, "{not json")
    assert unreadable.notes[0].startswith("acme-big: unreadable test report")
    collected_none = junit_echo.failure_verdict(
        STEP,
        5,
        '{"passed": 0, "skipped": 0, "attempts": 1, '
        '"failed": {"listed": [], "more": 0}, "flaky": {"listed": [], "more": 0}}',
    )
    assert collected_none.notes == ("acme-big: pytest collected no tests",)


def test_the_reader_copied_beside_the_plugin_needs_only_the_standard_library() -> None:
    """It runs in every package's test container, where acme-ci is not installed."""
    tree = ast.parse(junit_echo.READER_SOURCE)
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert {name.split(".")[0] for name in imported} <= sys.stdlib_module_names | {"__future__"}
    assert Path(junit.__file__).read_text(encoding="utf-8") == junit_echo.READER_SOURCE


def test_test_containers_load_the_echo_plugin_and_its_reader() -> None:
    chain = junit_echo.with_junit_echo(dag.container())._ctx.selections
    env = {s.args["name"]: s.args["value"] for s in chain if s.name == "withEnvVariable"}
    assert env["PYTEST_ADDOPTS"] == f"-p {junit_echo.PLUGIN}"
    files = {s.args["path"]: s.args["contents"] for s in chain if s.name == "withNewFile"}
    assert files == {
        f"{env['PYTHONPATH']}/{junit_echo.PLUGIN}.py": junit_echo.PLUGIN_SOURCE,
        f"{env['PYTHONPATH']}/{junit_echo.READER}.py": junit_echo.READER_SOURCE,
    }
