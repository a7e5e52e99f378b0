"""The snapshot + journal store: replay, torn tails, compaction, single writer, bad data."""

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from acme_trading_service.durable import atomic_write, temp_path_for
from acme_trading_service.journal import JournalEntry, journal_path_for
from acme_trading_service.model import NotOwner, Stock, StockNotFound
from acme_trading_service.store import StockDataError, StockStore, encode_stocks, read_stocks


def make_stocks(count: int) -> dict[str, Stock]:
    return {
        f"S{i}": {
            "id": f"S{i}",
            "name": f"Stock {i}",
            "price": 1.5,
            "owned": f"user{i % 3}",
            "sector": "Energy",
            "volume": i,
            "marketCap": i * 10,
        }
        for i in range(count)
    }


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "stocks.json"
    path.write_bytes(encode_stocks(make_stocks(10)))
    return path


def snapshot_owner(path: Path, stock_id: str) -> str:
    """The owner the snapshot file alone records (without the journal)."""
    owner: str = json.loads(path.read_bytes())[stock_id]["owned"]
    return owner


def journal_line(stock_id: str, owned: str) -> bytes:
    return msgspec.json.encode(JournalEntry(stockId=stock_id, owned=owned)) + b"\n"


@pytest.mark.anyio
async def test_journaled_swaps_survive_a_restart_without_compaction(store_path: Path) -> None:
    store = StockStore.open(store_path, compact_after=1000)
    await store.swap("S1", "user1", "alice")
    await store.swap("S1", "alice", "bob")
    await store.swap("S2", "user2", "carol")
    # Simulate a crash: no close, no compaction. The snapshot is untouched...
    assert snapshot_owner(store_path, "S1") == "user1"
    # ...and a reader, like a restarted service, still sees every acknowledged swap.
    state = read_stocks(store_path)
    assert (state["S1"]["owned"], state["S2"]["owned"]) == ("bob", "carol")
    await store.close()


@pytest.mark.anyio
async def test_compaction_folds_the_journal_into_the_snapshot(store_path: Path) -> None:
    store = StockStore.open(store_path, compact_after=3)
    for target in ("a", "b", "c"):
        current = store.get("S4")
        assert current is not None
        await store.swap("S4", current["owned"], target)
    assert store.pending == 0
    assert journal_path_for(store_path).read_bytes() == b""
    assert snapshot_owner(store_path, "S4") == "c"
    await store.swap("S5", "user2", "d")
    await store.close()
    assert snapshot_owner(store_path, "S5") == "d"
    assert journal_path_for(store_path).stat().st_size == 0


@pytest.mark.anyio
async def test_refused_swaps_change_nothing(store_path: Path) -> None:
    store = StockStore.open(store_path, compact_after=1)
    with pytest.raises(StockNotFound):
        await store.swap("NOPE", "user1", "x")
    with pytest.raises(NotOwner):
        await store.swap("S1", "user2", "x")
    await store.close()
    assert read_stocks(store_path) == make_stocks(10)


@pytest.mark.anyio
async def test_torn_last_journal_line_is_dropped_and_truncated(store_path: Path) -> None:
    journal = journal_path_for(store_path)
    complete = journal_line("S1", "alice")
    journal.write_bytes(complete + journal_line("S2", "bob")[:9])
    assert read_stocks(store_path)["S2"]["owned"] == "user2"
    store = StockStore.open(store_path)
    assert store.get("S1") == {**make_stocks(10)["S1"], "owned": "alice"}
    assert journal.read_bytes() == complete
    await store.close()


def test_replaying_entries_the_snapshot_already_holds_is_harmless(store_path: Path) -> None:
    # A crash after the snapshot rename but before the journal truncation.
    stocks = make_stocks(10)
    stocks["S3"]["owned"] = "zed"
    atomic_write(store_path, encode_stocks(stocks))
    journal_path_for(store_path).write_bytes(journal_line("S3", "yan") + journal_line("S3", "zed"))
    assert read_stocks(store_path) == stocks


@pytest.mark.parametrize(
    ("journal", "reason"),
    [
        (b'{"stockId": "S1", "owned": "a"}\n{oops}\n', "line 2 is not a journal entry"),
        (b'{"stockId": "S1"}\n', "line 1 is not a journal entry"),
        (b'{"stockId": "GHOST", "owned": "a"}\n', "journal names unknown stock 'GHOST'"),
    ],
)
def test_damaged_journal_is_an_error_naming_it(
    store_path: Path, journal: bytes, reason: str
) -> None:
    journal_path_for(store_path).write_bytes(journal)
    with pytest.raises(StockDataError, match=reason) as raised:
        StockStore.open(store_path)
    assert str(journal_path_for(store_path)) in str(raised.value)


