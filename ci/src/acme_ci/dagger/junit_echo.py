"""A failing test step's JUnit report, carried out of the container through its error output.

A test step runs with `expect=SUCCESS` so that a failure is an engine error, and the engine
never caches an error: dagql's cache indexes a call only when it succeeds (dagql/cache.go,
Cache.wait drops a call that completed with an error) and a lazy exec whose evaluation
failed stays unevaluated (core/lazy_state.go, LazyState.Evaluate). With `expect=ANY` the
failed run would be an ordinary result, replayed on a warm engine until the inputs change.

The price: a failed exec leaves no container to read the report from; the engine's ExecError
carries only the exit code and the last 100 KiB of stdout and stderr
(engine/engineutil/ref.go, MaxExecErrorOutputBytes). So a small pytest plugin, loaded
through PYTEST_ADDOPTS (the step's argv stays the native one), prints the report to stderr
between two markers when the run fails, and the verdict reads it from there.
"""

from __future__ import annotations

import dagger

PLUGIN = "acme_ci_junit_echo"
PLUGIN_DIR = "/opt/acme-ci/pytest-plugins"
BEGIN = "----- acme-ci junit report begin -----"
END = "----- acme-ci junit report end -----"

PLUGIN_SOURCE = f'''"""acme-ci: a failing run prints its JUnit report to stderr (acme_ci.dagger)."""

import os
import sys

import pytest


@pytest.hookimpl(trylast=True)  # after the junitxml plugin has written the report
def pytest_sessionfinish(session, exitstatus):
    path = getattr(session.config.option, "xmlpath", None)
    if exitstatus == 0 or not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as report:
        text = report.read()
    sys.stderr.write("\\n{BEGIN}\\n" + text + "\\n{END}\\n")
    sys.stderr.flush()
'''


def with_junit_echo(ctr: dagger.Container) -> dagger.Container:
    """`ctr` with the plugin installed and enabled for every pytest run."""
    return (
        ctr.with_new_file(f"{PLUGIN_DIR}/{PLUGIN}.py", PLUGIN_SOURCE)
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
