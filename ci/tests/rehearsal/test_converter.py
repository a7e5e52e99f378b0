"""one_converter: contexts share one converter inside the block, and only there."""

from __future__ import annotations

import dagger
from dagger import dag
from dagger.client._core import Context

from acme_ci.rehearsal.converter import one_converter


def test_contexts_share_one_converter_inside_the_block_and_their_own_after() -> None:
    with one_converter():
        first = dag.container().with_env_variable("A", "1")
        second = dag.directory().with_new_file("f", "x")
        assert first._ctx.converter is second._ctx.converter
    after = dag.container()._ctx, dag.container()._ctx
    assert after[0].converter is not after[1].converter
    assert after[0].converter is not first._ctx.converter


def test_arguments_are_selected_as_without_it() -> None:
    def chain() -> list[tuple[str, dict[str, object]]]:
        container = (
            dag.container()
            .from_("python:3.12-slim")
            .with_exec(["true"], expect=dagger.ReturnType.ANY)
        )
        return [(s.name, dict(s.args)) for s in container._ctx.selections]

    plain = chain()
    with one_converter():
        shared = chain()
    assert shared == plain
    assert ("withExec", {"args": ["true"], "expect": "ANY"}) in plain  # the enum, by name


def test_the_original_is_restored_when_the_block_raises() -> None:
    original = Context.__post_init__
    try:
        with one_converter():
            raise KeyError("boom")
    except KeyError:
        pass
    assert Context.__post_init__ is original
