"""Bind each procedure to its backend, giving the runner plain awaitable operations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from acme_integrations.backends import Backends
from acme_integrations.outcome import Outcome
from acme_integrations.settings import NotConfigured
from acme_maintenance.procedures import DATABASE, KAFKA, S3, Operation, Procedure, Stage

B = TypeVar("B")


@dataclass(frozen=True)
class BoundOperation:
    """An operation ready to call: the backend is already chosen."""

    subsystem: str
    name: str
    kind: str
    call: Callable[[], Awaitable[Outcome]]
    timeout_s: float


@dataclass(frozen=True)
class SubsystemPlan:
    """One subsystem's stages, bound to its backend."""

    name: str
    maintenance: tuple[tuple[BoundOperation, ...], ...]
    cleanup: tuple[tuple[BoundOperation, ...], ...]
    notes: tuple[str, ...]
    cleanup_notes: tuple[str, ...]
    aclose: Callable[[], Awaitable[None]]


def _bound_call(op: Operation[B], backend: B) -> Callable[[], Awaitable[Outcome]]:
    return lambda: op.call(backend)


def _bind_stages(
    subsystem: str, stages: tuple[Stage[B], ...], backend: B
) -> tuple[tuple[BoundOperation, ...], ...]:
    return tuple(
        tuple(
            BoundOperation(
                subsystem=subsystem,
                name=op.name,
                kind=op.kind or op.name,
                call=_bound_call(op, backend),
                timeout_s=op.timeout_s,
            )
            for op in stage.operations
        )
        for stage in stages
    )


def bind(
    procedure: Procedure[B], backend: B, aclose: Callable[[], Awaitable[None]]
) -> SubsystemPlan:
    """A plan for one subsystem."""
    return SubsystemPlan(
        name=procedure.subsystem,
        maintenance=_bind_stages(procedure.subsystem, procedure.maintenance, backend),
        cleanup=_bind_stages(procedure.subsystem, procedure.cleanup, backend),
        notes=tuple(stage.why for stage in procedure.maintenance),
        cleanup_notes=tuple(stage.why for stage in procedure.cleanup),
        aclose=aclose,
    )


def build_plans(
    backends: Backends, targets: Sequence[str]
) -> tuple[list[SubsystemPlan], dict[str, NotConfigured]]:
    """Plans for the configured targets, and the reason for each target that is not."""
    plans: list[SubsystemPlan] = []
    missing: dict[str, NotConfigured] = {}
    if "database" in targets:
        if isinstance(backends.database, NotConfigured):
            missing["database"] = backends.database
        else:
            plans.append(bind(DATABASE, backends.database, backends.database.aclose))
    if "kafka" in targets:
        if isinstance(backends.kafka, NotConfigured):
            missing["kafka"] = backends.kafka
        else:
            plans.append(bind(KAFKA, backends.kafka, backends.kafka.aclose))
    if "s3" in targets:
        if isinstance(backends.s3, NotConfigured):
            missing["s3"] = backends.s3
        else:
            plans.append(bind(S3, backends.s3, backends.s3.aclose))
    return plans, missing
