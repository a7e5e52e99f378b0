"""A crash campaign against the real trading service: swap, `kill -9`, restart, check.

Used by `tests/test_crash_campaign.py` (a few cycles) and `bench/crash_campaign.py` (20+
cycles on 100,000+ stocks). Each cycle: concurrent clients swap stocks through the running
service; the process is killed with SIGKILL at a random moment; the snapshot must still be
valid JSON; the service is restarted (timed) and its whole store fetched over HTTP. Every
swap a client saw acknowledged (200) must be there; a swap whose answer never came (the
kill cut it) must be either fully applied or absent; nothing else may have changed.

Each client owns its own stocks, so it always knows their owners: a swap it sends always
names the right owner, and its last acknowledged owner is the truth after the restart.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec

from acme_web.testing import serve

Record = dict[str, Any]


def generate_store(path: Path, count: int, seed: int = 1) -> dict[str, Record]:
    """Write a store of `count` stocks in the original exercise's shape; return it."""
    rng = random.Random(seed)
    stocks = {
        f"S{i:07d}": {
            "id": f"S{i:07d}",
            "name": f"Stock {i} Corporation",
            "price": round(rng.random() * 1000, 2),
            "owned": f"user{i % 5 + 1}",
        }
        for i in range(count)
    }
    path.write_bytes(msgspec.json.encode(stocks))
    return stocks


@dataclass
class Client:
    """One swap client and what it knows about its own stocks."""

    number: int
    owners: dict[str, str]  # stock -> owner after the last acknowledged swap
    in_doubt: dict[str, tuple[str, str]] = field(default_factory=dict)  # stock -> (from, to)
    acknowledged: int = 0
    refused: list[str] = field(default_factory=list)  # answers other than 200: model errors
    sequence: int = 0

    async def run(self, http: httpx.AsyncClient, rng: random.Random) -> None:
        """Swap until the service dies; the swap its death interrupts stays in doubt."""
        stocks = list(self.owners)
        while True:
            stock = rng.choice(stocks)
            source = self.owners[stock]
            self.sequence += 1
            target = f"c{self.number}-{self.sequence}"
            body = {"stockId": stock, "fromUserId": source, "toUserId": target}
            try:
                response = await http.post("/swap", json=body)
            except httpx.TransportError:
                self.in_doubt[stock] = (source, target)
                return
            if response.status_code == 200:
                self.owners[stock] = target
                self.acknowledged += 1
            else:
                self.refused.append(f"{stock}: {response.status_code} {response.text}")


@dataclass
class Cycle:
    """One cycle's findings."""

    number: int
    acknowledged: int
    in_doubt_applied: int
    in_doubt_absent: int
    lost: int
    half_applied: int
    changed_elsewhere: int
    snapshot_valid: bool
    temp_file_at_kill: bool
    restart_seconds: float
    refused: list[str]


