"""What a maintenance operation reports when it returns normally."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """The result of one operation.

    ``applicable`` is False when the operation has no meaning on this backend (for
    example cancelling server-side queries on SQLite); ``detail`` then says why.
    ``simulated`` marks results produced by the simulation profile, never by a real client.
    """

    detail: str
    applicable: bool = True
    simulated: bool = False


def not_applicable(reason: str) -> Outcome:
    """An outcome for an operation that means nothing on this backend."""
    return Outcome(detail=reason, applicable=False)
