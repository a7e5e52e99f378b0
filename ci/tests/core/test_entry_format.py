"""The entry format both shells share, without a file: its metadata, checksum and the archive
members an entry may hold. Entries outlive the acme-ci that wrote them, so format 2 is pinned
here byte for byte; fast companions of tests/entries (which read and write real entries),
run by mutation testing (bench/mutation.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from acme_ci.core.entry_format import (
    CachedResult,
    archive_member_problem,
    checksum_problem,
    entry_checksum,
    entry_document,
)
from acme_ci.core.plan import Step
from acme_ci.core.scheduler import Flake, StepResult

META: dict[str, Any] = {
    "step_id": "acme-logger:test",
    "duration": 1.5,
    "output": "4 passed",
    "attempts": 1,
    "flakes": [],
    "passed_tests": 4,
    "skipped_tests": 0,
}
FILES = {".acme/junit/acme-logger.xml": b"<testsuites/>", "dist/w.whl": b"\0wheel"}


# ---------------------------------------------------------------- the metadata


def test_a_result_is_stored_as_plain_json_and_read_back_equal() -> None:
    result = CachedResult("p:test", 2.5, "3 passed", 2, (("t::flaky", 2),), 3, 1)
    meta = result.meta()
    assert meta == {
        "step_id": "p:test",
        "duration": 2.5,
        "output": "3 passed",
        "attempts": 2,
        "flakes": (("t::flaky", 2),),
        "passed_tests": 3,
        "skipped_tests": 1,
    }
    assert CachedResult.from_meta(json.loads(json.dumps(meta))) == result


def test_an_entry_from_before_the_test_counts_reads_them_as_zero() -> None:
    old = {k: v for k, v in META.items() if k not in ("passed_tests", "skipped_tests")}
    assert CachedResult.from_meta(old) == CachedResult("acme-logger:test", 1.5, "4 passed", 1, ())


def test_metadata_read_from_json_gets_the_fields_types() -> None:
    loose = {
        **META,
        "duration": 2,
        "attempts": "3",
        "flakes": [["t::a", "2"]],
        "skipped_tests": 1.0,
    }
    result = CachedResult.from_meta(loose)
    assert result == CachedResult("acme-logger:test", 2.0, "4 passed", 3, (("t::a", 2),), 4, 1)
    assert isinstance(result.duration, float)
    assert isinstance(result.skipped_tests, int)


@pytest.mark.parametrize("missing", ["step_id", "duration", "output", "attempts", "flakes"])
def test_metadata_without_a_required_field_is_refused(missing: str) -> None:
    with pytest.raises(KeyError):
        CachedResult.from_meta({k: v for k, v in META.items() if k != missing})


def test_an_entry_keeps_what_a_hit_replays_of_a_passed_step() -> None:
    ran = StepResult(
        "p:test",
        "passed",
        duration=2.5,
        output="3 passed",
        attempts=2,
        flakes=(Flake("t::a", "p", 2), Flake("t::b", "p", 3)),
        failed_tests=("t::never",),
        passed_tests=3,
        skipped_tests=1,
        log_path="/tmp/p-test.log",
        cache_key="k" * 64,
    )
    kept = CachedResult.of(ran)
    assert kept == CachedResult("p:test", 2.5, "3 passed", 2, (("t::a", 2), ("t::b", 3)), 3, 1)


def test_a_hit_replays_the_result_as_cached_from_where_it_came() -> None:
    step = Step(
        id="p:test",
        package="p",
        task="test",
        commands=(("pytest",),),
        workdir="libs/p",
        env=(),
        inputs=("libs/p",),
        needs=(),
        outputs=(),
        reason="--all",
    )
    hit = CachedResult("p:test", 2.5, "3 passed", 2, (("t::a", 2),), 3, 1)
    assert hit.replayed(step, "k" * 64, "remote", 2048) == StepResult(
        "p:test",
        "cached",
        duration=2.5,
        output="3 passed",
        attempts=2,
        flakes=(Flake("t::a", "p", 2),),
        passed_tests=3,
        skipped_tests=1,
        cache_key="k" * 64,
        cache_source="remote",
        cache_bytes=2048,
    )
    assert hit.replayed(step, "j" * 64, "local", 0).cache_source == "local"


# ---------------------------------------------------------------- the checksum


def test_the_checksum_format_is_stable_across_releases() -> None:
    """The metadata as sorted JSON, then `\\n<path>\\0` and the file's sha256 per output, in
    pathlib's order (part by part): 'a/x' before 'a-b/x' before 'a.txt', unlike str's."""
    files = {"a.txt": b"3", "dist/w.whl": b"\0wheel", "a-b/x": b"2", "a/x": b"1"}
    h = hashlib.sha256(json.dumps(META, sort_keys=True).encode())
    for path in ("a/x", "a-b/x", "a.txt", "dist/w.whl"):
        h.update(f"\n{path}\0".encode() + hashlib.sha256(files[path]).digest())
    assert entry_checksum(META, files) == h.hexdigest()
    assert (
        entry_checksum(META, {})
        == hashlib.sha256(json.dumps(META, sort_keys=True).encode()).hexdigest()
    )


def test_an_entry_document_holds_the_metadata_and_its_checksum() -> None:
    document = entry_document(META, FILES)
    assert document == {"meta": META, "checksum": entry_checksum(META, FILES)}
    assert json.loads(json.dumps(document)) == document
    assert checksum_problem(document, FILES) is None


def test_the_checksum_covers_the_metadata_and_every_output_by_name_and_content() -> None:
    base = entry_checksum(META, FILES)
    assert entry_checksum(dict(reversed(META.items())), dict(reversed(FILES.items()))) == base
    assert re.fullmatch(r"[0-9a-f]{64}", base)
    variants = [
        entry_checksum({**META, "output": "5 passed"}, FILES),
        entry_checksum(META, {**FILES, "dist/w.whl": b"\0wheel!"}),
        entry_checksum(META, {**FILES, "dist/extra.txt": b""}),
        entry_checksum(META, {".acme/junit/acme-logger.xml": b"<testsuites/>"}),
        entry_checksum(
            META, {".acme/junit/acme-logger.xml": b"\0wheel", "dist/w.whl": b"<testsuites/>"}
        ),
        entry_checksum(
            META, {".acme/junit/acme-logger.xml": b"<testsuites/>", "dist/v.whl": b"\0wheel"}
        ),
        entry_checksum(META, {}),
    ]
    assert len({base, *variants}) == 1 + len(variants)


def test_a_damaged_entry_says_why_it_is_not_used() -> None:
    document = entry_document(META, FILES)
    damaged = "checksum mismatch (damaged entry)"
    assert checksum_problem({**document, "checksum": "0" * 64}, FILES) == damaged
    assert checksum_problem({"meta": META}, FILES) == damaged
    assert checksum_problem({**document, "meta": {**META, "attempts": 2}}, FILES) == damaged
    assert checksum_problem(document, {**FILES, "dist/w.whl": b"\0whee"}) == damaged
    assert checksum_problem(document, {}) == damaged
    no_meta = "entry.json holds no metadata"
    assert checksum_problem({"checksum": document["checksum"]}, FILES) == no_meta
    assert checksum_problem({**document, "meta": [META]}, FILES) == no_meta
    assert checksum_problem({**document, "meta": None}, FILES) == no_meta
    assert checksum_problem([document], FILES) == no_meta  # valid JSON, not an object
    assert checksum_problem("entry", FILES) == no_meta


# ---------------------------------------------------------------- the archive's members


@pytest.mark.parametrize(
    "name", ["outputs/dist/w.whl", "entry.json", ".", "outputs/..hidden", "outputs/a..b/x"]
)
def test_plain_members_under_relative_names_are_extracted(name: str) -> None:
    assert archive_member_problem(name, plain=True) is None


@pytest.mark.parametrize(
    "name", ["/etc/passwd", "/", "../outside", "outputs/../../outside", "outputs/.."]
)
def test_a_member_whose_name_leaves_the_entry_is_refused(name: str) -> None:
    why = f"refused archive member {name!r}: its name leaves the entry"
    assert archive_member_problem(name, plain=True) == why
    assert archive_member_problem(name, plain=False) == why


def test_a_link_or_device_member_is_refused() -> None:
    assert archive_member_problem("outputs/link", plain=False) == (
        "refused archive member 'outputs/link': not a plain file or directory"
    )
