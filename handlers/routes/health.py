"""``GET /health``: both database endpoints answer a COM_PING (the reader is the writer when none is configured)."""

from __future__ import annotations

from http import HTTPStatus

from handlers.db import Database
from handlers.errors import unavailable
from handlers.observability import logger
from handlers.powertools import JsonResponse, Router
from handlers.routes import HEALTH, ROUTES, json_response, request_deadline


def health_router(database: Database) -> Router:
    router = Router()

    @router.route(HEALTH, method=list(ROUTES[HEALTH]))
    def health() -> JsonResponse:
        problems = database.ping(request_deadline(router))
        problems.setdefault("reader", problems["writer"])  # no DB_READER_HOST: reads go to the writer
        down = [role for role, problem in problems.items() if problem is not None]
        for role in down:
            logger.warning("database unavailable", extra={"role": role, "reason": problems[role]})
        if down:
            raise unavailable("the trade database is unavailable", [f"{role}: unavailable" for role in down])
        status = {"writer": "ok", "reader": "ok", "reader_is_writer": database.reader is None}
        return json_response(HTTPStatus.OK, {"status": "ok", "database": status})

    return router
