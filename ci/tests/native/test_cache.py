"""The content-addressed cache: keys follow contents, entries restore outputs, corruption shows."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acme_ci.core.entry_format import CachedResult
from acme_ci.core.plan import Step
from acme_ci.entries import CorruptEntryError
from acme_ci.native import git as git_adapter
from acme_ci.native.cache import Cache, FileHasher, step_key

from ..conftest import git

STEP = Step(
    id="p:build",
    package="p",
    task="build",
    commands=(("uv", "build"),),
    workdir=".",
    env=(),
    inputs=("uv.lock", "pkg"),
    needs=(),
    outputs=("dist/p",),
    reason="test",
)
RESULT = CachedResult("p:build", 1.5, "built", 1, (("t::flaky", 2),))


def _tree(root: Path) -> None:
    for path, text in {"uv.lock": "lock", "pkg/a.py": "a", "other/b.py": "b"}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def _key(root: Path, step: Step = STEP, fingerprint: str = "py") -> str:
    files = ["uv.lock", "pkg/a.py", "other/b.py"]
    return step_key(step, FileHasher(root, files), fingerprint)


def test_the_key_follows_inputs_definition_and_environment_only(tmp_path: Path) -> None:
    _tree(tmp_path)
    key = _key(tmp_path)
    (tmp_path / "other/b.py").write_text("not an input")
    assert _key(tmp_path) == key
    assert _key(tmp_path, fingerprint="other python") != key
    assert _key(tmp_path, Step(**{**STEP.__dict__, "commands": (("uv", "b2"),)})) != key
    (tmp_path / "pkg/a.py").write_text("changed")
    assert _key(tmp_path) != key
    (tmp_path / "pkg/a.py").write_text("a")
    (tmp_path / "uv.lock").write_text("new lock")
    assert _key(tmp_path) != key


def test_a_hit_replays_the_result_and_restores_outputs(tmp_path: Path) -> None:
    (tmp_path / "dist/p").mkdir(parents=True)
    (tmp_path / "dist/p/p.whl").write_bytes(b"wheel")
    cache = Cache(tmp_path / ".acme/cache", tmp_path)
    assert cache.load("ab" * 32, STEP) is None
    cache.store("ab" * 32, STEP, RESULT)
    (tmp_path / "dist/p/p.whl").unlink()
    assert cache.load("ab" * 32, STEP) == RESULT
    assert (tmp_path / "dist/p/p.whl").read_bytes() == b"wheel"


def test_a_hit_rewrites_only_outputs_that_differ_from_the_entry(tmp_path: Path) -> None:
    (tmp_path / "dist/p").mkdir(parents=True)
    wheel, sdist = tmp_path / "dist/p/p.whl", tmp_path / "dist/p/p.tar.gz"
    wheel.write_bytes(b"wheel")
    sdist.write_bytes(b"sdist")
    cache = Cache(tmp_path / ".acme/cache", tmp_path)
    cache.store("ef" * 32, STEP, RESULT)
    assert cache.has("ef" * 32)
    assert not cache.has("fe" * 32)
    untouched = wheel.stat().st_ctime_ns
    sdist.write_bytes(b"SDIST")  # same size, another content and time: a stale output
    assert cache.load("ef" * 32, STEP) == RESULT
    assert sdist.read_bytes() == b"sdist"
    assert wheel.stat().st_ctime_ns == untouched  # already the entry's copy: not rewritten
    assert wheel.read_bytes() == b"wheel"


@pytest.mark.parametrize("damage", ["metadata", "output", "garbage"])
def test_a_corrupt_entry_is_detected_and_discarded(tmp_path: Path, damage: str) -> None:
    (tmp_path / "dist/p").mkdir(parents=True)
    (tmp_path / "dist/p/p.whl").write_bytes(b"wheel")
    cache = Cache(tmp_path / ".acme/cache", tmp_path)
    key = "cd" * 32
    cache.store(key, STEP, RESULT)
    entry = tmp_path / ".acme/cache" / key[:2] / key
    if damage == "metadata":
        data = json.loads((entry / "entry.json").read_text())
        data["meta"]["duration"] = 0.0
        (entry / "entry.json").write_text(json.dumps(data))
    elif damage == "output":
        (entry / "outputs/dist/p/p.whl").write_bytes(b"tampered")
    else:
        (entry / "entry.json").write_text("{not json")
    with pytest.raises(CorruptEntryError, match="p:build"):
        cache.load(key, STEP)
    assert not entry.exists()
    assert cache.load(key, STEP) is None  # recomputable: a miss, not an error, from now on


def test_racing_stores_leave_one_valid_entry(tmp_path: Path) -> None:
    (tmp_path / "dist/p").mkdir(parents=True)
    (tmp_path / "dist/p/p.whl").write_bytes(b"wheel" * 10000)
    key = "ef" * 32

    def store(_: int) -> None:
        Cache(tmp_path / ".acme/cache", tmp_path).store(key, STEP, RESULT)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(store, range(16)))
    assert Cache(tmp_path / ".acme/cache", tmp_path).load(key, STEP) == RESULT
    leftovers = [p.name for p in (tmp_path / ".acme/cache" / key[:2]).iterdir()]
    assert leftovers == [key]


def _git_key(root: Path) -> tuple[str, dict[str, str] | None]:
    files = ["uv.lock", "pkg/a.py", "other/b.py"]
    blobs = git_adapter.index_blobs(root)
    return step_key(STEP, FileHasher(root, files, blobs), "py"), blobs


def test_git_blob_ids_are_reused_and_a_same_size_change_still_changes_the_key(
    tmp_path: Path,
) -> None:
    _tree(tmp_path)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "tree")
    key, blobs = _git_key(tmp_path)
    assert blobs is not None
    assert set(blobs) == {"uv.lock", "pkg/a.py", "other/b.py"}
    # git's ids are exactly what hashing the bytes gives: no spurious miss either way.
    assert key == _key(tmp_path, fingerprint="py")

    (tmp_path / "pkg/a.py").write_text("b")  # same size, same second
    changed, blobs = _git_key(tmp_path)
    assert blobs is not None
    assert "pkg/a.py" not in blobs
    assert changed != key
    assert changed == _key(tmp_path, fingerprint="py")


def test_the_side_by_side_snapshot_answers_as_the_single_git_calls_do(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    assert git_adapter.snapshot(outside) == git_adapter.Snapshot(None, None, None)

    root = tmp_path / "repo"
    _tree(root)
    git(root, "init", "-q")
    unborn = git_adapter.snapshot(root)  # files listed, no commit yet
    assert unborn.files == ("other/b.py", "pkg/a.py", "uv.lock")
    assert (unborn.blobs, unborn.head) == ({}, None)

    (root / "gone.py").write_text("deleted after the commit")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tree")
    (root / "pkg/a.py").write_text("changed")
    (root / "gone.py").unlink()
    (root / ".gitignore").write_text("ignored/\n")
    (root / "ignored").mkdir()
    (root / "ignored/x.py").write_text("never listed")
    for untracked in ("new.py", "with space.py", "tab\tname.py", "ünï.py"):
        (root / untracked).write_text("untracked")
    snap = git_adapter.snapshot(root)
    assert snap == git_adapter.Snapshot(
        files=git_adapter.listed_files(root, ["."]),
        blobs=git_adapter.index_blobs(root),
        head=git_adapter.head_commit(root),
    )
    assert snap.files is not None
    assert {"new.py", "with space.py", "tab\tname.py", "ünï.py", "gone.py"} <= set(snap.files)
    assert "ignored/x.py" not in snap.files
    assert snap.blobs is not None
    assert set(snap.blobs) == {"uv.lock", "other/b.py"}
    assert snap.head == git(root, "rev-parse", "HEAD").strip()


def test_a_workspace_below_the_repositorys_top_never_reuses_a_changed_files_blob(
    tmp_path: Path,
) -> None:
    """diff-files names paths from the repository's top; ls-files from where it runs."""
    top = tmp_path / "top"
    root = top / "ws"
    _tree(root)
    (top / "README").write_text("outside the workspace")
    git(top, "init", "-q")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "tree")
    (root / "pkg/a.py").write_text("b")  # same size, same second
    (top / "README").write_text("changed, outside")
    for blobs in (git_adapter.index_blobs(root), git_adapter.snapshot(root).blobs):
        assert blobs is not None
        assert set(blobs) == {"uv.lock", "other/b.py"}
    assert git_adapter.snapshot(root).files == ("other/b.py", "pkg/a.py", "uv.lock")


