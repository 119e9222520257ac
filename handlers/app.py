"""The REST resolver of the trades API: how paths and methods match, and how every outcome becomes a response.

Powertools' ``APIGatewayRestResolver`` does the routing, with three rules of this API on top
(docs/decisions/0009-api-input-rules.md):

- Paths match as a whole, segment by segment: a ``<placeholder>`` is one segment of any characters but ``/``
  (so every trade id reaches its route and gets the documented 400), one trailing slash is the same resource
  (API Gateway REST APIs route ``/trades/`` to ``/trades``), and an empty segment never matches. Powertools'
  own pattern ends in ``$``, which also matches before a trailing newline (``/trades\\n`` reached the route).
- Methods are case-sensitive (RFC 9110 section 9.1): Powertools upper-cases them, so ``get`` was routed as GET.
- Anything that reaches no route gets 404, or 405 with ``Allow`` when the path exists.

``TradesResolver.resolve`` is the one place every response passes: the event is checked and normalized first
(handlers/gateway.py), nothing raises out of it, and every response gets the standard headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from handlers.db import Database, DatabaseFailure, DatabaseRejected, DatabaseUnavailable
from handlers.errors import ApiError, error_body, unavailable
from handlers.gateway import MalformedEvent, finish, normalize_event, proxy_response, request_id
from handlers.observability import logger
from handlers.powertools import APIGatewayRestResolver, EphemeralMetrics, JsonResponse, NotFoundError
from handlers.routes import ROUTES, json_response
from handlers.routes.health import health_router
from handlers.routes.trades import trades_router
from handlers.store import TradeStore

_PLACEHOLDER = re.compile(r"<(\w+)>")


def route_pattern(rule: str) -> re.Pattern[str]:
    """The whole-path pattern of a route rule (see the module docstring); ``\\Z`` because ``$`` allows a newline."""
    return re.compile(r"\A" + _PLACEHOLDER.sub(r"(?P<\1>[^/]+)", rule.rstrip("/")) + r"/?\Z")


_ROUTE_PATTERNS = tuple((route_pattern(rule), methods) for rule, methods in ROUTES.items())
_ROUTE_LIST = "routes: " + ", ".join(
    f"{'/'.join(methods)} {rule.replace('<', '{').replace('>', '}')}" for rule, methods in ROUTES.items()
)


class TradesResolver(APIGatewayRestResolver):
    """The REST resolver with this API's path and method rules and its front door."""

    def __init__(self, base_path: str | None = None) -> None:
        super().__init__(strip_prefixes=[base_path] if base_path else None)
        self._base_path = base_path

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "") -> re.Pattern[str]:
        # The hook APIGatewayRestResolver itself overrides to adapt route matching (Powertools 3.x, pinned).
        return route_pattern(rule)

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        try:
            clean = normalize_event(event)
        except MalformedEvent as exc:
            logger.error("not an API Gateway REST proxy event", extra={"problem": str(exc)})
            error = ApiError(HTTPStatus.BAD_REQUEST, "the event is not an API Gateway REST proxy request", [str(exc)])
            return finish(proxy_response(error.status, error.body()), request_id(event, context), head=False)
        method = clean["httpMethod"]
        try:
            if method != method.upper():
                error = self.no_route(method, clean["path"])
                response = proxy_response(error.status, error.body(), error.headers)
            else:
                response = super().resolve(clean, context)
        except Exception:
            # The resolver's own machinery failed (route errors are handled below): never a raise out of here,
            # which API Gateway would turn into a bare 502.
            logger.exception("unhandled error outside the routes")
            response = proxy_response(HTTPStatus.INTERNAL_SERVER_ERROR, error_body(500, "internal error"))
        return finish(response, request_id(clean, context), head=method == "HEAD")

    def no_route(self, method: str, path: str) -> ApiError:
        """404, or 405 with ``Allow`` when the path is a route that takes other methods."""
        if self._base_path and (path == self._base_path or path.startswith(self._base_path + "/")):
            path = path[len(self._base_path) :] or "/"
        allowed = [listed for pattern, methods in _ROUTE_PATTERNS if pattern.match(path) for listed in methods]
        if not allowed:
            return ApiError(HTTPStatus.NOT_FOUND, "no such route", [_ROUTE_LIST])
        return ApiError(
            HTTPStatus.METHOD_NOT_ALLOWED,
            f"this path accepts {', '.join(allowed)} only",
            ["methods are case-sensitive"],
            headers={"Allow": ", ".join(allowed)},
        )


def create_app(
    store: TradeStore, database: Database, metrics: EphemeralMetrics, base_path: str | None = None
) -> TradesResolver:
    """A resolver bound to one store; one per execution environment (the resolver keeps per-request state)."""
    app = TradesResolver(base_path)
    app.include_router(trades_router(store, metrics))
    app.include_router(health_router(database))

    def no_route(_: NotFoundError) -> JsonResponse:
        return _response(app.no_route(app.current_event.http_method, app.current_event.path))

    # Registered by call, not as decorators: Powertools' decorators are untyped and would erase these types.
    app.not_found(no_route)
    for exception_class, respond in _EXCEPTION_RESPONSES:
        app.exception_handler(exception_class)(respond)
    return app


def _api_error(exc: ApiError) -> JsonResponse:
    return _response(exc)


def _database_unavailable(exc: DatabaseUnavailable) -> JsonResponse:
    logger.warning("database unavailable", extra={"reason": str(exc)})
    return _response(unavailable())


def _database_rejected(exc: DatabaseRejected) -> JsonResponse:
    logger.warning("database refused the row", extra={"reason": str(exc)})
    return _response(ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, "the trade violates a database constraint"))


def _database_failure(exc: DatabaseFailure) -> JsonResponse:
    logger.error("database failure", extra={"reason": str(exc)})
    return _response(ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error"))


def _unexpected(exc: Exception) -> JsonResponse:
    # Last resort: the stack trace goes to the log, the client gets a plain JSON 500 (never the trace).
    logger.exception("unhandled error")
    return _response(ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error"))


# Powertools picks the handler of the raised exception's nearest class (its MRO), whatever the order here.
_EXCEPTION_RESPONSES: tuple[tuple[type[Exception], Callable[[Any], JsonResponse]], ...] = (
    (ApiError, _api_error),
    (DatabaseUnavailable, _database_unavailable),
    (DatabaseRejected, _database_rejected),
    (DatabaseFailure, _database_failure),
    (Exception, _unexpected),
)


def _response(error: ApiError) -> JsonResponse:
    return json_response(error.status, error.body(), error.headers or None)
