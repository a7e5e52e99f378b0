"""The package's rerun policy, checked against its specification, not against itself.

The specification (DESIGN.md, "Flaky tests"; the README): a test that fails with
`TimeoutError` is rerun up to 4 times, so the 25% flake fails a run only when all
5 attempts time out, with probability 0.25^5 (about 0.1%); any other failure is never
rerun; the pipeline caps reruns suite-wide at 4; and a test server that cannot start is a
real failure, never retried.

Each case runs pytest in a subprocess on generated tests, under a verbatim copy of this
package's pyproject.toml, so the policy observed is the one every invocation applies.
"""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


# The specification's numbers.
SPEC_RERUNS = 4
SPEC_SUITE_CAP = 4
FLAKE_PROBABILITY = 0.25
SPEC_RUN_FAILURE_PROBABILITY = 0.25**5  # about 1 in 1000


def suite_cap() -> int:
    """The cap the pipeline passes as --max-suite-reruns (`[tool.acme.test]`)."""
    settings = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]
    cap: int = settings["acme"]["test"]["max-suite-reruns"]
    return cap


GENERATED_TESTS = """
from pathlib import Path

def attempt(name):
    counter = Path(__file__).parent / f"{name}.attempts"
    count = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(count))
    return count

def test_times_out_once():
    if attempt("times_out_once") == 1:
        raise TimeoutError("Request timed out")

def test_always_times_out():
    attempt("always_times_out")
    raise TimeoutError("Request timed out")

def test_wrong_answer():
    attempt("wrong_answer")
    assert 1 + 1 == 3

def test_other_error():
    attempt("other_error")
    raise ConnectionError("refused")

def test_server_never_starts():
    import sys
    from acme_web.testing import serve
    attempt("server_never_starts")
    with serve([sys.executable, "-c", "import time; time.sleep(30)"], {}, startup_timeout=0.3):
        pass
"""

SECOND_BREAK = """
from pathlib import Path

def test_also_always_times_out():
    counter = Path(__file__).parent / "also_always_times_out.attempts"
    counter.write_text(str(int(counter.read_text()) + 1 if counter.exists() else 1))
    raise TimeoutError("Request timed out")
"""


def run_generated(tmp_path: Path, *args: str, second_break: bool = False) -> dict[str, int]:
    # The generated tests use no schemathesis: its plugin, the one token taken out of the
    # copy, would only cost ~1 s of imports. Everything else is verbatim.
    config = PYPROJECT.read_text(encoding="utf-8")
    assert config.count(" -p schemathesis") == 1, "the copy's addopts changed: update this"
    (tmp_path / "pyproject.toml").write_text(config.replace(" -p schemathesis", ""))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_generated.py").write_text(GENERATED_TESTS)
    if second_break:
        (tmp_path / "tests" / "test_second.py").write_text(SECOND_BREAK)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        # Only the copied pyproject may configure the inner run, not the outer run's options.
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout  # some tests fail on purpose
    return {path.stem: int(path.read_text()) for path in (tmp_path / "tests").glob("*.attempts")}


def test_policy_retries_only_timeout_errors_as_specified(tmp_path: Path) -> None:
    attempts = run_generated(tmp_path)
    assert attempts == {
        "times_out_once": 2,  # a flake: passes on its first rerun
        "always_times_out": 1 + SPEC_RERUNS,  # a real break: every rerun, then it fails
        "wrong_answer": 1,  # AssertionError: never retried
        "other_error": 1,  # ConnectionError: not a timeout, never retried
        "server_never_starts": 1,  # the helper's ServerStartupError: never a flake
    }
    # The flake fails a run only if every attempt of it times out.
    run_failure = FLAKE_PROBABILITY ** attempts["always_times_out"]
    assert run_failure == SPEC_RUN_FAILURE_PROBABILITY


def test_pipeline_cap_bounds_the_reruns_of_a_whole_suite(tmp_path: Path) -> None:
    # Two tests that always time out would take 8 reruns; the suite-wide cap allows 4.
    attempts = run_generated(tmp_path, "--max-suite-reruns", str(suite_cap()), second_break=True)
    assert sum(count - 1 for count in attempts.values()) == SPEC_SUITE_CAP
    assert attempts["wrong_answer"] == 1
