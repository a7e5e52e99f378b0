"""The stock store: in-memory state, a JSON snapshot file and an fsynced swap journal.

Design decision. The original rewrote the whole pretty-printed JSON file on every swap:
2 to 5 s per swap on a million stocks, and a crash mid-write left a broken file. Here:

- `stocks.json` (the snapshot) is only ever replaced atomically (temp file, fsync,
  rename, directory fsync: see `durable.py`), so it is always valid JSON holding either
  the previous or the new state.
- A swap appends one fsynced line to `stocks.json.journal` before it is acknowledged,
  then updates memory: durable in one small write, whatever the store's size.
- Loading reads the snapshot and replays the journal, so a restarted service (or
  `read_stocks`) sees every acknowledged swap. A torn last journal line belongs to a swap
  that was never acknowledged; it is dropped.
- Compaction folds the journal into a new snapshot, then empties the journal. It runs
  when the journal reaches `compact_after` entries (default: 1% of the store, between 1
  and 10,000, so a small store's snapshot is rewritten on every swap and stays current
  by itself, while a million-stock store pays one ~1 s rewrite per 10,000 swaps) and at
  shutdown. Replaying an entry twice is harmless (entries are absolute assignments), so a
  crash between the snapshot rename and the journal truncation loses nothing.
- Swaps (check, journal append, memory update, compaction) run under one lock, shielded
  from cancellation, so concurrent swaps are serialized and no update is lost. One
  process writes a store at a time: the journal is held with an exclusive `flock`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import anyio
import msgspec

from acme_logger import Logger
from acme_trading_service import journal
from acme_trading_service.durable import atomic_write, remove_stale_temps
from acme_trading_service.journal import JournalEntry, JournalError, JournalWriter
from acme_trading_service.model import Stock, StockFields, check_swap

MAX_COMPACT_AFTER = 10_000

_snapshot_decoder = msgspec.json.Decoder(dict[str, dict[str, Any]])
_encoder = msgspec.json.Encoder()


class StockDataError(Exception):
    """The stock data (snapshot or journal) cannot be loaded; names the file and why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"cannot load stock data from {path}: {reason}. "
            "Point STOCKS_DATA_PATH at a JSON object of stocks keyed by id."
        )
        self.path = path


