"""The snapshot + journal store: replay, torn tails, compaction, single writer, bad data."""

import errno
import io
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from acme_logger import Logger
from acme_trading_service import journal, store
from acme_trading_service.durable import atomic_write, temp_path_for
from acme_trading_service.journal import JournalEntry, JournalError, JournalWriter, journal_path_for
from acme_trading_service.model import NotOwnerError, Stock, StockNotFoundError
from acme_trading_service.store import (
    MAX_COMPACT_AFTER,
    StockDataError,
    StockStore,
    default_compact_after,
    encode_stocks,
    load_snapshot,
    read_stocks,
)


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
    with pytest.raises(StockNotFoundError):
        await store.swap("NOPE", "user1", "x")
    with pytest.raises(NotOwnerError):
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


# The store's promises beyond the happy path: when it compacts, what a failed compaction
# keeps, how it filters, and what its errors say. Sharpened by mutation testing
# (bench/mutation.py): each test asserts what a caller of the store (the API) would notice.


def stocks(count: int, *, sector_every: int = 2) -> dict[str, Stock]:
    records: dict[str, Stock] = {}
    for i in range(count):
        record: Stock = {"id": f"S{i}", "name": f"Stock {i}", "price": 1.0, "owned": f"u{i % 3}"}
        if i % sector_every == 0:
            record["sector"] = "Energy" if i % 4 == 0 else "Tech"
        records[f"S{i}"] = record
    return records


def snapshot(path: Path) -> dict[str, Stock]:
    """What the snapshot file alone holds (without the journal)."""
    data: dict[str, Stock] = json.loads(path.read_bytes())
    return data


@pytest.fixture
def path(tmp_path: Path) -> Path:
    target = tmp_path / "stocks.json"
    target.write_bytes(encode_stocks(stocks(12)))
    return target


def test_compaction_threshold_is_one_percent_clamped() -> None:
    assert default_compact_after(0) == 1
    assert default_compact_after(199) == 1
    assert default_compact_after(250) == 2
    assert default_compact_after(999_999) == 9_999
    assert default_compact_after(1_000_000) == MAX_COMPACT_AFTER == 10_000
    assert default_compact_after(50_000_000) == 10_000


@pytest.mark.anyio
async def test_a_small_store_keeps_its_snapshot_current_on_every_swap(path: Path) -> None:
    live = StockStore.open(path)  # 12 stocks: the default threshold is 1
    assert live.compact_after == 1
    await live.swap("S1", "u1", "alice")
    assert live.pending == 0
    assert snapshot(path)["S1"]["owned"] == "alice"
    assert journal.read(journal.journal_path_for(path)) == ([], 0)
    await live.close()


@pytest.mark.anyio
async def test_pending_counts_the_journal_across_a_restart(path: Path) -> None:
    first = StockStore.open(path, compact_after=10)
    await first.swap("S1", "u1", "a")
    await first.swap("S2", "u2", "b")
    assert first.pending == 2
    first._writer.close()  # a crash: no compaction at close
    again = StockStore.open(path, compact_after=10)
    assert again.pending == 2
    assert len(again) == 12
    states = [again.closed]
    await again.close()
    states.append(again.closed)
    assert states == [False, True]
    await again.close()  # closing twice is harmless
    assert again.pending == 0
    assert snapshot(path)["S2"]["owned"] == "b"


