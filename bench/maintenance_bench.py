"""Maintenance benchmark: the original sequential scripts vs the concurrent runner.

Everything runs on the labelled simulation of the original scripts (their durations
times a time scale, their 1-in-3 "Deadlock detected"), side by side in one run:

* no faults: the original order, one operation after another, vs the new runner;
* one deadlock (the first database "check for deadlocks" fails): the original fails
  the whole run and recovers by a full cleanup run plus a full re-run, the new runner
  retries that one check in place;
* success rate over many seeded runs with the original random deadlock: the original
  single pass vs the new runner with local retries.

Each line prints both times, their ratio and the lower bound (the longest subsystem
chain, 21 s at time scale 1.0).

    .venv/bin/python bench/maintenance_bench.py            # time scales 1.0 and 0.05 (~4 min)
    .venv/bin/python bench/maintenance_bench.py --quick    # time scale 0.05 only, fewer runs
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Awaitable, Callable

import anyio

from acme_integrations.backends import simulated_backends
from acme_integrations.errors import DeadlockError, MaintenanceError
from acme_integrations.faults import FaultPlan
from acme_integrations.outcome import Outcome
from acme_integrations.protocols import DatabaseOperations, KafkaOperations, S3Operations
from acme_integrations.simulated import SimulationProfile
from acme_maintenance.plans import build_plans
from acme_maintenance.procedures import KAFKA_TOPICS, SUBSYSTEMS
from acme_maintenance.retry_policy import RetryPolicy
from acme_maintenance.runner import RunSettings, run

LONGEST_CHAIN_S = 21.0  # database: 1 + 5 + 8 + 3 + 4


def _original_steps(
    db: DatabaseOperations, kafka: KafkaOperations, s3: S3Operations
) -> list[Callable[[], Awaitable[Outcome]]]:
    """The original scripts' maintenance, in their order, one call after another."""
    return [
        db.init_client,
        db.modify_index_triggers,
        db.update_indexes,
        db.vacuum,
        db.check_for_deadlocks,
        kafka.init_client,
        *[(lambda t=topic: kafka.clean_topic(t)) for topic in KAFKA_TOPICS],
        lambda: kafka.validate_cleaned(KAFKA_TOPICS),
        s3.init_client,
        s3.move_large_blobs_to_glacier,
        s3.clean_up_old_blobs,
    ]


def _original_cleanup(
    db: DatabaseOperations, kafka: KafkaOperations, s3: S3Operations
) -> list[Callable[[], Awaitable[Outcome]]]:
    """The original ``--cleanup``: every subsystem's cleanup, one after another."""
    return [
        db.check_for_deadlocks,
        db.stop_hung_queries,
        kafka.cleanup_topics,
        kafka.stop_consumers,
        s3.stop_hung_uploads,
    ]


def _profile(
    scale: float, seed: int, probability: float, faults: FaultPlan | None
) -> SimulationProfile:
    return SimulationProfile(
        time_scale=scale, seed=seed, deadlock_probability=probability, faults=faults
    )


async def original(profile: SimulationProfile, recover: bool) -> tuple[float, bool]:
    """Time of the original; with ``recover``, a failed pass is followed by cleanup + re-run."""
    backends = simulated_backends(profile)
    db, kafka, s3 = backends.database, backends.kafka, backends.s3
    assert not isinstance(db, Exception)
    started = time.perf_counter()
    for _ in range(10 if recover else 1):
        try:
            for step in _original_steps(db, kafka, s3):  # type: ignore[arg-type]
                await step()
            return time.perf_counter() - started, True
        except MaintenanceError:
            if not recover:
                return time.perf_counter() - started, False
            for step in _original_cleanup(db, kafka, s3):  # type: ignore[arg-type]
                # The original's cleanup went on past a failing step.
                with contextlib.suppress(MaintenanceError):
                    await step()
    return time.perf_counter() - started, False


async def new_runner(profile: SimulationProfile) -> tuple[float, bool]:
    """Time of the concurrent runner with local retries (backoff scaled like the durations)."""
    plans, _ = build_plans(simulated_backends(profile), SUBSYSTEMS)
    settings = RunSettings(
        policy=RetryPolicy(scale=profile.time_scale),
        timeout_scale=profile.time_scale,
        simulated=True,
    )
    started = time.perf_counter()
    result = await run(plans, settings)
    return time.perf_counter() - started, all(s.status == "ok" for s in result.subsystems)


def _first_check_deadlocks() -> FaultPlan:
    return FaultPlan(
        script={
            ("database", "check for deadlocks"): [
                lambda: DeadlockError("Deadlock detected (simulated)")
            ]
        }
    )


async def compare(scale: float) -> None:
    bound = LONGEST_CHAIN_S * scale
    for label, faults in (("no faults", lambda: None), ("1 deadlock", _first_check_deadlocks)):
        old_s, old_ok = await original(_profile(scale, 0, 0.0, faults()), recover=True)
        new_s, new_ok = await new_runner(_profile(scale, 0, 0.0, faults()))
        recovery = " (failed, cleanup, re-run)" if label != "no faults" else ""
        print(
            f"[simulated] scale {scale:<5g} {label:<10}  "
            f"original sequential{recovery} {old_s:8.2f} s"
            f"  new runner {new_s:7.2f} s  ratio {old_s / new_s:5.2f}x"
            f"  lower bound {bound:6.2f} s (new/bound {new_s / bound:4.2f})"
            f"  ok: original {old_ok}, new {new_ok}",
            flush=True,
        )


async def success_rate(runs: int, scale: float) -> None:
    probability = 1 / 3
    new_ok = old_ok = 0
    for seed in range(runs):
        _, ok = await new_runner(_profile(scale, seed, probability, None))
        new_ok += ok
        _, ok = await original(_profile(scale, seed, probability, None), recover=False)
        old_ok += ok
    attempts = RetryPolicy().attempts
    expected = 1 - probability**attempts
    print(
        f"[simulated] success rate with the original 1-in-3 deadlock over {runs} seeded runs"
        f" (scale {scale:g}): new runner {new_ok}/{runs} ({100 * new_ok / runs:.1f}%,"
        f" up to {attempts} attempts per operation), original single pass {old_ok}/{runs}"
        f" ({100 * old_ok / runs:.1f}%); expected 1-(1/3)^{attempts} = {100 * expected:.1f}%",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="time scale 0.05 only and 100 seeded runs"
    )
    parser.add_argument(
        "--scales",
        default="1.0,0.05",
        help="comma-separated time scales to compare (default 1.0,0.05)",
    )
    parser.add_argument(
        "--runs", type=int, default=500, help="seeded runs for the success rate (default 500)"
    )
    args = parser.parse_args()
    scales = [0.05] if args.quick else [float(s) for s in args.scales.split(",")]
    runs = 100 if args.quick else args.runs

    async def everything() -> None:
        for scale in scales:
            await compare(scale)
        await success_rate(runs, 0.001)

    anyio.run(everything)


if __name__ == "__main__":
    main()