@pytest.mark.parametrize("filters", [True, False], ids=["data-filter", "before-3.11.4"])
def test_an_installed_entry_that_escapes_its_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filters: bool
) -> None:
    """Pythons before 3.11.4 have no tarfile filters; the same members are refused there."""
    import io
    import tarfile

    if not filters:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    cache = Cache(tmp_path / "cache", tmp_path)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(CorruptEntryError, match="unreadable archive"):
        cache.install("k" * 64, buffer.getvalue())
    assert not (tmp_path / "cache" / "escaped").exists()
    assert not (tmp_path / "escaped").exists()


# Path segments chosen around "/" in sort order: "-" and "." sort before it, "0" right after.
SEGMENTS = st.sampled_from(["a", "a-b", "a.b", "a0", "ab", "b", "é", "a b"])
PATHS = st.lists(SEGMENTS, min_size=1, max_size=3).map("/".join)


@given(files=st.sets(PATHS, max_size=25), prefix=PATHS)
def test_under_names_the_prefix_and_the_files_below_it_in_sorted_order(
    files: set[str], prefix: str
) -> None:
    """Bisection finds exactly what a scan of every file would, in the same order."""
    hasher = FileHasher(Path("/nowhere"), files)
    scanned = tuple(f for f in sorted(files) if f == prefix or f.startswith(prefix + "/"))
    assert hasher.under(prefix) == scanned
    assert hasher.under(".") == hasher.under("") == tuple(sorted(files))


# The step cache never replays a result for a step that would run differently.
#
# Two steps with the same argv but another environment, or run from another directory, do
# different work (another PYTHONPATH, another package's pytest configuration): a result
# cached for one must be a miss for the other. Identical definitions must still hit.


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


def _hashed_tree(root: Path) -> FileHasher:
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return FileHasher(root, FILES)


def _replayed(tmp_path: Path, stored: Step, asked: Step) -> bool:
    """Store a result for `stored`, then ask the cache for `asked` in a later run."""
    cache = Cache(tmp_path / ".acme/cache", tmp_path)
    hasher = _hashed_tree(tmp_path)
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
