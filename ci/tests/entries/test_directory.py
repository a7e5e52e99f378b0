"""An entry as a directory: what one shell writes the other reads, and damage is named."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from acme_ci.core.entry_format import CachedResult, checksum_problem
from acme_ci.core.plan import Step
from acme_ci.entries import CorruptEntryError
from acme_ci.entries.directory import output_files, read_meta, write_entry_file
from acme_ci.native.cache import Cache

STEP = Step(
    id="acme-logger:test",
    package="acme-logger",
    task="test",
    commands=(("uv", "run", "pytest", "-q"),),
    workdir="libs/logger",
    env=(),
    inputs=("uv.lock", "libs/logger"),
    needs=(),
    outputs=(".acme/junit/acme-logger.xml", "dist/w.whl"),
    reason="--all",
)
RESULT = CachedResult(STEP.id, 1.5, "4 passed", 1, (("t::flaky", 2),), passed_tests=4)
FILES = {".acme/junit/acme-logger.xml": b"<testsuites/>", "dist/w.whl": b"\0wheel"}


def written(entry: Path, files: dict[str, bytes] = FILES) -> Path:
    """An entry put together as the entries CLI does: outputs/ first, then entry.json."""
    for name, data in files.items():
        (entry / "outputs" / name).parent.mkdir(parents=True, exist_ok=True)
        (entry / "outputs" / name).write_bytes(data)
    entry.mkdir(parents=True, exist_ok=True)
    write_entry_file(entry, RESULT.meta())
    return entry


def test_an_entry_reads_back_the_result_it_was_written_with(tmp_path: Path) -> None:
    entry = written(tmp_path / "entry")
    assert CachedResult.from_meta(read_meta(entry)) == RESULT
    assert output_files(entry) == FILES


def test_an_entry_without_outputs_holds_only_its_result(tmp_path: Path) -> None:
    entry = written(tmp_path / "entry", {})
    assert output_files(entry) == {}
    assert CachedResult.from_meta(read_meta(entry)) == RESULT


def test_an_entry_written_here_is_a_native_cache_hit(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", tmp_path / "checkout")
    key = "ke" + "y" * 62
    written(tmp_path / "cache" / key[:2] / key)
    assert cache.load(key, STEP) == RESULT
    assert (tmp_path / "checkout" / "dist/w.whl").read_bytes() == b"\0wheel"


def test_an_entry_the_native_cache_stored_passes_the_check(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    for name, data in FILES.items():
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_bytes(data)
    key = "ab" * 32
    Cache(tmp_path / "cache", checkout).store(key, STEP, RESULT)
    stored = tmp_path / "cache" / "ab" / key
    assert CachedResult.from_meta(read_meta(stored)) == RESULT
    document = json.loads((stored / "entry.json").read_text(encoding="utf-8"))
    assert checksum_problem(document, FILES) is None
    assert checksum_problem(document, {**FILES, "dist/w.whl": b"\0other"}) == (
        "checksum mismatch (damaged entry)"
    )


def _edit_meta(entry: Path) -> None:
    document = json.loads((entry / "entry.json").read_text())
    document["meta"]["duration"] = 0.0
    (entry / "entry.json").write_text(json.dumps(document))


DAMAGE: dict[str, tuple[Callable[[Path], object], str]] = {
    "metadata": (_edit_meta, "checksum mismatch (damaged entry)"),
    "output": (
        lambda e: (e / "outputs/dist/w.whl").write_bytes(b"tampered"),
        "checksum mismatch (damaged entry)",
    ),
    "output-added": (
        lambda e: (e / "outputs/dist/extra").write_bytes(b""),
        "checksum mismatch (damaged entry)",
    ),
    "output-removed": (
        lambda e: (e / "outputs/dist/w.whl").unlink(),
        "checksum mismatch (damaged entry)",
    ),
    "not-json": (lambda e: (e / "entry.json").write_text("{not json"), "unreadable ("),
    "no-metadata": (
        lambda e: (e / "entry.json").write_text('["meta"]'),
        "entry.json holds no metadata",
    ),
    "no-entry-file": (lambda e: (e / "entry.json").unlink(), "unreadable ("),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_entry_is_refused_saying_why(tmp_path: Path, damage: str) -> None:
    entry = written(tmp_path / "entry")
    harm, why = DAMAGE[damage]
    harm(entry)
    with pytest.raises(CorruptEntryError) as error:
        read_meta(entry)
    assert str(error.value).startswith(why)


def test_a_damaged_entry_in_the_native_cache_is_discarded_and_named(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", tmp_path / "checkout")
    key = "cd" * 32
    entry = written(tmp_path / "cache" / key[:2] / key)
    (entry / "outputs/dist/w.whl").write_bytes(b"tampered")
    step = dataclasses.replace(STEP, id="p:build")
    with pytest.raises(CorruptEntryError) as error:
        cache.load(key, step)
    assert (
        str(error.value) == f"cache entry {key[:12]} for p:build: checksum mismatch (damaged entry)"
    )
    assert not entry.exists()
