"""cd's report of a failed stage names every cause, never an exception group's wrapper."""

from __future__ import annotations

from acme_ci.dagger.delivery import causes


def test_an_exception_groups_every_leaf_is_a_cause_of_its_own() -> None:
    nested = ExceptionGroup(
        "unhandled errors in a TaskGroup",
        [
            ValueError("user-service: push refused"),
            ExceptionGroup("inner", [OSError("trading-service: registry unreachable")]),
        ],
    )
    assert causes(nested) == [
        "user-service: push refused",
        "trading-service: registry unreachable",
    ]


def test_a_plain_error_is_its_message_or_its_type_when_it_has_none() -> None:
    assert causes(RuntimeError("kubectl failed")) == ["kubectl failed"]
    assert causes(TimeoutError()) == ["TimeoutError"]
