"""Load figures for the trading service on a million-stock store, measured with wrk.

    .venv/bin/python bench/trading_load.py [--stocks 1000000] [--duration 15] [--connections 16]

Generates a store of `--stocks` stocks in a temp dir, starts the real `trading-service`
(uvicorn on 127.0.0.1), and drives it with wrk (a real HTTP load generator, the Debian
package `wrk`) and a Lua script per mix:

- baseline: `GET /` only (the framework's own ceiling on this machine, same run);
- read-heavy: 85% `GET /stocks/{random id}`, 10% `GET /stocks?owned=userN&limit=20`,
  5% `GET /stocks?sector=Energy&limit=20`;
- swaps: `POST /swap`, each request a different stock named with its real owner, so every
  swap is a real, journaled and fsynced transfer (any non-2xx answer is reported).

Prints requests per second, p50 and p99 latency per mix, and the non-2xx count. Without
wrk it says so and exits 2: install it with `sudo apt-get install wrk` (Debian, Ubuntu).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from acme_web.testing import serve

SECTORS = ["Technology", "Finance", "Healthcare", "Consumer", "Energy", "Industrial"]
USERS = 10

READ_MIX = """
local n = {stocks}
math.randomseed(os.time() + tonumber(string.sub(tostring({{}}), 8), 16))
request = function()
  local r = math.random()
  if r < 0.85 then
    return wrk.format("GET", string.format("/stocks/STOCK%07d", math.random(0, n - 1)))
  elseif r < 0.95 then
    return wrk.format("GET", "/stocks?owned=user" .. math.random(1, {users}) .. "&limit=20")
  else
    return wrk.format("GET", "/stocks?sector=Energy&limit=20")
  end
end
"""

# Thread t of T swaps stocks t, t+T, t+2T ...: each request a different stock, named with
# the owner the generator gave it (user{i % USERS + 1}), so every swap is accepted once.
SWAP_MIX = """
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  k = 0
  threads = tonumber(args[1])
end
request = function()
  local i = tid + k * threads
  k = k + 1
  local body = string.format(
    '{{"stockId":"STOCK%07d","fromUserId":"user%d","toUserId":"load"}}', i, i % {users} + 1)
  return wrk.format("POST", "/swap", {{["Content-Type"] = "application/json"}}, body)
end
"""

BASELINE = """
request = function()
  return wrk.format("GET", "/")
end
"""


def generate_store(path: Path, count: int) -> None:
    rng = random.Random(2024)
    stocks = {
        f"STOCK{i:07d}": {
            "id": f"STOCK{i:07d}",
            "name": f"Stock {i} Corporation",
            "price": round(rng.random() * 100, 2),
            "owned": f"user{i % USERS + 1}",
            "sector": rng.choice(SECTORS),
            "volume": rng.randrange(2_000_000),
            "marketCap": rng.randrange(10**12),
        }
        for i in range(count)
    }
    path.write_bytes(msgspec.json.encode(stocks))


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(wrk: str, url: str, script: Path, args: argparse.Namespace) -> dict[str, float]:
    """Run wrk with `script`; its requests/s, p50 and p99 (ms) and non-2xx count."""
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        str(args.threads),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)$", output, re.MULTILINE)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "requests": float(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "p50": _milliseconds(percentiles["50"]),
        "p99": _milliseconds(percentiles["99"]),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stocks", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per mix")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "trading_load: wrk is missing. Install it with `sudo apt-get install wrk` "
            "(Debian, Ubuntu), then run this again.",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="trading-load-") as directory:
        folder = Path(directory)
        store = folder / "stocks.json"
        started = time.perf_counter()
        generate_store(store, args.stocks)
        size = store.stat().st_size / 1e6
        print(
            f"store: {args.stocks:,} stocks, {size:.0f} MB, generated in "
            f"{time.perf_counter() - started:.1f} s"
        )
        scripts = {}
        for name, text in (("baseline", BASELINE), ("read-heavy", READ_MIX), ("swaps", SWAP_MIX)):
            scripts[name] = folder / f"{name}.lua"
            scripts[name].write_text(text.format(stocks=args.stocks, users=USERS))
        started = time.perf_counter()
        with serve(
            [str(Path(sys.executable).with_name("trading-service"))],
            {"STOCKS_DATA_PATH": str(store)},
            startup_timeout=600.0,
            stop_timeout=600.0,
        ) as (served, _):
            print(f"service ready in {time.perf_counter() - started:.1f} s")
            print(
                f"wrk {args.threads} threads, {args.connections} connections, "
                f"{args.duration} s per mix"
            )
            print(f"{'mix':<12} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'requests':>9} non-2xx")
            results = {}
            for name, script in scripts.items():
                result = run_wrk(wrk, served.base_url, script, args)
                results[name] = result
                print(
                    f"{name:<12} {result['rps']:>9.0f} {result['p50']:>9.2f} "
                    f"{result['p99']:>9.2f} {result['requests']:>9.0f} {result['non_2xx']:.0f}",
                    flush=True,
                )
            for name in ("read-heavy", "swaps"):
                ratio = results[name]["rps"] / results["baseline"]["rps"]
                print(f"{name}: {ratio:.2f} x the baseline's requests per second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
