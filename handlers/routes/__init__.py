"""The API's routes: the one table of paths and methods, and what every route module shares.

Paths use Powertools' ``<name>`` placeholders; ``handlers.app`` turns them into the matching rule (one path
segment per placeholder, one optional trailing slash) and answers 404/405 from this same table.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from handlers.deadline import Deadline
from handlers.powertools import JsonResponse, Response, Router, content_types

TRADES = "/trades"
TRADE = "/trades/<trade_id>"
HEALTH = "/health"
# HEAD is answered wherever GET is (RFC 9110 section 9.3.2), with the same status and headers and no body.
ROUTES: dict[str, tuple[str, ...]] = {
    TRADES: ("POST",),
    TRADE: ("GET", "HEAD"),
    HEALTH: ("GET", "HEAD"),
}


def json_response(status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None) -> JsonResponse:
    # A plain int status in the proxy response, not an HTTPStatus member.
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def request_deadline(router: Router) -> Deadline:
    """When the current request's database work must be done (handlers/deadline.py)."""
    return Deadline.for_request(router.current_event.raw_event, router.lambda_context)
