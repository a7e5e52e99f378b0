"""The simulation profile: the original scripts' latencies and random deadlock, on purpose.

Nothing here touches a real system. Every outcome is marked ``simulated`` so reports
can label it; durations are the original ones multiplied by ``time_scale``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import anyio

from acme_integrations.errors import DeadlockError
from acme_integrations.faults import FaultPlan
from acme_integrations.outcome import Outcome

# Seconds per operation in the original scripts, keyed by (subsystem, operation name).
ORIGINAL_DURATIONS_S: dict[tuple[str, str], float] = {
    ("database", "init client"): 1.0,
    ("database", "modify index triggers"): 5.0,
    ("database", "update indexes"): 8.0,
    ("database", "vacuum"): 3.0,
    ("database", "check for deadlocks"): 4.0,
    ("database", "stop hung queries"): 8.0,
    ("kafka", "init client"): 1.0,
    ("kafka", "clean topic"): 2.0,
    ("kafka", "validate cleaned"): 8.0,
    ("kafka", "cleanup topics"): 1.0,
    ("kafka", "stop consumers"): 2.0,
    ("s3", "init client"): 1.0,
    ("s3", "move large blobs to glacier"): 8.0,
    ("s3", "clean up old blobs"): 10.0,
    ("s3", "stop hung uploads"): 8.0,
}
ORIGINAL_DEADLOCK_PROBABILITY = 1 / 3


@dataclass(frozen=True)
class SimulationProfile:
    """How the simulation behaves: time scale, seed, deadlock probability, injected faults."""

    time_scale: float = 1.0
    seed: int | None = None
    deadlock_probability: float = ORIGINAL_DEADLOCK_PROBABILITY
    faults: FaultPlan | None = None


class _Simulated:
    subsystem = ""

    def __init__(self, profile: SimulationProfile) -> None:
        self._profile = profile
        # One generator per subsystem, so concurrent scheduling cannot change the draws.
        self._random = random.Random(f"{profile.seed}:{self.subsystem}")

    async def _run(self, operation: str, detail: str = "") -> Outcome:
        duration = ORIGINAL_DURATIONS_S[(self.subsystem, operation)] * self._profile.time_scale
        await anyio.sleep(duration)
        if self._profile.faults is not None:
            self._profile.faults.check(self.subsystem, operation)
        return Outcome(
            detail=f"simulated {operation}{f' {detail}' if detail else ''} ({duration:.3g} s)",
            simulated=True,
        )

    async def aclose(self) -> None:
        return None


class SimulatedDatabase(_Simulated):
    """The original database job, including its 1-in-3 "Deadlock detected"."""

    subsystem = "database"

    async def init_client(self) -> Outcome:
        return await self._run("init client")

    async def modify_index_triggers(self) -> Outcome:
        return await self._run("modify index triggers")

    async def update_indexes(self) -> Outcome:
        return await self._run("update indexes")

    async def vacuum(self) -> Outcome:
        return await self._run("vacuum")

    async def check_for_deadlocks(self) -> Outcome:
        outcome = await self._run("check for deadlocks")
        if self._random.random() < self._profile.deadlock_probability:
            raise DeadlockError("Deadlock detected (simulated)")
        return outcome

    async def stop_hung_queries(self) -> Outcome:
        return await self._run("stop hung queries")


class SimulatedKafka(_Simulated):
    """The original Kafka job."""

    subsystem = "kafka"

    async def init_client(self) -> Outcome:
        return await self._run("init client")

    async def clean_topic(self, topic: str) -> Outcome:
        return await self._run("clean topic", topic)

    async def validate_cleaned(self, topics: Sequence[str]) -> Outcome:
        return await self._run("validate cleaned", f"{len(topics)} topics")

    async def cleanup_topics(self) -> Outcome:
        return await self._run("cleanup topics")

    async def stop_consumers(self) -> Outcome:
        return await self._run("stop consumers")


class SimulatedS3(_Simulated):
    """The original S3 job."""

    subsystem = "s3"

    async def init_client(self) -> Outcome:
        return await self._run("init client")

    async def move_large_blobs_to_glacier(self) -> Outcome:
        return await self._run("move large blobs to glacier")

    async def clean_up_old_blobs(self) -> Outcome:
        return await self._run("clean up old blobs")

    async def stop_hung_uploads(self) -> Outcome:
        return await self._run("stop hung uploads")
