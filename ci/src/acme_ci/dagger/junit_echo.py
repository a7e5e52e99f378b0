"""A failing test step's verdict, carried out of the container at the end of its error output.

A test step runs with `expect=SUCCESS` so that a failure is an engine error, and the engine
never caches an error: dagql's cache indexes a call only when it succeeds (dagql/cache.go,
Cache.wait drops a call that completed with an error) and a lazy exec whose evaluation
failed stays unevaluated (core/lazy_state.go, LazyState.Evaluate). With `expect=ANY` the
failed run would be an ordinary result, replayed on a warm engine until the inputs change.

The price: a failed exec leaves no container to read the JUnit report from, and the
engine's ExecError carries only the exit code and the last 100 KiB of stdout and of stderr,
the start overwritten by "[omitting N bytes]..." (engine/engineutil/ref.go,
MaxExecErrorOutputBytes and ReadSnapshotPath; core/exec_error.go, getExecMeta). A whole
report of a large suite is longer than that. So a small pytest plugin, loaded through
PYTEST_ADDOPTS (the step's argv stays the native one), reads the report with acme-ci's own
reader (acme_ci.core.junit, copied beside it: it needs only the standard library) when the
run fails, and writes a bounded summary of it between two markers as the very last thing on
stderr (pytest_unconfigure, trylast): the counts, the first failed tests and flakes (with
"N more" for the rest), each name cut to a bounded length. It stays a few KiB whatever the
suite's size, so it is always inside the tail the engine keeps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagger

from acme_ci.core import junit
from acme_ci.core.plan import Step
from acme_ci.core.scheduler import Flake
from acme_ci.core.verdict import TestVerdict, judge_test_step

PLUGIN = "acme_ci_junit_echo"
READER = "acme_ci_junit_reader"
PLUGIN_DIR = "/opt/acme-ci/pytest-plugins"
BEGIN = "----- acme-ci failed test report begin -----"
END = "----- acme-ci failed test report end -----"
# At most this many failed tests and flakes are named, each in at most this many characters:
# the report stays under 2 * 20 * 200 bytes of names plus its counts, whatever the suite.
MAX_LISTED = 20
MAX_NAME = 200

# acme_ci.core.junit, installed as its own module beside the plugin (the package containers
# hold the tested package, not acme-ci).
READER_SOURCE = Path(junit.__file__).read_text(encoding="utf-8")
PLUGIN_SOURCE = f'''"""acme-ci: a failing run ends its stderr with a bounded summary of its
JUnit report (acme_ci.dagger.junit_echo)."""

import json
import os
import sys

import pytest

from {READER} import JunitError, parse_junit

EXIT_STATUS = pytest.StashKey[int]()


def _named(outcomes):
    cut = [
        [o.test_id if len(o.test_id) <= {MAX_NAME} else o.test_id[: {MAX_NAME} - 3] + "...",
         o.attempts]
        for o in outcomes[:{MAX_LISTED}]
    ]
    return {{"listed": cut, "more": max(len(outcomes) - {MAX_LISTED}, 0)}}


def failure_report(text):
    try:
        summary = parse_junit(text)
    except JunitError as error:
        return {{"error": str(error)}}
    return {{
        "passed": summary.count("passed"),
        "skipped": summary.count("skipped"),
        "attempts": max((o.attempts for o in summary.outcomes), default=1),
        "failed": _named(summary.failed),
        "flaky": _named(summary.flaky),
    }}


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    session.config.stash[EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)  # the last hook: junitxml wrote its report at sessionfinish
def pytest_unconfigure(config):
    path = getattr(config.option, "xmlpath", None)
    if config.stash.get(EXIT_STATUS, 0) == 0 or not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as report:
        summary = failure_report(report.read())
    sys.stderr.write("\\n{BEGIN}\\n" + json.dumps(summary) + "\\n{END}\\n")
    sys.stderr.flush()
'''


def with_junit_echo(ctr: dagger.Container) -> dagger.Container:
    """`ctr` with the plugin (and the report reader it imports) enabled for every pytest run."""
    return (
        ctr.with_new_file(f"{PLUGIN_DIR}/{READER}.py", READER_SOURCE)
        .with_new_file(f"{PLUGIN_DIR}/{PLUGIN}.py", PLUGIN_SOURCE)
        .with_env_variable("PYTHONPATH", PLUGIN_DIR)
        .with_env_variable("PYTEST_ADDOPTS", f"-p {PLUGIN}")
    )


def split_report(stderr: str) -> tuple[str, str | None]:
    """(stderr without the echoed report, the report or None when none was echoed whole)."""
    start = stderr.rfind(BEGIN)
    stop = stderr.find(END, start)
    if start < 0 or stop < 0:
        return stderr, None
    report = stderr[start + len(BEGIN) : stop].strip()
    return (stderr[:start] + stderr[stop + len(END) :]).rstrip(), report


@dataclass(frozen=True)
class Named:
    """The first tests of a kind (id, attempts), and how many more there were."""

    listed: tuple[tuple[str, int], ...]
    more: int

    @classmethod
    def read(cls, data: Any) -> Named:
        return cls(tuple((str(t), int(a)) for t, a in data["listed"]), int(data["more"]))


def failure_verdict(step: Step, returncode: int, report: str | None) -> TestVerdict:
    """The verdict of a failed test step from its echoed report (None: none was echoed)."""
    if report is None:
        return judge_test_step(step, returncode, None)
    # The core's notes on the exit code alone: an empty report adds none.
    exit_notes = judge_test_step(step, returncode, "<testsuites/>").notes
    try:
        data = json.loads(report)
        if "error" in data:
            return TestVerdict((*exit_notes, f"{step.junit_path}: {data['error']}"))
        failed, flaky = Named.read(data["failed"]), Named.read(data["flaky"])
        passed, skipped, attempts = int(data["passed"]), int(data["skipped"]), int(data["attempts"])
    except (ValueError, KeyError, TypeError) as error:
        return TestVerdict((*exit_notes, f"{step.package}: unreadable test report ({error!r})"))
    notes = list(exit_notes)
    for kind, named in (("failed tests", failed), ("flaky tests", flaky)):
        if named.more:
            notes.append(
                f"{step.package}: {len(named.listed) + named.more} {kind}; "
                f"the first {len(named.listed)} are named, and {named.more} more"
            )
    return TestVerdict(
        tuple(notes),
        attempts=attempts,
        flakes=tuple(Flake(test, step.package, n) for test, n in flaky.listed),
        failed_tests=tuple(test for test, _ in failed.listed),
        passed_tests=passed,
        skipped_tests=skipped,
    )
