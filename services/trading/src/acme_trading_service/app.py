"""The trading service app: `create_app(settings)` opens the stock store eagerly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict, cast

from litestar import Litestar, Response, get, post
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
)

from acme_health import add_health_probes
from acme_logger import Logger
from acme_trading_service.durable import atomic_write
from acme_trading_service.model import NotOwnerError, StockFields, SwapRefusedError, SwapRequest
from acme_trading_service.settings import Settings
from acme_trading_service.store import StockStore
from acme_web.errors import error_handlers
from acme_web.responses import error_spec, found_or_404

MAX_BODY_BYTES = 64 * 1024
MAX_LIMIT = 1_000_000_000
SWAP_FIELDS = ("stockId", "fromUserId", "toUserId")

# The swap body the service accepts: three non-empty strings. The handler decodes more
# leniently (a missing, empty or null field gets the original's "Missing required
# parameters"), but what it refuses must not be documented as valid, so the document
# states the contract, not the decoder's type.
SWAP_BODY = RequestBody(
    required=True,
    content={
        "application/json": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=list(SWAP_FIELDS),
                properties={
                    name: Schema(type=OpenAPIType.STRING, min_length=1) for name in SWAP_FIELDS
                },
            )
        )
    },
)


@dataclass
class SwapOperation(Operation):
    """The `POST /swap` operation, with the request body documented as the contract."""

    def __post_init__(self) -> None:
        self.request_body = SWAP_BODY


class SwapAnswer(TypedDict):
    """`POST /swap`'s success answer."""

    success: bool
    message: str
    stock: StockFields


def _refusal(status: int, message: str) -> Response[Any]:
    return Response({"error": message}, status_code=status)


def _routes(store: StockStore, logger: Logger) -> list[Any]:
    @get("/", sync_to_thread=False, summary="Service banner")
    def root() -> dict[str, str]:
        return {"message": "Trading Service API"}

    @get(
        "/stocks",
        sync_to_thread=False,
        summary="Stocks keyed by id, optionally filtered",
        description="Without parameters: every stock. `owned`, `sector` and `limit` filter "
        "the listing (all given filters apply; `limit` keeps the first matches; `sector` "
        "matches only stocks that have one).",
        responses={HTTP_400_BAD_REQUEST: error_spec("Invalid query parameter")},
    )
    def list_stocks(
        owned: Annotated[str | None, QueryParameter(description="owner's user id")] = None,
        sector: Annotated[str | None, QueryParameter(description="sector name")] = None,
        limit: Annotated[
            int | None, QueryParameter(ge=1, le=MAX_LIMIT, description="at most this many")
        ] = None,
    ) -> dict[str, StockFields]:
        return cast(dict[str, StockFields], store.select(owned=owned, sector=sector, limit=limit))

    @get(
        "/stocks/{stock_id:str}",
        sync_to_thread=False,
        summary="One stock",
        responses={HTTP_404_NOT_FOUND: error_spec("Stock not found")},
    )
    def get_stock(stock_id: FromPath[str]) -> Response[StockFields]:
        return found_or_404(store.get(stock_id), "Stock", stock_id, logger)

    @post(
        "/swap",
        summary="Transfer a stock from its owner to another user",
        status_code=200,
        operation_class=SwapOperation,
        responses={
            HTTP_400_BAD_REQUEST: error_spec(
                "Missing required parameters, malformed JSON or wrong types, or the stock "
                "is not owned by the specified user"
            ),
            HTTP_404_NOT_FOUND: error_spec("Stock not found"),
            HTTP_413_REQUEST_ENTITY_TOO_LARGE: error_spec("Body over 64 KiB"),
        },
    )
    async def swap(data: JSONBody[SwapRequest | None] = None) -> Response[SwapAnswer]:
        # An empty body counts as every field missing, as the original's parser made it {}.
        fields = data.fields() if data is not None else None
        if fields is None:
            return _refusal(HTTP_400_BAD_REQUEST, "Missing required parameters")
        stock_id, from_user, to_user = fields
        try:
            stock = await store.swap(stock_id, from_user, to_user)
        except SwapRefusedError as refused:
            logger.warn(
                f"Stock {stock_id} is not owned by user {from_user}"
                if isinstance(refused, NotOwnerError)
                else f"Stock not found: {stock_id}"
            )
            return _refusal(refused.status, refused.message)
        message = f"Stock {stock_id} transferred from {from_user} to {to_user}"
        logger.info(message)
        return Response(SwapAnswer(success=True, message=message, stock=cast(StockFields, stock)))

    return [root, list_stocks, get_stock, swap]


def open_store(settings: Settings, logger: Logger) -> StockStore:
    """Open the store, first seeding it from `settings.seed_path` if it does not exist."""
    if settings.seed_path is not None and not settings.data_path.exists():
        settings.data_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(settings.data_path, settings.seed_path.read_bytes())
    return StockStore.open(settings.data_path, compact_after=settings.compact_after, logger=logger)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app; unusable stock data raises StockDataError naming the file."""
    settings = settings or Settings.from_env(os.environ)
    logger = Logger("trading-service")
    store = open_store(settings, logger)
    logger.info(
        "Stocks data loaded successfully",
        {"path": str(settings.data_path), "stocks": len(store), "journaled": store.pending},
    )

    async def store_is_open() -> bool:
        return not store.closed

    config = AppConfig(
        route_handlers=_routes(store, logger),
        exception_handlers=error_handlers(logger),
        openapi_config=OpenAPIConfig(title="Trading Service API", version="0.1.0"),
        on_shutdown=[store.close],
        state=State({"store": store}),
        # A swap body is three short strings; anything larger is not a swap.
        request_max_body_size=MAX_BODY_BYTES,
    )
    return Litestar.from_config(
        add_health_probes(config, {"stock-store": store_is_open}, logger=logger)
    )
