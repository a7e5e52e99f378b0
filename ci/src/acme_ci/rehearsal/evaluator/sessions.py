"""Client sessions: each rehearsed `dagger call` is one, as each CLI run is one to the engine.

The engine scopes what a session starts to that session: a running service is keyed by its
digest and the session's ID (core/services.go, ServiceKey), and stopped when the session
ends (StopSessionServices). Work the rehearsal does outside any call (its own probes, the
tests' direct queries) belongs to the rehearsal's own session.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

OUTSIDE_ANY_CALL = "rehearsal"
_CURRENT: ContextVar[str] = ContextVar("acme_rehearsal_session", default=OUTSIDE_ANY_CALL)


def current_session() -> str:
    """The session whose work is being evaluated (tasks started inside inherit it)."""
    return _CURRENT.get()


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


@contextlib.contextmanager
def in_session(session: str) -> Iterator[str]:
    """Evaluate the block's queries as session `session`'s."""
    token = _CURRENT.set(session)
    try:
        yield session
    finally:
        _CURRENT.reset(token)
