"""Reading JUnit reports written by real pytest runs with pytest-rerunfailures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from acme_ci.core.junit import JunitError, parse_junit

from ..conftest import PYTEST_PLUGINS

PLUGINS = PYTEST_PLUGINS.split()

SUITE = """\
import pathlib

COUNTER = pathlib.Path(__file__).with_name("attempts")


def test_flaky():
    n = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(n + 1))
    assert n >= 1, "first attempt fails"


def test_broken():
    assert False, "always"


def test_fine():
    pass


def test_skipped():
    import pytest
    pytest.skip("not here")
"""


@pytest.mark.usefixtures("bytecode_cache")
def test_reruns_become_attempts_flakes_and_failures(tmp_path: Path) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *PLUGINS, "--reruns",
         "2", "--max-suite-reruns=5", "--junitxml=report.xml", "test_suite.py"],
        cwd=tmp_path, capture_output=True, check=False,
    )  # fmt: skip
    summary = parse_junit((tmp_path / "report.xml").read_text())
    outcomes = {o.test_id: o for o in summary.outcomes}
    assert outcomes["test_suite::test_flaky"].attempts == 2
    assert [o.test_id for o in summary.flaky] == ["test_suite::test_flaky"]
    assert [(o.test_id, o.attempts) for o in summary.failed] == [("test_suite::test_broken", 3)]
    assert summary.count("passed") == 2
    assert summary.count("skipped") == 1


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(JunitError, match="not a JUnit XML report"):
        parse_junit("<testsuite")


def test_distinct_tests_sharing_a_name_are_not_reruns() -> None:
    """Schemathesis gives every API operation's test the function's node id; pytest's
    `tests` count shows there was no rerun, so no flake is reported."""
    cases = "".join(
        f'<testcase classname="tests.test_fuzz" name="test_api" time="0.{i}" />' for i in range(6)
    )
    failing = (
        '<testcase classname="tests.test_fuzz" name="test_api"><failure>500</failure></testcase>'
    )
    summary = parse_junit(
        f'<testsuites><testsuite tests="7">{cases}{failing}</testsuite></testsuites>'
    )
    assert summary.flaky == ()
    assert [o.attempts for o in summary.outcomes] == [1] * 7
    assert summary.count("passed") == 6
    assert [o.test_id for o in summary.failed] == ["tests.test_fuzz::test_api"]
