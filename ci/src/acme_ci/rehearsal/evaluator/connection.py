"""The runtime's connection to the engine, answered by the evaluator.

A module's runtime starts with `dagger.mod.cli.main`, which connects to the session the
engine gave it (`async with await dagger.connect()`: dagger-io's shared connection, from
DAGGER_SESSION_PORT) before it serves the call. While the evaluator is installed that
connection is one to the evaluator itself: it opens nothing, and every query still goes
through `Context.execute`, which the evaluator answers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dagger.client._session import SharedConnection


class EvaluatorSession:
    """What `SharedConnection.session` gives while the evaluator answers: nothing to open."""

    async def start(self) -> EvaluatorSession:
        return self

    async def close(self) -> None:
        return None

    def has_session(self) -> bool:
        return True


@contextlib.contextmanager
def connected_to_evaluator() -> Iterator[None]:
    """`dagger.connect()` succeeds in the block, as it does inside a runtime container."""
    original = SharedConnection.session
    session = EvaluatorSession()
    SharedConnection.session = property(lambda _: session)  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        SharedConnection.session = original  # type: ignore[method-assign]
