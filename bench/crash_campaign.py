"""Crash campaign: the trading service killed with SIGKILL mid-swap, restarted, checked.

    .venv/bin/python bench/crash_campaign.py [--stocks 100000] [--cycles 20] [--clients 8]

Starts the real `trading-service` on a new store of `--stocks` stocks (in a temp dir),
runs `--clients` concurrent swap clients against it, kills the process with SIGKILL at a
random moment, checks that the snapshot is valid JSON, restarts the service (timed),
fetches the whole store over HTTP and checks that every acknowledged swap is there, that
no interrupted swap is half-applied and that nothing else changed; then repeats. Prints
one line per cycle and the totals (JSON with --json). Exit code 1 if any swap was lost.

The campaign itself lives in services/trading/tests/campaign_engine.py, which the trading
package's test suite runs for a few cycles.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services" / "trading" / "tests"))

# On sys.path only from here on, so mypy (run on this file alone) cannot follow it.
from campaign_engine import Cycle, run_campaign  # type: ignore[import-not-found]  # noqa: E402


def print_cycle(cycle: Cycle) -> None:
    print(
        f"cycle {cycle.number:3d}: {cycle.acknowledged:5d} acknowledged, "
        f"lost {cycle.lost}, half-applied {cycle.half_applied}, "
        f"interrupted applied/absent {cycle.in_doubt_applied}/{cycle.in_doubt_absent}, "
        f"snapshot {'valid' if cycle.snapshot_valid else 'INVALID'} JSON"
        f"{', snapshot write in flight at the kill' if cycle.temp_file_at_kill else ''}, "
        f"restart {cycle.restart_seconds:.2f} s",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stocks", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--json", action="store_true", help="print the totals as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crash-campaign-") as directory:
        campaign = run_campaign(
            Path(directory) / "stocks.json",
            stocks=args.stocks,
            cycles=args.cycles,
            clients=args.clients,
            seed=args.seed,
            report=None if args.json else print_cycle,
        )
    totals = campaign.totals()
    if args.json:
        print(json.dumps(totals, indent=2))
    else:
        print("totals: " + ", ".join(f"{key} {value}" for key, value in totals.items()))
    failed = (
        totals["lost_swaps"]
        + totals["half_applied_swaps"]
        + totals["invalid_snapshots"]
        + totals["other_records_changed"]
        + totals["refused_swaps"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
