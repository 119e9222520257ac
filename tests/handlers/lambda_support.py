"""Helpers for the handler tests: proxy events, a fake Lambda context, replies, the one error-contract check."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pymysql

REGION = "us-east-1"
SESSION_TOKEN = "test-session-token"
METRICS_NAMESPACE = "trading-test"
ERROR_CODES = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "rejected",
    500: "internal_error",
    503: "service_unavailable",
}
STANDARD_HEADERS = {
    "content-type": "application/json",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}


@dataclass
class FakeContext:
    """The attributes of the Lambda context object that Powertools and the handler read."""

    function_name: str = "trades-api-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:trades-api-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str]
    raw: dict[str, Any]


def rest_event(
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    is_base64: Any = False,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) Lambda proxy event, as API Gateway sends it."""
    if headers is None:
        headers = {"Content-Type": "application/json"} if body is not None else {}
    request_id = str(uuid.uuid4())
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "stage": "dev",
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/dev{path}",
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "identity": {"sourceIp": "203.0.113.10"},
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def invoke(handler: Callable[[Any, Any], dict[str, Any]], event: Any, context: FakeContext | None = None) -> Reply:
    """Call a handler as Lambda does and check what every response must be, whatever the event."""
    raw = handler(event, context or FakeContext())
    assert isinstance(raw, dict) and type(raw.get("statusCode")) is int, raw  # plain int, JSON-safe
    json.dumps(raw)  # the runtime serializes the response: it must be JSON
    headers = {name.lower(): values[-1] for name, values in (raw.get("multiValueHeaders") or {}).items()}
    headers.update({name.lower(): value for name, value in (raw.get("headers") or {}).items()})
    for name, value in STANDARD_HEADERS.items():
        assert headers.get(name) == value, (name, headers)
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    expected_id = request_context.get("requestId") if isinstance(request_context, dict) else None
    if isinstance(expected_id, str):
        assert headers.get("x-request-id") == expected_id, headers
    else:
        assert headers.get("x-request-id"), headers
    text = raw.get("body") or ""
    body = json.loads(text) if text else None
    return Reply(status=raw["statusCode"], body=body, headers=headers, raw=raw)


def assert_error_contract(reply: Reply) -> None:
    """The one error contract (handlers/README.md): the same body shape for every error status."""
    assert reply.status in ERROR_CODES, reply
    body = reply.body
    assert isinstance(body, dict), reply
    extra = {"trade_id"} if reply.status == 409 else set()
    assert set(body) == {"error", "message", "details"} | extra, body
    assert body["error"] == ERROR_CODES[reply.status], body
    assert isinstance(body["message"], str) and body["message"] and "\n" not in body["message"], body
    assert isinstance(body["details"], list) and all(isinstance(item, str) and item for item in body["details"]), body
    if reply.status == 400:
        assert body["details"], body  # a 400 always says what is wrong
    if reply.status == 409:
        assert type(body["trade_id"]) is int, body
    if reply.status == 405:
        assert reply.headers.get("allow"), reply.headers
    if reply.status == 503:
        assert reply.headers.get("retry-after") == "2", reply.headers
    assert "Traceback" not in reply.raw["body"] and "pymysql" not in reply.raw["body"].lower(), reply.raw["body"]


def trade_body(client_order_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_order_id": client_order_id,
        "symbol": "AAPL",
        "side": "BUY",
        "order_type": "LIMIT",
        "quantity": 100,
        "limit_price": "187.25",
    }
    body.update(overrides)
    return body


def trade_rows(connection: pymysql.connections.Connection) -> list[tuple[Any, ...]]:
    """Every stored trade, in id order, as (client_order_id, symbol, side, order_type, quantity, limit_price)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_order_id, symbol, side, order_type, quantity, limit_price FROM trades ORDER BY id"
        )
        return list(cursor.fetchall())


T = TypeVar("T")


def run_concurrently(call: Callable[[], T], count: int = 4, timeout: float = 60) -> list[T]:
    """``call``'s results from ``count`` threads started together; fails with every error any of them raised."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as exc:  # asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not errors, errors
    return results


def emf_documents(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The CloudWatch Embedded Metric Format documents among printed lines (JSON objects with an ``_aws`` key)."""
    documents = []
    for line in lines:
        line = line.strip()
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents
