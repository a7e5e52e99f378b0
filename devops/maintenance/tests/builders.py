"""Builders for tests: the simulated backend at a tiny time scale."""

from __future__ import annotations

from collections.abc import Sequence

from acme_integrations.backends import simulated_backends
from acme_integrations.faults import FaultPlan
from acme_integrations.simulated import SimulationProfile
from acme_maintenance.plans import SubsystemPlan, build_plans
from acme_maintenance.procedures import SUBSYSTEMS
from acme_maintenance.report import Mode
from acme_maintenance.retry_policy import RetryPolicy
from acme_maintenance.runner import RunSettings

TIME_SCALE = 0.001


def simulated_plans(
    faults: FaultPlan | None = None,
    targets: Sequence[str] = SUBSYSTEMS,
    deadlock_probability: float = 0.0,
) -> list[SubsystemPlan]:
    """Plans over the simulation; the random deadlock is off unless a test asks for it."""
    profile = SimulationProfile(
        time_scale=TIME_SCALE,
        seed=1,
        deadlock_probability=deadlock_probability,
        faults=faults,
    )
    plans, missing = build_plans(simulated_backends(profile), targets)
    assert not missing
    return plans


def run_settings(mode: Mode = "maintenance", attempts: int = 4) -> RunSettings:
    return RunSettings(
        mode=mode,
        policy=RetryPolicy(attempts=attempts, scale=TIME_SCALE),
        simulated=True,
    )
