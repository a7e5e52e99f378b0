"""Typed errors from concurrent work collapse into one typed error; anything else stays whole."""

from __future__ import annotations

from acme_integrations.errors import (
    ConnectionDroppedError,
    DeadlockError,
    MissingResourceError,
    PermanentError,
    TransientError,
)
from acme_maintenance.retry_policy import collapse


def test_a_group_of_transient_errors_is_transient_and_keeps_every_message() -> None:
    error = collapse(
        ExceptionGroup(
            "pages", [DeadlockError("a"), ExceptionGroup("inner", [ConnectionDroppedError("b")])]
        )
    )
    assert isinstance(error, TransientError)
    assert "a" in str(error)
    assert "b" in str(error)


def test_one_permanent_member_makes_the_group_permanent() -> None:
    error = collapse(ExceptionGroup("pages", [DeadlockError("a"), MissingResourceError("gone")]))
    assert isinstance(error, PermanentError)


def test_a_group_with_an_untyped_member_is_not_collapsed() -> None:
    assert collapse(ExceptionGroup("pages", [DeadlockError("a"), ValueError("bug")])) is None
