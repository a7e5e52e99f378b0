"""What a kill test cannot see: the fsyncs that make a swap survive a power loss.

A `kill -9` leaves the page cache intact, so the crash tests pass even without these
calls. Here the system calls are observed (and still performed) while a swap goes through
the app: the journal's descriptor is fsynced after its line is written and before the swap
is answered, and a snapshot replacement fsyncs the directory after the rename.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar.testing import TestClient

from acme_trading_service.app import create_app
from acme_trading_service.journal import journal_path_for
from acme_trading_service.settings import Settings, packaged_stocks_path

SWAP = {"stockId": "AAPL", "fromUserId": "user1", "toUserId": "user2"}


@dataclass(frozen=True)
class Call:
    name: str
    path: Path


class Calls(list[Call]):
    def index_of(self, name: str, path: Path, after: int = -1) -> int:
        """The position of the first `name` call on `path` after position `after`, or -1."""
        for position, call in enumerate(self):
            if position > after and call == Call(name, path):
                return position
        return -1


def _path_of(fd: int) -> Path:
    return Path(os.readlink(f"/proc/self/fd/{fd}"))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Every os.write, os.fsync and os.replace of this process, in order, by file path."""
    recorded = Calls()
    real_write, real_fsync, real_replace = os.write, os.fsync, os.replace

    def write(fd: int, data: bytes) -> int:
        recorded.append(Call("write", _path_of(fd)))
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        recorded.append(Call("fsync", _path_of(fd)))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        real_replace(src, dst)
        recorded.append(Call("replace", Path(dst).resolve()))

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return recorded


def swap_through_the_app(path: Path, compact_after: int, calls: Calls) -> Calls:
    with TestClient(create_app(Settings(data_path=path, compact_after=compact_after))) as client:
        calls.clear()
        response = client.post("/swap", json=SWAP)
        answered = Calls(calls)  # what had happened when the answer arrived
        assert response.status_code == 200
    return answered


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "stocks.json"
    shutil.copyfile(packaged_stocks_path(), path)
    return path.resolve()


def test_the_journal_line_is_fsynced_before_the_swap_is_answered(store: Path, calls: Calls) -> None:
    journal = journal_path_for(store)
    answered = swap_through_the_app(store, compact_after=1000, calls=calls)  # no compaction
    written = answered.index_of("write", journal)
    assert written >= 0, answered
    assert answered.index_of("fsync", journal, after=written) > written, answered


def test_the_directory_is_fsynced_after_the_snapshot_rename(store: Path, calls: Calls) -> None:
    # compact_after=1: the swap replaces the snapshot before it is answered.
    answered = swap_through_the_app(store, compact_after=1, calls=calls)
    renamed = answered.index_of("replace", store)
    assert renamed >= 0, answered
    assert answered.index_of("fsync", store.parent, after=renamed) > renamed, answered
