"""The simulation profile reproduces the original table and is reproducible by seed."""

from __future__ import annotations

import pytest

from acme_integrations.errors import DeadlockError, MissingResourceError
from acme_integrations.faults import FaultPlan
from acme_integrations.simulated import (
    ORIGINAL_DURATIONS_S,
    SimulatedDatabase,
    SimulatedS3,
    SimulationProfile,
)

pytestmark = pytest.mark.anyio


def test_the_original_chains_add_up_to_the_documented_59_seconds() -> None:
    database = sum(
        ORIGINAL_DURATIONS_S[("database", op)]
        for op in (
            "init client",
            "modify index triggers",
            "update indexes",
            "vacuum",
            "check for deadlocks",
        )
    )
    kafka = (
        ORIGINAL_DURATIONS_S[("kafka", "init client")]
        + 5 * ORIGINAL_DURATIONS_S[("kafka", "clean topic")]
        + ORIGINAL_DURATIONS_S[("kafka", "validate cleaned")]
    )
    s3 = sum(
        ORIGINAL_DURATIONS_S[("s3", op)]
        for op in ("init client", "move large blobs to glacier", "clean up old blobs")
    )
    assert (database, kafka, s3) == (21.0, 19.0, 19.0)


async def _deadlocks(seed: int, checks: int) -> list[bool]:
    database = SimulatedDatabase(SimulationProfile(time_scale=0.0, seed=seed))
    outcomes: list[bool] = []
    messages: set[str] = set()
    for _ in range(checks):
        try:
            await database.check_for_deadlocks()
        except DeadlockError as error:
            messages.add(str(error))
            outcomes.append(True)
        else:
            outcomes.append(False)
    assert messages <= {"Deadlock detected (simulated)"}
    return outcomes


async def test_deadlocks_are_reproducible_by_seed_and_about_one_in_three() -> None:
    first = await _deadlocks(seed=11, checks=600)
    assert first == await _deadlocks(seed=11, checks=600)
    assert 150 < sum(first) < 250


async def test_outcomes_are_labelled_simulated() -> None:
    outcome = await SimulatedS3(SimulationProfile(time_scale=0.0)).init_client()
    assert outcome.simulated
    assert outcome.detail.startswith("simulated")


async def test_fault_plan_scripts_successive_calls() -> None:
    plan = FaultPlan(
        script={("s3", "init client"): [lambda: MissingResourceError("no bucket"), None]},
        always={("s3", "stop hung uploads"): lambda: MissingResourceError("gone")},
    )
    s3 = SimulatedS3(SimulationProfile(time_scale=0.0, faults=plan))
    with pytest.raises(MissingResourceError):
        await s3.init_client()
    assert (await s3.init_client()).simulated
    for _ in range(3):
        with pytest.raises(MissingResourceError, match="gone"):
            await s3.stop_hung_uploads()