@pytest.mark.anyio
async def test_a_failed_compaction_keeps_the_swaps_in_the_journal_and_retries(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = io.StringIO()
    live = StockStore.open(path, compact_after=2, logger=Logger("test", stream=output))

    def disk_full(target: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(store, "atomic_write", disk_full)
        await live.swap("S1", "u1", "a")
        await live.swap("S2", "u2", "b")  # reaches the threshold: compaction fails
        assert live.pending == 2
        assert live.get("S2") == {**stocks(12)["S2"], "owned": "b"}
    record = json.loads(output.getvalue().splitlines()[-1])
    assert record["level"] == "ERROR"
    assert f"Compaction of {path} failed" in record["message"]
    assert "No space left on device" in json.dumps(record["data"])  # the cause is logged
    assert read_stocks(path)["S2"]["owned"] == "b"  # still durable, through the journal
    await live.swap("S3", "u0", "c")  # the next swap compacts again, and succeeds
    assert live.pending == 0
    assert snapshot(path)["S1"]["owned"] == "a"
    await live.close()


@pytest.mark.anyio
async def test_explicit_compaction_folds_the_journal(path: Path) -> None:
    live = StockStore.open(path, compact_after=100)
    await live.swap("S5", "u2", "z")
    await live.compact()
    assert live.pending == 0
    assert snapshot(path)["S5"]["owned"] == "z"
    await live.close()


@pytest.mark.anyio
async def test_select_filters_by_owner_sector_and_limit_in_store_order(path: Path) -> None:
    live = StockStore.open(path)
    everything = live.select()
    assert list(everything) == [f"S{i}" for i in range(12)]
    assert list(live.select(owned="u1")) == ["S1", "S4", "S7", "S10"]
    assert list(live.select(sector="Energy")) == ["S0", "S4", "S8"]
    assert list(live.select(sector="Tech", owned="u0")) == ["S6"]
    assert list(live.select(limit=3)) == ["S0", "S1", "S2"]
    assert list(live.select(owned="u2", limit=2)) == ["S2", "S5"]
    assert live.select(owned="nobody") == {}
    assert live.select(limit=0) == {}
    assert live.get("S3") == stocks(12)["S3"]
    assert live.get("S99") is None
    await live.close()


def test_errors_name_the_file_and_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StockDataError) as error:
        load_snapshot(tmp_path)  # a directory, not a file
    assert error.value.path == tmp_path
    assert str(error.value) == (
        f"cannot load stock data from {tmp_path}: Is a directory. "
        "Point STOCKS_DATA_PATH at a JSON object of stocks keyed by id."
    )
    with pytest.raises(StockDataError, match="the file does not exist"):
        read_stocks(tmp_path / "missing.json")


def test_the_snapshot_is_compact_json_keyed_by_id(path: Path) -> None:
    data = encode_stocks({"A": {"id": "A", "name": "n", "price": 2.5, "owned": "u"}})
    assert data == b'{"A":{"id":"A","name":"n","price":2.5,"owned":"u"}}'
    assert load_snapshot(path) == stocks(12)


def test_journal_parsing_keeps_the_valid_prefix() -> None:
    one = b'{"stockId":"S1","owned":"a"}\n'
    two = b'{"stockId":"S2","owned":"b"}\n'
    assert journal.parse(b"") == ([], 0)
    assert journal.parse(one + two) == (
        [JournalEntry("S1", "a"), JournalEntry("S2", "b")],
        len(one) + len(two),
    )
    assert journal.parse(one + two[:-1]) == ([JournalEntry("S1", "a")], len(one))
    with pytest.raises(JournalError, match=r"^line 2 is not a journal entry \("):
        journal.parse(one + b'{"stockId":"S2","owned":"b","extra":1}\n')


def test_a_missing_journal_is_empty_and_lives_beside_its_snapshot(tmp_path: Path) -> None:
    snapshot = tmp_path / "data" / "stocks.json"
    assert journal.journal_path_for(snapshot) == tmp_path / "data" / "stocks.json.journal"
    assert journal.read(tmp_path / "nothing.journal") == ([], 0)


def test_a_writer_appends_whole_lines_and_refuses_a_second_writer(tmp_path: Path) -> None:
    target = tmp_path / "j.journal"
    writer = JournalWriter(target)
    writer.append(JournalEntry("S1", "a"))
    writer.append(JournalEntry("S2", "b"))
    assert target.read_bytes() == b'{"stockId":"S1","owned":"a"}\n{"stockId":"S2","owned":"b"}\n'
    with pytest.raises(JournalError) as error:
        JournalWriter(target)
    assert str(error.value) == f"another process is writing {target}"
    writer.truncate_to(len(b'{"stockId":"S1","owned":"a"}\n'))
    assert journal.read(target) == ([JournalEntry("S1", "a")], 29)
    writer.close()
    JournalWriter(target).close()  # the lock went with the first writer


def test_a_short_write_is_an_error_and_leaves_no_partial_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "j.journal"
    writer = JournalWriter(target)
    writer.append(JournalEntry("S1", "a"))

    def short(fd: int, data: bytes) -> int:
        return os.pwrite(fd, data[:5], 29)

    monkeypatch.setattr("acme_trading_service.journal.os.write", short)
    with pytest.raises(JournalError) as error:
        writer.append(JournalEntry("S2", "b"))
    assert str(error.value) == f"short write to {target} (5 of 29 bytes)"
    monkeypatch.undo()
    assert target.read_bytes() == b'{"stockId":"S1","owned":"a"}\n'
    writer.close()


def test_a_missing_store_is_named_in_the_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    for attempt in (read_stocks, StockStore.open):
        with pytest.raises(StockDataError) as error:
            attempt(missing)
        assert error.value.path == missing
        assert str(error.value).startswith(
            f"cannot load stock data from {missing}: the file does not exist. "
        )


def test_a_journal_naming_an_unknown_stock_is_named_when_read(path: Path) -> None:
    journal_file = journal.journal_path_for(path)
    journal_file.write_bytes(b'{"stockId":"GHOST","owned":"a"}\n')
    with pytest.raises(StockDataError) as error:
        read_stocks(path)
    assert error.value.path == journal_file
    assert "journal names unknown stock 'GHOST'" in str(error.value)


def test_the_journal_is_readable_by_all_and_writable_by_the_service(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        writer = JournalWriter(tmp_path / "j.journal")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "j.journal").stat().st_mode) == 0o644
    writer.close()


@pytest.mark.anyio
async def test_by_default_the_store_logs_as_stock_store_to_stdout(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = StockStore.open(path, compact_after=1)
    with pytest.raises(StockDataError) as second:
        StockStore.open(path)
    assert second.value.path == journal.journal_path_for(path)  # the lock is on the journal

    def disk_full(target: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "atomic_write", disk_full)
    await live.swap("S1", "u1", "a")
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (record["context"], record["level"]) == ("stock-store", "ERROR")
    monkeypatch.undo()
    await live.close()
