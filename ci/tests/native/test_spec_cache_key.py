"""The step cache never replays a result for a step that would run differently.

Two steps with the same argv but another environment, or run from another directory, do
different work (another PYTHONPATH, another package's pytest configuration): a result
cached for one must be a miss for the other. Identical definitions must still hit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from acme_ci.core.plan import Step
from acme_ci.native.cache import Cache, CachedResult, FileHasher, step_key

FILES = {"uv.lock": "lock", "libs/a/src/a.py": "A = 1", "libs/b/src/b.py": "B = 1"}

TEST_STEP = Step(
    id="a:test",
    package="a",
    task="test",
    commands=(("python", "-m", "pytest", "-q"),),
    workdir="libs/a",
    env=(("PYTHONHASHSEED", "0"),),
    inputs=("uv.lock", "libs/a"),
    needs=(),
    outputs=(),
    reason="--all",
)


def _tree(root: Path) -> FileHasher:
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return FileHasher(root, FILES)


def _replayed(tmp_path: Path, stored: Step, asked: Step) -> bool:
    """Store a result for `stored`, then ask the cache for `asked` in a later run."""
    cache = Cache(tmp_path / ".acme/cache", tmp_path)
    hasher = _tree(tmp_path)
    result = CachedResult(stored.id, 2.0, "1 passed", 1, ())
    cache.store(step_key(stored, hasher, "py3.11|uv"), stored, result)
    later = FileHasher(tmp_path, FILES)  # a new run hashes afresh
    return cache.load(step_key(asked, later, "py3.11|uv"), asked) is not None


def test_the_same_step_is_replayed(tmp_path: Path) -> None:
    assert _replayed(tmp_path, TEST_STEP, dataclasses.replace(TEST_STEP))


@pytest.mark.parametrize(
    "env",
    [
        (("PYTHONHASHSEED", "1"),),
        (("PYTHONHASHSEED", "0"), ("PYTEST_ADDOPTS", "--reruns=4")),
        (),
    ],
    ids=["value-changed", "variable-added", "variable-removed"],
)
def test_another_environment_is_a_miss(tmp_path: Path, env: tuple[tuple[str, str], ...]) -> None:
    assert not _replayed(tmp_path, TEST_STEP, dataclasses.replace(TEST_STEP, env=env))


def test_another_working_directory_is_a_miss(tmp_path: Path) -> None:
    # Same argv, same inputs, but run from libs/b: its pytest config and tests, not a's.
    elsewhere = dataclasses.replace(TEST_STEP, workdir="libs/b")
    assert not _replayed(tmp_path, TEST_STEP, elsewhere)