def default_compact_after(stock_count: int) -> int:
    """Journal length that triggers compaction: 1% of the store, clamped to [1, 10000]."""
    return max(1, min(MAX_COMPACT_AFTER, stock_count // 100))


def encode_stocks(stocks: dict[str, Stock]) -> bytes:
    """The snapshot's bytes: compact JSON, an object of stocks keyed by id."""
    return _encoder.encode(stocks)


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    # A million records are a million tracked dicts: collecting while they are built costs
    # seconds, and scanning them on every later full collection costs request latency.
    # So load without the collector, then freeze what was loaded out of its reach.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()


def _check_records(path: Path, stocks: dict[str, Stock]) -> None:
    try:
        # Validation only: the records themselves are kept as loaded, extra fields included.
        msgspec.convert(stocks, dict[str, StockFields])
    except msgspec.ValidationError as exc:
        raise StockDataError(path, f"invalid stock data ({exc})") from None
    for key, stock in stocks.items():
        if stock["id"] != key:
            raise StockDataError(path, f"stock {key!r} has a different id {stock['id']!r}")


def load_snapshot(path: Path) -> dict[str, Stock]:
    """Read and check a snapshot; any failure is a StockDataError naming the file.

    A record needs `id` (equal to its key), `name`, `price` and `owned`; `sector`,
    `volume` and `marketCap` are optional but typed; any other field is kept as it is.
    """
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise StockDataError(path, "the file does not exist") from None
    except OSError as exc:
        raise StockDataError(path, exc.strerror or str(exc)) from None
    with _no_gc_pauses():
        try:
            stocks = _snapshot_decoder.decode(content)
        except msgspec.DecodeError as exc:
            raise StockDataError(path, f"invalid stock data ({exc})") from None
        _check_records(path, stocks)
    return stocks


def _replay(stocks: dict[str, Stock], entries: Iterable[JournalEntry], path: Path) -> None:
    for entry in entries:
        stock = stocks.get(entry.stockId)
        if stock is None:
            raise StockDataError(path, f"journal names unknown stock {entry.stockId!r}")
        stock["owned"] = entry.owned


def _read_journal(path: Path) -> tuple[list[JournalEntry], int]:
    try:
        return journal.read(path)
    except JournalError as exc:
        raise StockDataError(path, str(exc)) from None


def read_stocks(path: Path) -> dict[str, Stock]:
    """The store's state as a restarted service sees it: the snapshot plus the journal.

    Exact whenever no compaction runs at the same moment (a stopped service, or between
    compactions of a live one): a reader racing a compaction may see the older state.
    """
    stocks = load_snapshot(path)
    journal_path = journal.journal_path_for(path)
    entries, _ = _read_journal(journal_path)
    _replay(stocks, entries, journal_path)
    return stocks


class StockStore:
    """The live store of one service process; see the module docstring for the design."""

    def __init__(
        self,
        path: Path,
        stocks: dict[str, Stock],
        writer: JournalWriter,
        *,
        pending: int,
        compact_after: int,
        logger: Logger,
    ) -> None:
        self.path = path
        self.compact_after = compact_after
        self._stocks = stocks
        self._writer = writer
        self._pending = pending
        self._logger = logger
        self._lock = anyio.Lock()
        self._closed = False

    @classmethod
    def open(
        cls, path: Path, *, compact_after: int | None = None, logger: Logger | None = None
    ) -> StockStore:
        """Become the store's single writer, then load the snapshot and replay the journal."""
        if not path.exists():
            raise StockDataError(path, "the file does not exist")
        journal_path = journal.journal_path_for(path)
        try:
            writer = JournalWriter(journal_path)
        except (JournalError, OSError) as exc:
            raise StockDataError(journal_path, str(exc)) from None
        try:
            # Only now, holding the lock, are leftover temp files surely nobody's.
            remove_stale_temps(path)
            stocks = load_snapshot(path)
            entries, valid_length = _read_journal(journal_path)
            _replay(stocks, entries, journal_path)
            writer.truncate_to(valid_length)
        except BaseException:
            writer.close()
            raise
        return cls(
            path,
            stocks,
            writer,
            pending=len(entries),
            compact_after=compact_after or default_compact_after(len(stocks)),
            logger=logger or Logger("stock-store"),
        )

    def __len__(self) -> int:
        return len(self._stocks)

    @property
    def closed(self) -> bool:
        """True once `close` has released the store."""
        return self._closed

    @property
    def pending(self) -> int:
        """Swaps in the journal that the snapshot does not hold yet."""
        return self._pending

    def get(self, stock_id: str) -> Stock | None:
        """The stock, or None."""
        return self._stocks.get(stock_id)

    def select(
        self, *, owned: str | None = None, sector: str | None = None, limit: int | None = None
    ) -> dict[str, Stock]:
        """Stocks matching every given filter, in store order, at most `limit` of them.

        `sector` matches only records that have a sector.
        """
        if owned is None and sector is None and limit is None:
            return self._stocks
        matches: Iterable[Stock] = (
            stock
            for stock in self._stocks.values()
            if (owned is None or stock["owned"] == owned)
            and (sector is None or stock.get("sector") == sector)
        )
        if limit is not None:
            matches = islice(matches, limit)
        return {stock["id"]: stock for stock in matches}

    async def swap(self, stock_id: str, from_user: str, to_user: str) -> Stock:
        """Transfer a stock durably; returns a copy of it as it was right after the swap.

        Raises StockNotFoundError or NotOwnerError (model.py) when the rules refuse the swap.
        """
        async with self._lock:
            stock = check_swap(self._stocks.get(stock_id), from_user)
            # Once the journal line may be written, memory must follow it: no cancellation.
            with anyio.CancelScope(shield=True):
                entry = JournalEntry(stockId=stock_id, owned=to_user)
                await anyio.to_thread.run_sync(self._writer.append, entry)
                stock["owned"] = to_user
                self._pending += 1
                if self._pending >= self.compact_after:
                    await self._compact_locked()
            return dict(stock)

    async def compact(self) -> None:
        """Fold the journal into a new snapshot now."""
        async with self._lock:
            with anyio.CancelScope(shield=True):
                await self._compact_locked()

    async def close(self) -> None:
        """Compact what the journal holds, then release the store."""
        async with self._lock:
            with anyio.CancelScope(shield=True):
                if self._closed:
                    return
                if self._pending:
                    await self._compact_locked()
                self._writer.close()
                self._closed = True

    async def _compact_locked(self) -> None:
        try:
            await anyio.to_thread.run_sync(self._write_snapshot)
        except OSError as exc:
            # The swaps are safe in the journal; compaction will be retried on the next one.
            self._logger.error(f"Compaction of {self.path} failed", exc)
            return
        self._pending = 0

    def _write_snapshot(self) -> None:
        atomic_write(self.path, encode_stocks(self._stocks))
        self._writer.truncate_to(0)
