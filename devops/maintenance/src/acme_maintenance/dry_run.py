"""--dry-run: what would run, in which order and with which concurrency."""

from __future__ import annotations

from collections.abc import Sequence

from acme_integrations.settings import NotConfigured
from acme_integrations.simulated import ORIGINAL_DURATIONS_S
from acme_integrations.thresholds import THRESHOLDS, Thresholds
from acme_maintenance.plans import BoundOperation, SubsystemPlan
from acme_maintenance.render import SIMULATION_LABEL
from acme_maintenance.report import Mode

Stages = tuple[tuple[BoundOperation, ...], ...]


def _expected_s(stages: Stages) -> float:
    """The original durations along the chain: stages add up, a stage costs its longest op."""
    return sum(
        max(ORIGINAL_DURATIONS_S[(op.subsystem, op.kind)] for op in stage) for stage in stages
    )


def describe(
    plans: Sequence[SubsystemPlan],
    missing: dict[str, NotConfigured],
    mode: Mode,
    notes: Sequence[str],
    time_scale: float | None,
) -> str:
    """A text plan; with the simulated backend, the expected duration of each chain."""
    lines = [f"dry run of a {mode} run: nothing is executed"]
    if time_scale is not None:
        lines.append(f"backend: simulated (time scale {time_scale:g}) - {SIMULATION_LABEL}")
    lines.extend(f"note: {note}" for note in notes)
    if plans:
        lines.append(f"subsystems run concurrently: {', '.join(p.name for p in plans)}")
    chains: dict[str, float] = {}
    for plan in plans:
        stages = plan.maintenance if mode == "maintenance" else plan.cleanup
        why = plan.notes if mode == "maintenance" else plan.cleanup_notes
        lines.append(f"{plan.name}: stages in order, operations inside a stage concurrently")
        for index, (stage, reason) in enumerate(zip(stages, why, strict=True), start=1):
            names = ", ".join(op.name for op in stage)
            together = f"concurrently ({len(stage)}): " if len(stage) > 1 else ""
            lines.append(f"  {index}. {together}{names}")
            lines.append(f"       why: {reason}")
        if mode == "maintenance":
            cleanup = " then ".join(" + ".join(op.name for op in stage) for stage in plan.cleanup)
            lines.append(f"  on failure, right away and for {plan.name} only: {cleanup}")
        if time_scale is not None:
            chains[plan.name] = _expected_s(stages) * time_scale
    for name, absent in missing.items():
        lines.append(f"{name}: NOT CONFIGURED - {absent.reason}; set {', '.join(absent.variables)}")
    if chains:
        parts = ", ".join(f"{name} {seconds:.3g} s" for name, seconds in chains.items())
        lines.append(
            f"expected without faults: {parts}; the run takes about the longest chain, "
            f"{max(chains.values()):.3g} s"
        )
    return "\n".join(lines)


def journal_lines(location: str, why: str, read: bool) -> list[str]:
    """Where the journal would be read from and written to, and why there."""
    use = "read from and written to" if read else "written to"
    return [f"journal: {use} {location} ({why})"]


def threshold_lines(thresholds: Thresholds, sources: dict[str, str]) -> list[str]:
    """Each threshold's value and where it came from (a flag, a variable, the default)."""
    lines = ["thresholds:"]
    for threshold in THRESHOLDS:
        value = threshold.show(getattr(thresholds, threshold.field))
        source = sources.get(threshold.field, "default")
        origin = (
            f"default; set {threshold.variable} or {threshold.flag}"
            if source == "default"
            else f"from {source}"
        )
        lines.append(f"  {threshold.variable}: {value} - {threshold.meaning} ({origin})")
    return lines
