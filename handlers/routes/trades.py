"""``POST /trades`` (idempotent by client order id) and ``GET /trades/{id}``."""

from __future__ import annotations

import re
from http import HTTPStatus

from handlers.errors import ApiError
from handlers.gateway import read_json_body
from handlers.observability import TRADE_CONFLICTS, TRADES_CREATED, TRADES_REPLAYED, count, logger
from handlers.powertools import EphemeralMetrics, JsonResponse, Router
from handlers.routes import ROUTES, TRADE, TRADES, json_response, request_deadline
from handlers.store import TradeStore
from handlers.trades import parse_trade

MAX_TRADE_ID = 2**63 - 1
_TRADE_ID = re.compile(r"[1-9][0-9]{0,18}")


def trades_router(store: TradeStore, metrics: EphemeralMetrics) -> Router:
    router = Router()

    @router.route(TRADES, method=list(ROUTES[TRADES]))
    def post_trade() -> JsonResponse:
        event = router.current_event
        text = read_json_body(event.body, bool(event.is_base64_encoded), event.headers.get("content-type"))
        order = parse_trade(text)
        result = store.submit(order, request_deadline(router))
        trade = result.trade
        if result.conflict:
            count(metrics, TRADE_CONFLICTS)
            logger.info(
                "client order id reused", extra={"client_order_id": order.client_order_id, "trade_id": trade.id}
            )
            raise ApiError(
                HTTPStatus.CONFLICT,
                "client_order_id was already used for a different trade",
                ["send a new client_order_id for a new order, or the stored order's content to replay it"],
                trade_id=trade.id,
            )
        # DEBUG, not INFO: the row is the record and API Gateway's access log has every request; a JSON log
        # line per trade would cost about as much CPU as the rest of the handler (see bench/handlers_bench.py).
        if result.created:
            count(metrics, TRADES_CREATED)
            logger.debug("trade created", extra={"client_order_id": order.client_order_id, "trade_id": trade.id})
            return json_response(HTTPStatus.CREATED, trade.to_json(), {"Location": f"/trades/{trade.id}"})
        count(metrics, TRADES_REPLAYED)
        logger.debug("trade replayed", extra={"client_order_id": order.client_order_id, "trade_id": trade.id})
        return json_response(HTTPStatus.OK, trade.to_json())

    @router.route(TRADE, method=list(ROUTES[TRADE]))
    def get_trade(trade_id: str) -> JsonResponse:
        if not _TRADE_ID.fullmatch(trade_id) or int(trade_id) > MAX_TRADE_ID:
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "invalid trade id",
                [f"the trade id must be an integer from 1 to {MAX_TRADE_ID}, digits only, no leading zeros"],
            )
        trade = store.get(int(trade_id), request_deadline(router))
        if trade is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"trade {trade_id} does not exist")
        return json_response(HTTPStatus.OK, trade.to_json())

    return router
