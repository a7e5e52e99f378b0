"""One dagger-io converter for every query context, while an evaluator of our own answers.

dagger-io builds a cattrs converter for every field selection (dagger/client/_core.py,
`Context.__post_init__` calls `make_converter`): about 2 ms each, and one `ci` run of the
module makes thousands of selections. A context needs its own converter only to structure
a result (`Context.get_value`, reached from `Context.execute`, whose converter hooks build
objects bound to that context). An evaluator that takes `Context.execute`'s place (the
rehearsal's, the offline tests' fakes) returns plain values and never structures one, so
while it is installed one converter can serve every context: arguments are unstructured
the same way by any of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dagger.client._core import Context


@contextlib.contextmanager
def one_converter() -> Iterator[None]:
    """Contexts made in the block share the first one's converter; restored after."""
    original = Context.__post_init__
    shared: list[Any] = []  # a cattrs.Converter (dagger-io's dependency, not ours)

    def post_init(ctx: Context) -> None:
        if shared:
            ctx.converter = shared[0]
        else:
            original(ctx)  # type: ignore[no-untyped-call]  # untyped in dagger-io
            shared.append(ctx.converter)

    Context.__post_init__ = post_init  # type: ignore[method-assign]
    try:
        yield
    finally:
        Context.__post_init__ = original  # type: ignore[method-assign]
