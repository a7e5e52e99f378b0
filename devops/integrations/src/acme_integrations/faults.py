"""Fault injection for the simulated backend: scripted errors per operation, for tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from acme_integrations.errors import MaintenanceError

# A factory (not an instance) so every injected raise gets a fresh exception object.
FaultFactory = Callable[[], MaintenanceError]


@dataclass
class FaultPlan:
    """Errors to raise on successive calls of ``(subsystem, operation)``.

    ``script[key]`` lists what each call does in turn: a factory raises its error,
    ``None`` lets that call succeed; once the list is exhausted, ``always[key]``
    (if any) raises on every later call.
    """

    script: Mapping[tuple[str, str], Sequence[FaultFactory | None]] = field(default_factory=dict)
    always: Mapping[tuple[str, str], FaultFactory] = field(default_factory=dict)
    calls: defaultdict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def check(self, subsystem: str, operation: str) -> None:
        """Raise the planned fault for this call, if there is one."""
        key = (subsystem, operation)
        index = self.calls[key]
        self.calls[key] += 1
        planned = self.script.get(key, ())
        if index < len(planned):
            factory = planned[index]
            if factory is not None:
                raise factory()
            return
        if key in self.always:
            raise self.always[key]()
