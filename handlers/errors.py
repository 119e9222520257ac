"""The one error contract of the trades API: every error response has the same body shape.

``{"error": <code>, "message": <one sentence>, "details": [<one line per problem>, ...]}`` — ``details`` is always a
list (empty when there is nothing more to say). ``error`` follows from the status (one code per status), so a
client can branch on either. The only extra field is ``trade_id`` on 409, naming the trade that holds the client
order id. No stack trace, SQL or database message ever appears in a body; those go to the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

ERROR_CODES: dict[int, str] = {
    HTTPStatus.BAD_REQUEST: "invalid_request",
    HTTPStatus.NOT_FOUND: "not_found",
    HTTPStatus.METHOD_NOT_ALLOWED: "method_not_allowed",
    HTTPStatus.CONFLICT: "conflict",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    HTTPStatus.UNPROCESSABLE_ENTITY: "rejected",
    HTTPStatus.INTERNAL_SERVER_ERROR: "internal_error",
    HTTPStatus.SERVICE_UNAVAILABLE: "service_unavailable",
}
RETRY_AFTER_SECONDS = 2


class ApiError(Exception):
    """A request that ends in an error response; raised anywhere below the routes, rendered in one place."""

    def __init__(
        self,
        status: HTTPStatus,
        message: str,
        details: Sequence[str] = (),
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message)
        self.status = HTTPStatus(status)
        self.message = message
        self.details = list(details)
        self.headers = headers or {}
        self.fields = fields

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, self.details, **self.fields)


def error_body(status: int, message: str, details: Sequence[str] = (), **fields: Any) -> dict[str, Any]:
    """The JSON body of an error response (see the module docstring)."""
    return {"error": ERROR_CODES[status], "message": message, "details": list(details), **fields}


def unavailable(reason: str = "the trade database is temporarily unavailable", details: Sequence[str] = ()) -> ApiError:
    """503 with ``Retry-After``: the client should send the same request again (it is idempotent)."""
    return ApiError(
        HTTPStatus.SERVICE_UNAVAILABLE,
        f"{reason}; retry in {RETRY_AFTER_SECONDS} seconds",
        details,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
