"""The package's declared rerun policy: only TimeoutError is retried, and a cap holds.

Each case runs pytest in a subprocess on a generated test file, under a verbatim copy of
this package's pyproject.toml, so the policy tested is the one every invocation applies.
"""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def declared_reruns() -> int:
    """`reruns` from the package's `[tool.pytest.ini_options]` (an ini string)."""
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return int(config["tool"]["pytest"]["ini_options"]["reruns"])


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
"""


def run_generated(tmp_path: Path, *args: str) -> dict[str, int]:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.read_text(encoding="utf-8"))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_generated.py").write_text(GENERATED_TESTS)
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


def test_declared_policy_retries_only_timeout_errors(tmp_path: Path) -> None:
    attempts = run_generated(tmp_path)
    assert attempts == {
        "times_out_once": 2,  # a flake: passes on its first rerun
        # a real break: one run plus every declared rerun, then it fails
        "always_times_out": 1 + declared_reruns(),
        "wrong_answer": 1,  # AssertionError: never retried
        "other_error": 1,  # ConnectionError: not in only_rerun, never retried
    }


def test_suite_wide_cap_bounds_the_total_reruns(tmp_path: Path) -> None:
    attempts = run_generated(tmp_path, "--max-suite-reruns", "2")
    reruns = sum(count - 1 for count in attempts.values())
    assert reruns == 2
    assert attempts["wrong_answer"] == 1


def test_pipeline_settings_declare_the_suite_rerun_cap() -> None:
    settings = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]
    # The cap leaves a single flaky test all its declared reruns.
    assert settings["acme"]["test"]["max-suite-reruns"] >= declared_reruns()
