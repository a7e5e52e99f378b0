"""What the evaluator is given from outside: where images come from, where progress goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# One line of progress for the person running the rehearsal.
Report = Callable[[str], None]


class NoStandInError(Exception):
    """An image reference the rehearsal has no local stand-in for."""


class ImageSource(Protocol):
    """Where `from(address)` finds its image: a local image, or NoStandInError."""

    async def image_for(self, address: str) -> str:
        """The local image that stands in for `address`."""
        ...

    async def probe_image(self) -> str:
        """An image with python3, for the port probes of bound services."""
        ...
