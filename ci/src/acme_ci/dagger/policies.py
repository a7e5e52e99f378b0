"""How a module function states its cache policy and that it is a check, typed.

The engine keeps a function's result for 7 days by default and replays it for the same
source and arguments (core/typedef.go, core/modfunc.go; secrets count by a hash of their
value): right for a function whose result depends only on those. One that reads or changes
anything else is `uncached`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from dagger import check, function

P = ParamSpec("P")
R = TypeVar("R")


def uncached(func: Callable[P, R]) -> Callable[P, R]:
    """`@function(cache="never")`, for a function that reads or changes anything outside its
    arguments: the call gets an input of its own (core/modfunc.go, cacheImplicitInputs).

    dagger-io 0.21.11 accepts `cache` at run time (mod/_module.py, Module.function) but its
    typing overloads omit it, so the call is made through Any.
    """
    decorate = cast(Any, function)
    return cast(Callable[P, R], decorate(cache="never")(func))


def checked(func: Callable[P, R]) -> Callable[P, R]:
    """`@check` (a function `dagger check` runs), typed.

    In dagger-io 0.21.11 `check` returns a union of function and decorator
    (mod/_module.py, Module.check), which the type checkers cannot pass on to `function`.
    """
    return cast(Callable[P, R], check(func))
