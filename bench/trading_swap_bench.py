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
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from litestar.testing import TestClient

from acme_trading_service.app import create_app
from acme_trading_service.settings import Settings

USERS = [f"user{n}" for n in range(1, 11)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stocks", type=int, default=1_000_000)
    parser.add_argument("--swaps", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(2024)
    with tempfile.TemporaryDirectory(prefix="trading-swap-bench-") as directory:
        path = Path(directory) / "stocks.json"
        stocks = {
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
        started = time.perf_counter()
        app = create_app(Settings(data_path=path))
        print(f"app loaded in {time.perf_counter() - started:.1f} s")
        store = app.state.store
        with TestClient(app) as client:
            durations = []
            for stock_id in rng.sample(sorted(stocks), args.swaps):
                owner = stocks[stock_id]["owned"]
                began = time.perf_counter()
                response = client.post(
                    "/swap",
                    json={"stockId": stock_id, "fromUserId": owner, "toUserId": "trader"},
                )
                durations.append((time.perf_counter() - began) * 1000)
                if response.status_code != 200:
                    print(f"swap of {stock_id} answered {response.status_code}", file=sys.stderr)
                    return 1
            began = time.perf_counter()
            client.blocking_portal.call(store.compact)
            rewrite = (time.perf_counter() - began) * 1000
        durations.sort()
        mean = statistics.fmean(durations)
        print(
            f"{args.swaps} swaps over ASGI: mean {mean:.2f} ms, "
            f"p50 {durations[len(durations) // 2]:.2f} ms, "
            f"p95 {durations[int(len(durations) * 0.95)]:.2f} ms "
            f"(journal append + fsync; compaction every {store.compact_after:,} swaps)"
        )
        print(
            f"baseline, one full snapshot rewrite (the original's cost per swap): {rewrite:.0f} ms"
        )
        print(f"a swap costs {mean / rewrite:.4f} x the original's ({rewrite / mean:.0f} x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