@dataclass
class Campaign:
    """Every cycle, and the totals the campaign reports."""

    stocks: int
    clients: int
    cycles: list[Cycle] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        restarts = sorted(c.restart_seconds for c in self.cycles)
        return {
            "stocks": self.stocks,
            "clients": self.clients,
            "cycles": len(self.cycles),
            "acknowledged_swaps": sum(c.acknowledged for c in self.cycles),
            "lost_swaps": sum(c.lost for c in self.cycles),
            "half_applied_swaps": sum(c.half_applied for c in self.cycles),
            "in_doubt_applied": sum(c.in_doubt_applied for c in self.cycles),
            "in_doubt_absent": sum(c.in_doubt_absent for c in self.cycles),
            "other_records_changed": sum(c.changed_elsewhere for c in self.cycles),
            "invalid_snapshots": sum(not c.snapshot_valid for c in self.cycles),
            "kills_with_a_snapshot_write_in_flight": sum(c.temp_file_at_kill for c in self.cycles),
            "refused_swaps": sum(len(c.refused) for c in self.cycles),
            "restart_seconds_median": restarts[len(restarts) // 2] if restarts else None,
            "restart_seconds_max": restarts[-1] if restarts else None,
        }


def service_command() -> list[str]:
    """The `trading-service` console script installed beside this interpreter."""
    return [str(Path(sys.executable).with_name("trading-service"))]


def _check(
    number: int,
    original: dict[str, Record],
    served: dict[str, Record],
    clients: list[Client],
    acknowledged: int,
    snapshot_valid: bool,
    temp_file_at_kill: bool,
    restart_seconds: float,
) -> Cycle:
    applied = absent = lost = half = 0
    expected_owner = {stock: record["owned"] for stock, record in original.items()}
    doubt: dict[str, tuple[str, str]] = {}
    for client in clients:
        expected_owner.update(client.owners)
        doubt.update(client.in_doubt)
    changed = 0
    for stock, record in original.items():
        got = served.get(stock)
        if got is None or {**got, "owned": record["owned"]} != record:
            changed += 1  # a field other than the owner differs, or the record is gone
            continue
        owner = got["owned"]
        if stock in doubt:
            source, target = doubt[stock]
            if owner == target:
                applied += 1
            elif owner == source:
                absent += 1
            else:
                half += 1
        elif owner != expected_owner[stock]:
            lost += 1
    changed += len(set(served) - set(original))
    # What the service holds now is what the next cycle's clients start from.
    for client in clients:
        for stock in client.in_doubt:
            if stock in served:
                client.owners[stock] = served[stock]["owned"]
        client.in_doubt.clear()
    refused = [line for client in clients for line in client.refused]
    for client in clients:
        client.refused.clear()
    return Cycle(
        number,
        acknowledged,
        applied,
        absent,
        lost,
        half,
        changed,
        snapshot_valid,
        temp_file_at_kill,
        restart_seconds,
        refused,
    )


async def _swap_until_killed(
    base_url: str, clients: list[Client], kill: Any, delay: float, rng: random.Random
) -> int:
    before = sum(c.acknowledged for c in clients)
    limits = httpx.Limits(max_connections=len(clients))
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http,
        anyio.create_task_group() as group,
    ):
        for client in clients:
            group.start_soon(client.run, http, random.Random(rng.random()))
        await anyio.sleep(delay)
        kill()
    return sum(c.acknowledged for c in clients) - before


def run_campaign(
    path: Path,
    *,
    stocks: int,
    cycles: int,
    clients: int,
    stocks_per_client: int = 200,
    kill_after: tuple[float, float] = (0.2, 1.5),
    seed: int = 2024,
    report: Any = None,
) -> Campaign:
    """Run `cycles` swap/kill/restart cycles on a new store of `stocks` stocks at `path`."""
    rng = random.Random(seed)
    original = generate_store(path, stocks, seed)
    pool = rng.sample(sorted(original), clients * stocks_per_client)
    swappers = [
        Client(n, {s: original[s]["owned"] for s in pool[n::clients]}) for n in range(clients)
    ]
    campaign = Campaign(stocks=stocks, clients=clients)
    env = {"STOCKS_DATA_PATH": str(path)}
    started = time.perf_counter()
    server = serve(service_command(), env, startup_timeout=300.0, stop_timeout=120.0)
    served, _ = server.__enter__()
    restart_seconds = time.perf_counter() - started
    try:
        for number in range(1, cycles + 1):
            process = served.process

            def kill(process: Any = process) -> None:
                process.send_signal(signal.SIGKILL)

            delay = rng.uniform(*kill_after)
            acknowledged = anyio.run(
                _swap_until_killed, served.base_url, swappers, kill, delay, rng
            )
            process.wait()
            temp_file_at_kill = any(path.parent.glob(f".{path.name}.*.tmp"))
            try:
                json.loads(path.read_bytes())
                snapshot_valid = True
            except ValueError:
                snapshot_valid = False
            server.__exit__(None, None, None)
            started = time.perf_counter()
            server = serve(service_command(), env, startup_timeout=300.0, stop_timeout=120.0)
            served, _ = server.__enter__()
            restart_seconds = time.perf_counter() - started
            state = msgspec.json.decode(httpx.get(f"{served.base_url}/stocks", timeout=300).content)
            cycle = _check(
                number,
                original,
                state,
                swappers,
                acknowledged,
                snapshot_valid,
                temp_file_at_kill,
                restart_seconds,
            )
            for client in swappers:
                original.update({s: {**original[s], "owned": o} for s, o in client.owners.items()})
            campaign.cycles.append(cycle)
            if report is not None:
                report(cycle)
    finally:
        server.__exit__(None, None, None)
    return campaign
