"""Helpers for the handler tests: API Gateway REST proxy events, a fake Lambda context, row queries."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pymysql

REGION = "us-east-1"


@dataclass
class FakeContext:
    """The attributes of the Lambda context object that Powertools' Logger reads."""

    function_name: str = "trades-api-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:trades-api-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


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
    is_base64: bool = False,
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


def invoke(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]) -> Reply:
    raw = handler(event, FakeContext())
    assert isinstance(raw, dict) and type(raw.get("statusCode")) is int, raw  # plain int, JSON-safe
    headers = {name.lower(): values[-1] for name, values in (raw.get("multiValueHeaders") or {}).items()}
    headers.update({name.lower(): value for name, value in (raw.get("headers") or {}).items()})
    text = raw.get("body") or ""
    body = json.loads(text) if text else None
    return Reply(status=raw["statusCode"], body=body, headers=headers, raw=raw)


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
