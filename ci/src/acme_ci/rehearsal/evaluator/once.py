"""The Dagger engine's own deduplication: one evaluation per digest, however many ask."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


class OncePerDigest(Generic[T]):
    """Runs `make` once per digest; concurrent and later callers get the same result or error."""

    def __init__(self) -> None:
        self._done: dict[str, anyio.Event] = {}
        self._results: dict[str, T] = {}
        self._errors: dict[str, Exception] = {}

    async def get(self, digest: str, make: Callable[[], Awaitable[T]]) -> T:
        if digest in self._done:
            await self._done[digest].wait()
        else:
            done = self._done[digest] = anyio.Event()
            try:
                self._results[digest] = await make()
            except Exception as error:  # replayed to every caller of the same digest
                self._errors[digest] = error
            finally:
                done.set()
        if digest in self._errors:
            raise self._errors[digest]
        return self._results[digest]
