"""Per-swap time on the million-stock store, against the original's full rewrite per swap.

    .venv/bin/python bench/trading_swap_bench.py [--stocks 1000000] [--swaps 500]

Moved out of the trading service's test suite (timing is measured here, never asserted in
a test). Generates the store, loads the app in-process (Litestar's TestClient over ASGI),
times `--swaps` swaps one after another (each a journal append + fsync; compaction at the
store's default threshold), then one compaction, which is a full atomic snapshot rewrite:
the baseline, since the original rewrote the whole file on every swap.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec
from litestar.testing import TestClient

from acme_trading_service.app import create_app
from acme_trading_service.settings import Settings

USERS = [f"user{n}" for n in range(1, 11)]


@dataclass(frozen=True)
class Measured:
    load_seconds: float
    swap_milliseconds: list[float]
    rewrite_milliseconds: float
    compact_after: int


def measure(path: Path, stocks: dict[str, dict[str, object]], swaps: int) -> Measured:
    """Load the app on `path`, time `swaps` swaps one after another, then one compaction."""
    rng = random.Random(7)
    started = time.perf_counter()
    app = create_app(Settings(data_path=path))
    load_seconds = time.perf_counter() - started
    store = app.state.store
    durations = []
    with TestClient(app) as client:
        for stock_id in rng.sample(sorted(stocks), swaps):
            body = {"stockId": stock_id, "fromUserId": stocks[stock_id]["owned"], "toUserId": "x"}
            began = time.perf_counter()
            response = client.post("/swap", json=body)
            durations.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"swap of {stock_id} answered {response.status_code}")
        began = time.perf_counter()
        client.blocking_portal.call(store.compact)
        rewrite = (time.perf_counter() - began) * 1000
    return Measured(load_seconds, sorted(durations), rewrite, store.compact_after)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stocks", type=int, default=1_000_000)
    parser.add_argument("--swaps", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(2024)
    with tempfile.TemporaryDirectory(prefix="trading-swap-bench-") as directory:
        path = Path(directory) / "stocks.json"
        stocks: dict[str, dict[str, object]] = {
            f"STOCK{i:07d}": {
                "id": f"STOCK{i:07d}",
                "name": f"Stock {i} Corporation",
                "price": round(rng.random() * 100, 2),
                "owned": rng.choice(USERS),
                "sector": "Energy",
                "volume": rng.randrange(2_000_000),
                "marketCap": rng.randrange(10**12),
            }
            for i in range(args.stocks)
        }
        path.write_bytes(msgspec.json.encode(stocks))
        print(f"store: {len(stocks):,} stocks, {path.stat().st_size / 1e6:.0f} MB")
        # The service's JSON log lines (one per swap) would bury the figures.
        with contextlib.redirect_stdout(io.StringIO()):
            measured = measure(path, stocks, args.swaps)
    ms = measured.swap_milliseconds
    mean = statistics.fmean(ms)
    rewrite = measured.rewrite_milliseconds
    print(f"app loaded in {measured.load_seconds:.1f} s")
    print(
        f"{len(ms)} swaps over ASGI: mean {mean:.2f} ms, p50 {ms[len(ms) // 2]:.2f} ms, "
        f"p95 {ms[int(len(ms) * 0.95)]:.2f} ms (journal append + fsync; compaction every "
        f"{measured.compact_after:,} swaps)"
    )
    print(f"baseline, one full snapshot rewrite (the original's cost per swap): {rewrite:.0f} ms")
    print(f"a swap costs {mean / rewrite:.4f} x the original's ({rewrite / mean:.0f} x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
