"""The data the service speaks: a stock, a swap request, and the swap decision rules."""

# No `from __future__ import annotations` here: TypedDict reads NotRequired[...] at class creation.

from typing import Any, NotRequired, TypedDict

import msgspec


class StockFields(TypedDict):
    """The fields of a stock the service relies on; a record may carry any others.

    `owned` is the id of the user who owns the stock. The original's records held only
    `id`, `name`, `price` and `owned`; `sector`, `volume` and `marketCap` are optional, and
    every other field a record carries is kept and served back unchanged.
    """

    id: str
    name: str
    price: float
    owned: str
    sector: NotRequired[str]
    volume: NotRequired[int]
    marketCap: NotRequired[int]


Stock = dict[str, Any]
"""A stock record as stored and served: at least the `StockFields`, plus any extra fields."""


class SwapRequest(msgspec.Struct):
    """`POST /swap` body. Fields are optional here so a missing one gets the original's 400."""

    stockId: str | None = None  # the wire names are the original API's
    fromUserId: str | None = None
    toUserId: str | None = None

    def fields(self) -> tuple[str, str, str] | None:
        """(stock, from, to) if every field is present and non-empty (the original's check)."""
        if self.stockId and self.fromUserId and self.toUserId:
            return self.stockId, self.fromUserId, self.toUserId
        return None


class SwapRefusedError(Exception):
    """A swap the rules refuse; `status` and `message` are the answer the client gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class StockNotFoundError(SwapRefusedError):
    def __init__(self) -> None:
        super().__init__(404, "Stock not found")


class NotOwnerError(SwapRefusedError):
    def __init__(self) -> None:
        super().__init__(400, "Stock is not owned by the specified user")


def check_swap(stock: Stock | None, from_user: str) -> Stock:
    """The stock to transfer, or the refusal the original gave (unknown stock, wrong owner)."""
    if stock is None:
        raise StockNotFoundError
    if stock["owned"] != from_user:
        raise NotOwnerError
    return stock