def write(content: str) -> Callable[[Path], None]:
    def prepare(path: Path) -> None:
        path.write_text(content, encoding="utf-8")

    return prepare


@pytest.mark.parametrize(
    ("prepare", "reason"),
    [
        (lambda path: None, "the file does not exist"),
        (write(""), "invalid stock data"),
        (write('{"A": {"id": "A"'), "invalid stock data"),
        (write("[]"), "invalid stock data"),
        (write('{"A": {"id": "A", "name": "n"}}'), "invalid stock data"),
        (
            write(
                '{"A": {"id": "B", "name": "n", "price": 1, "owned": "u", "sector": "s",'
                ' "volume": 1, "marketCap": 1}}'
            ),
            "stock 'A' has a different id 'B'",
        ),
        (write('{"A": {"id": "A", "name": "n", "price": 1}}'), "invalid stock data"),
        (
            write('{"A": {"id": "A", "name": "n", "price": "1", "owned": "u"}}'),
            "invalid stock data",
        ),
        (
            write('{"A": {"id": "A", "name": "n", "price": 1, "owned": "u", "sector": 7}}'),
            "invalid stock data",
        ),
    ],
)
def test_unusable_snapshot_is_an_error_naming_the_file(
    tmp_path: Path, prepare: Callable[[Path], None], reason: str
) -> None:
    path = tmp_path / "stocks.json"
    prepare(path)
    with pytest.raises(StockDataError, match=reason) as raised:
        StockStore.open(path)
    assert str(path) in str(raised.value)


@pytest.mark.anyio
async def test_records_keep_every_field_they_carry_through_swaps_and_compaction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "stocks.json"
    records = {
        "OLD": {"id": "OLD", "name": "Old Co", "price": 3, "owned": "user1"},
        "EXT": {
            "id": "EXT",
            "name": "Extra Co",
            "price": 2.5,
            "owned": "user2",
            "sector": "Energy",
            "isin": "US0000000001",
            "tags": ["a", {"b": None}],
        },
    }
    path.write_text(json.dumps(records), encoding="utf-8")
    store = StockStore.open(path, compact_after=1)
    await store.swap("EXT", "user2", "user3")
    await store.swap("OLD", "user1", "user4")
    await store.close()
    assert json.loads(path.read_bytes()) == {
        "OLD": {**records["OLD"], "owned": "user4"},
        "EXT": {**records["EXT"], "owned": "user3"},
    }


@pytest.mark.anyio
async def test_a_second_writer_is_refused(store_path: Path) -> None:
    first = StockStore.open(store_path)
    with pytest.raises(StockDataError, match="another process is writing"):
        StockStore.open(store_path)
    await first.close()
    await StockStore.open(store_path).close()


@pytest.mark.anyio
async def test_temp_files_left_by_a_killed_writer_are_removed(store_path: Path) -> None:
    stale = temp_path_for(store_path).with_name(f".{store_path.name}.99999.tmp")
    stale.write_bytes(b'{"half": ')
    store = StockStore.open(store_path)
    assert not stale.exists()
    assert sorted(os.listdir(store_path.parent)) == ["stocks.json", "stocks.json.journal"]
    await store.close()


@pytest.mark.anyio
async def test_swap_returns_a_copy_that_later_swaps_do_not_change(store_path: Path) -> None:
    store = StockStore.open(store_path, compact_after=100)
    first = await store.swap("S1", "user1", "a")
    await store.swap("S1", "a", "b")
    assert first["owned"] == "a"
    await store.close()


@pytest.mark.anyio
async def test_failed_journal_append_leaves_no_trace(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StockStore.open(store_path, compact_after=100)
    await store.swap("S1", "user1", "alice")
    writer = store._writer
    real_write = writer._write

    def disk_full(line: bytes) -> None:
        real_write(line[:7])  # part of the line reaches the file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer, "_write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        await store.swap("S2", "user2", "bob")
    monkeypatch.undo()

    assert store.get("S2") == make_stocks(10)["S2"]  # memory follows the journal: unchanged
    await store.swap("S3", "user0", "carol")
    state = read_stocks(store_path)  # the journal is still whole entries only
    assert (state["S1"]["owned"], state["S2"]["owned"], state["S3"]["owned"]) == (
        "alice",
        "user2",
        "carol",
    )
    await store.close()
