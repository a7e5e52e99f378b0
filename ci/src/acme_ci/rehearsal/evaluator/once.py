"""The Dagger engine's own deduplication: one evaluation per digest, however many ask.

As the engine's call cache (dagql/cache.go: an ongoing call's error goes to its waiters and
the call is deleted, never stored), a failed evaluation is not remembered: the callers that
waited for it get its error, and a later caller evaluates the digest again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar, cast

import anyio

T = TypeVar("T")


class _Evaluation(Generic[T]):
    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result: T | None = None
        self.error: Exception | None = None


class OncePerDigest(Generic[T]):
    """Runs `make` once per digest; concurrent and later callers get the same result, and only
    the callers waiting while it failed get its error."""

    def __init__(self) -> None:
        self._evaluations: dict[str, _Evaluation[T]] = {}

    async def get(self, digest: str, make: Callable[[], Awaitable[T]]) -> T:
        evaluation = self._evaluations.get(digest)
        if evaluation is None:
            return await self._evaluate(digest, make)
        await evaluation.done.wait()
        if evaluation.error is not None:
            raise evaluation.error
        return cast(T, evaluation.result)

    async def _evaluate(self, digest: str, make: Callable[[], Awaitable[T]]) -> T:
        evaluation = self._evaluations[digest] = _Evaluation[T]()
        try:
            evaluation.result = await make()
            return evaluation.result
        except BaseException as error:
            # Failed or cancelled: forgotten, and the callers waiting for it learn why.
            evaluation.error = (
                error if isinstance(error, Exception) else RuntimeError(f"cancelled: {digest}")
            )
            del self._evaluations[digest]
            raise
        finally:
            evaluation.done.set()
