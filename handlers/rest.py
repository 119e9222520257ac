"""The REST routes (API Gateway REST, Lambda proxy integration) and how every outcome maps to a response.

Routes return JSON bodies only. Errors are ``{"error": <code>, "message": <text>}`` (plus ``details`` for
validation problems); no stack trace or database message ever reaches a client, they go to the log.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from handlers.db import Database, DatabaseFailure, DatabaseRejected, DatabaseUnavailable
from handlers.observability import logger
from handlers.store import TradeStore
from handlers.trades import InvalidRequest, parse_trade_body

RETRY_AFTER_SECONDS = 2
MAX_TRADE_ID = 2**63 - 1
_TRADE_ID = re.compile(r"[1-9][0-9]{0,18}")
# Which methods each known path accepts, so a wrong method gets 405 with an Allow header instead of 404.
# Trailing slashes are ignored, as the REST resolver does when it matches routes.
_ALLOWED_METHODS = (
    (re.compile(r"/trades/*"), "POST"),
    (re.compile(r"/trades/[^/]+/*"), "GET"),
    (re.compile(r"/health/*"), "GET"),
)


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    headers = extra.pop("headers", None)
    return Response(
        status_code=int(status),  # a plain int in the proxy response, not an HTTPStatus member
        content_type=content_types.APPLICATION_JSON,
        body={"error": code, "message": message, **extra},
        headers=headers,
    )


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def create_app(store: TradeStore, database: Database, base_path: str | None = None) -> APIGatewayRestResolver:
    """A resolver bound to one store; one per execution environment (the resolver keeps per-request state)."""
    app = APIGatewayRestResolver(strip_prefixes=[base_path] if base_path else None)

    @app.post("/trades")
    def post_trade() -> Response:
        event = app.current_event
        order = parse_trade_body(event.body, event.is_base64_encoded, event.headers.get("content-type"))
        result = store.submit(order)
        trade = result.trade
        if result.conflict:
            logger.info(
                "client order id reused", extra={"client_order_id": order.client_order_id, "trade_id": trade.id}
            )
            return error_response(
                HTTPStatus.CONFLICT,
                "conflict",
                "client_order_id was already used for a different trade",
                trade_id=trade.id,
            )
        # DEBUG, not INFO: the row is the record and API Gateway's access log has every request; a JSON log
        # line per trade would cost about as much CPU as the rest of the handler (see bench/handlers_bench.py).
        outcome = "created" if result.created else "replayed"
        logger.debug(f"trade {outcome}", extra={"client_order_id": order.client_order_id, "trade_id": trade.id})
        if result.created:
            return json_response(HTTPStatus.CREATED, trade.to_json(), {"Location": f"/trades/{trade.id}"})
        return json_response(HTTPStatus.OK, trade.to_json())

    @app.get("/trades/<trade_id>")
    def get_trade(trade_id: str) -> Response:
        if not _TRADE_ID.fullmatch(trade_id) or int(trade_id) > MAX_TRADE_ID:
            return error_response(HTTPStatus.BAD_REQUEST, "invalid_request", "the trade id must be a positive integer")
        trade = store.get(int(trade_id))
        if trade is None:
            return error_response(HTTPStatus.NOT_FOUND, "not_found", f"trade {trade_id} does not exist")
        return json_response(HTTPStatus.OK, trade.to_json())

    @app.get("/health")
    def health() -> Response:
        return json_response(HTTPStatus.OK, {"status": "ok", "database": database.ping()})

    @app.not_found
    def no_route(_: NotFoundError) -> Response:
        event = app.current_event
        path = event.path
        if base_path and path.startswith(base_path + "/"):
            path = path[len(base_path) :]
        allowed = [method for pattern, method in _ALLOWED_METHODS if pattern.fullmatch(path)]
        if allowed:
            return error_response(
                HTTPStatus.METHOD_NOT_ALLOWED,
                "method_not_allowed",
                f"{event.http_method} is not allowed here; use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        return error_response(HTTPStatus.NOT_FOUND, "not_found", "no such route")

    @app.exception_handler(InvalidRequest)
    def invalid_request(exc: InvalidRequest) -> Response:
        extra: dict[str, Any] = {"details": exc.details} if exc.details else {}
        code = {413: "payload_too_large", 415: "unsupported_media_type"}.get(exc.status, "invalid_request")
        return error_response(exc.status, code, str(exc), **extra)

    @app.exception_handler(DatabaseUnavailable)
    def unavailable(exc: DatabaseUnavailable) -> Response:
        logger.warning("database unavailable", extra={"reason": str(exc)})
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "service_unavailable",
            f"the trade database is temporarily unavailable; retry in {RETRY_AFTER_SECONDS} seconds",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(DatabaseRejected)
    def rejected(exc: DatabaseRejected) -> Response:
        logger.warning("database refused the row", extra={"reason": str(exc)})
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "rejected", "the trade violates a database constraint")

    @app.exception_handler(DatabaseFailure)
    def failure(exc: DatabaseFailure) -> Response:
        logger.error("database failure", extra={"reason": str(exc)})
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal error")

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response:
        # Last resort: the stack trace goes to the log, the client gets a plain JSON 500 (never the trace).
        logger.exception("unhandled error")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal error")

    return app
