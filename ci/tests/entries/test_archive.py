"""A packed entry: one gzipped tar that unpacks to the same files, and never outside them."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from acme_ci.entries import CorruptEntryError
from acme_ci.entries.archive import pack, unpack

FILES = {
    "entry.json": b'{"meta": {}, "checksum": ""}',
    "outputs/dist/w.whl": b"\0wheel",
    "outputs/.acme/junit/a.xml": b"<testsuites/>",
}


def entry_dir(root: Path) -> Path:
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_an_entry_unpacks_to_the_files_it_was_packed_from(tmp_path: Path) -> None:
    packed = pack(entry_dir(tmp_path / "entry"))
    unpack(packed, tmp_path / "unpacked")
    assert files_under(tmp_path / "unpacked") == FILES


def test_the_packed_layout_is_format_2s(tmp_path: Path) -> None:
    """Entries already stored by either shell hold a gzipped tar of `.`, `./entry.json` and
    `./outputs/...`: what older acme-ci wrote, this one reads, and the other way round."""
    packed = pack(entry_dir(tmp_path / "entry"))
    assert packed[:2] == b"\x1f\x8b"  # gzip
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
        names = set(tar.getnames())
    assert names == {
        ".",
        "./outputs",
        "./outputs/dist",
        "./outputs/.acme",
        "./outputs/.acme/junit",
    } | {f"./{name}" for name in FILES}


def _archive(*members: tarfile.TarInfo) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(b"x" * member.size))
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


UNSAFE = {
    "parent": _member("../escaped"),
    "deep-parent": _member("outputs/../../escaped"),
    "link-out": _member("outputs/link", tarfile.SYMTYPE, "../../escaped"),
    "absolute-link": _member("outputs/passwd", tarfile.SYMTYPE, "/etc/passwd"),
    "device": _member("outputs/tty", tarfile.CHRTYPE),
}


@pytest.mark.parametrize("filters", [True, False], ids=["data-filter", "before-3.11.4"])
@pytest.mark.parametrize("member", UNSAFE)
def test_an_unsafe_member_refuses_the_whole_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filters: bool, member: str
) -> None:
    """Pythons before 3.11.4 (the rehearsal's stand-in 3.11.2) have no tarfile filters; the
    same members are refused there."""
    if not filters:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    target = tmp_path / "a" / "b" / "target"
    target.mkdir(parents=True)
    with pytest.raises(CorruptEntryError, match=r"^unreadable archive \("):
        unpack(_archive(_member("entry.json"), UNSAFE[member]), target)
    assert not (tmp_path / "a" / "b" / "escaped").exists()
    assert not (tmp_path / "a" / "escaped").exists()


@pytest.mark.parametrize("content", [b"", b"not a tar", b"\x1f\x8b\x08\x00garbage"])
def test_bytes_that_are_no_packed_entry_are_refused(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(CorruptEntryError, match=r"^unreadable archive \("):
        unpack(content, tmp_path / "target")


def test_a_truncated_entry_is_refused(tmp_path: Path) -> None:
    packed = pack(entry_dir(tmp_path / "entry"))
    with pytest.raises(CorruptEntryError, match=r"^unreadable archive \("):
        unpack(packed[: len(packed) // 2], tmp_path / "target")
