"""The defect classes of issue #12, one block each, with the rule handlers/README.md states for it.

Every reply goes through ``invoke`` (standard headers, request id) and every error through
``assert_error_contract``; the property tests (test_handlers_properties.py) generalize these examples.
"""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from handlers.trades import CLIENT_ORDER_ID_PATTERN
from tests.handlers.lambda_support import assert_error_contract, invoke, rest_event, trade_body, trade_rows

README = Path(__file__).resolve().parents[2] / "handlers" / "README.md"


def _raw_trade(**tokens: str) -> str:
    """A trade body with raw JSON tokens (numbers json.dumps would never write) in some fields."""
    fields = {name: json.dumps(value) for name, value in trade_body("raw-1").items()}
    fields.update(tokens)
    return "{" + ", ".join(f'"{name}": {token}' for name, token in fields.items()) + "}"


# 1. Extreme numbers: every malformed or out-of-range number is a 400, never a 500.


@pytest.mark.parametrize(
    "body",
    [
        _raw_trade(quantity="1e-99999999999999999999"),
        _raw_trade(quantity="1e99999999999999999999"),
        _raw_trade(limit_price="1e-99999999999999999999"),
        _raw_trade(limit_price="1E+99999999999999999999999999"),
        _raw_trade(limit_price="-0"),
        _raw_trade(quantity="9" * 5000),
        _raw_trade(limit_price="1" + "0" * 5000),
        "1e-99999999999999999999",
        "-1e99999999999999999999",
        "[1e999999999999999999999, 1E-999999999999999999999]",
    ],
)
def test_extreme_numbers_are_400(call: Any, db: Any, body: str) -> None:
    reply = call("POST", "/trades", body)
    assert reply.status == 400, reply.body
    assert_error_contract(reply)
    assert trade_rows(db) == []


# 2. client_order_id: 1-64 of A-Z a-z 0-9 . _ : -, the first a letter or digit -- the README says the same.


@pytest.mark.parametrize("client_order_id", ["-abc", ".x", "_x", ":x", "..", "a" * 65, "a b", "é"])
def test_client_order_id_outside_the_rule_is_400(call: Any, db: Any, client_order_id: str) -> None:
    reply = call("POST", "/trades", trade_body(client_order_id))
    assert reply.status == 400
    assert_error_contract(reply)
    details = reply.body["details"]
    assert any("client_order_id must be" in item and "first a letter or digit" in item for item in details)
    assert trade_rows(db) == []


@pytest.mark.parametrize("client_order_id", ["a", "0", "A.-_:z", "9" + "x" * 63])
def test_client_order_id_inside_the_rule_is_stored(call: Any, db: Any, client_order_id: str) -> None:
    assert call("POST", "/trades", trade_body(client_order_id)).status == 201
    assert [row[0] for row in trade_rows(db)] == [client_order_id]


def test_readme_states_the_client_order_id_rule_the_code_applies() -> None:
    assert f"`{CLIENT_ORDER_ID_PATTERN}`" in README.read_text()


# 3. Any path segment in the id position reaches GET /trades/{id}: a bad id is 400, never 405.


@pytest.mark.parametrize(
    "trade_id",
    ["1\x00", "\x01", "1\u00a02", "\u200b1", '"1"', "`1`", "'1'", "<1>", "1 2", "%31", "١٢", "1\t", "\x7f"],
)
def test_odd_trade_ids_are_400(call: Any, db: Any, trade_id: str) -> None:
    reply = call("GET", f"/trades/{trade_id}")
    assert reply.status == 400, (trade_id, reply.body)
    assert_error_contract(reply)
    assert reply.body["message"] == "invalid trade id"


# 4. Paths: one trailing slash is the same resource (API Gateway REST); nothing else is normalized.


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/trades/", 201),
        ("POST", "/trades\n", 404),
        ("POST", "/trades//", 404),
        ("POST", "/trades///", 404),
        ("POST", "//trades", 404),
        ("POST", "/./trades", 404),
        ("POST", "/Trades", 404),
        ("GET", "/health/", 200),
        ("GET", "/health\n", 404),
        ("GET", "/health//", 404),
        ("GET", "//health", 404),
        ("GET", "/trades//1", 404),
        ("GET", "/trades/1//", 404),
    ],
)
def test_one_path_rule(call: Any, db: Any, method: str, path: str, status: int) -> None:
    body = trade_body("path-1") if method == "POST" else None
    reply = call(method, path, body)
    assert reply.status == status, (path, reply.body)
    if status >= 400:
        assert_error_contract(reply)
    assert len(trade_rows(db)) == (1 if status == 201 else 0)


def test_a_trailing_newline_after_an_id_is_part_of_the_id(call: Any, db: Any) -> None:
    created = call("POST", "/trades", trade_body("nl-1"))
    assert call("GET", f"/trades/{created.body['id']}").status == 200
    reply = call("GET", f"/trades/{created.body['id']}\n")
    assert reply.status == 400
    assert_error_contract(reply)


# 5. A price means its value: the same text gets the same answer as a JSON string or a JSON number.


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("187.25", "187.25"),
        ("187.2500000000", "187.25"),
        ("187.25000000000000000000000000000000", "187.25"),
        ("1e2", "100"),
        ("1.5E-7", "0.00000015"),
        ("9999999999.99999999", "9999999999.99999999"),
        ("0.00000001", "0.00000001"),
    ],
)
def test_price_accepted_the_same_as_string_or_number(call: Any, db: Any, text: str, stored: str) -> None:
    as_string = call("POST", "/trades", trade_body("px-s", limit_price=text))
    as_number = call("POST", "/trades", _raw_trade(client_order_id='"px-n"', limit_price=text))
    assert (as_string.status, as_number.status) == (201, 201), (as_string.body, as_number.body)
    assert as_string.body["limit_price"] == as_number.body["limit_price"] == stored
    assert [row[5] for row in trade_rows(db)] == [Decimal(stored)] * 2


@pytest.mark.parametrize(
    "text",
    [
        "0187.25",  # leading zero: not JSON number syntax (as a number token it is not even JSON)
        "187.250000001",  # a ninth significant decimal
        "10000000000",  # eleven integer digits
        "0.000000001",
        "0",
        "0.000",
        "-1",
        "+1",
        "1.",
        ".5",
        "1e",
        "Infinity",
        "NaN",
    ],
)
def test_price_refused_the_same_as_string_or_number(call: Any, db: Any, text: str) -> None:
    as_string = call("POST", "/trades", trade_body("px-s", limit_price=text))
    as_number = call("POST", "/trades", _raw_trade(limit_price=text))
    assert (as_string.status, as_number.status) == (400, 400)
    assert_error_contract(as_string)
    assert_error_contract(as_number)
    assert trade_rows(db) == []


def test_a_replay_matches_by_price_value_whatever_the_spelling(call: Any, db: Any) -> None:
    assert call("POST", "/trades", trade_body("px-r", limit_price="100")).status == 201
    assert call("POST", "/trades", _raw_trade(client_order_id='"px-r"', limit_price="1.000e2")).status == 200
    assert call("POST", "/trades", trade_body("px-r", limit_price="100.000000000")).status == 200
    assert len(trade_rows(db)) == 1


# 6. One error contract; transfer encoding, BOM, charset and method rules.


@pytest.mark.parametrize(
    ("body", "kwargs"),
    [
        ("{", {}),
        ('{"symbol": "A", "symbol": "B"}', {}),
        ("", {}),
        ("not base64", {"is_base64": True}),
        ('"just a string"', {}),
        (json.dumps(trade_body("x", quantity="1")), {}),
    ],
)
def test_every_400_lists_its_problems(call: Any, db: Any, body: str, kwargs: dict[str, Any]) -> None:
    reply = call("POST", "/trades", body, **kwargs)
    assert reply.status == 400
    assert_error_contract(reply)


@pytest.mark.parametrize("flag", [False, "false", "False", None])
def test_is_base64_encoded_false_in_any_spelling_reads_the_body_as_text(call: Any, db: Any, flag: Any) -> None:
    assert call("POST", "/trades", trade_body("b64-f"), is_base64=flag).status == 201


@pytest.mark.parametrize("flag", [True, "true", "TRUE"])
def test_is_base64_encoded_true_in_any_spelling_decodes_the_body(call: Any, db: Any, flag: Any) -> None:
    encoded = base64.b64encode(json.dumps(trade_body("b64-t")).encode()).decode()
    assert call("POST", "/trades", encoded, is_base64=flag).status == 201


def test_a_leading_byte_order_mark_is_ignored(call: Any, db: Any) -> None:
    assert call("POST", "/trades", "\ufeff" + json.dumps(trade_body("bom-1"))).status == 201
    encoded = base64.b64encode(b"\xef\xbb\xbf" + json.dumps(trade_body("bom-2")).encode()).decode()
    assert call("POST", "/trades", encoded, is_base64=True).status == 201
    assert [row[0] for row in trade_rows(db)] == ["bom-1", "bom-2"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/json;charset=UTF-8", 'application/json; charset="utf8"'],
)
def test_utf8_charset_is_accepted(call: Any, db: Any, content_type: str) -> None:
    reply = call("POST", "/trades", trade_body("cs-1"), headers={"Content-Type": content_type})
    assert reply.status == 201


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=latin-1", "application/json; charset=utf-16", "application/json; charset="],
)
def test_another_charset_is_415(call: Any, db: Any, content_type: str) -> None:
    reply = call("POST", "/trades", trade_body("cs-2"), headers={"Content-Type": content_type})
    assert reply.status == 415
    assert_error_contract(reply)
    assert trade_rows(db) == []


@pytest.mark.parametrize(("method", "path"), [("post", "/trades"), ("Post", "/trades"), ("get", "/health")])
def test_methods_are_case_sensitive(call: Any, db: Any, method: str, path: str) -> None:
    reply = call(method, path, trade_body("lc-1") if method.upper() == "POST" else None)
    assert reply.status == 405
    assert_error_contract(reply)
    assert trade_rows(db) == []


# 7. Events that are not well formed never raise out of the handler.


def _event(**changes: Any) -> dict[str, Any]:
    event = rest_event("POST", "/trades", json.dumps(trade_body("ev-1")))
    for name, value in changes.items():
        if value is _DROP:
            event.pop(name, None)
        else:
            event[name] = value
    return event


_DROP = object()


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"headers": None, "multiValueHeaders": None}, 415),
        ({"headers": _DROP, "multiValueHeaders": _DROP}, 415),
        ({"headers": {"Content-Type": 7}, "multiValueHeaders": None}, 415),
        ({"headers": {"Content-Type": ["application/json"]}, "multiValueHeaders": {"Content-Type": [None]}}, 415),
        ({"headers": None, "multiValueHeaders": {"Content-Type": ["text/plain", "application/json"]}}, 201),
        ({"headers": [("Content-Type", "application/json")]}, 201),  # the multi-value form still counts
        ({"requestContext": _DROP}, 201),
        ({"requestContext": "ctx"}, 201),
        ({"requestContext": {"requestId": 5}}, 201),
        ({"queryStringParameters": "a=b", "pathParameters": 3, "stageVariables": [1]}, 201),
    ],
)
def test_odd_but_usable_events_are_answered(api_module: Any, db: Any, changes: dict[str, Any], status: int) -> None:
    reply = invoke(api_module.handler, _event(**changes))
    assert reply.status == status, reply.body
    if status >= 400:
        assert_error_contract(reply)


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "GET /health",
        42,
        {},
        {"httpMethod": "GET"},
        {"path": "/health"},
        {"httpMethod": 1, "path": "/health"},
        {"httpMethod": "GET", "path": ["/health"]},
        {"httpMethod": "POST", "path": "/trades", "body": {"a": 1}},
        {"httpMethod": "POST", "path": "/trades", "body": "{}", "isBase64Encoded": "maybe"},
        {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]},
    ],
)
def test_an_event_that_is_not_an_api_gateway_request_gets_one_error_line(
    api_module: Any, db: Any, caplog: pytest.LogCaptureFixture, event: Any
) -> None:
    caplog.clear()
    reply = invoke(api_module.handler, event)
    assert reply.status == 400
    assert_error_contract(reply)
    assert reply.body["message"] == "the event is not an API Gateway REST proxy request"
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.getMessage() for record in errors] == ["not an API Gateway REST proxy event"]
    assert getattr(errors[0], "problem", None) == reply.body["details"][0]


# 8. Response headers and HEAD.


def test_every_response_names_the_request(api_module: Any, db: Any) -> None:
    event = rest_event("GET", "/trades/abc")
    reply = invoke(api_module.handler, event)
    assert reply.headers["x-request-id"] == event["requestContext"]["requestId"]
    # Without API Gateway's id (a direct invocation) the Lambda request id stands in.
    event["requestContext"] = {}
    assert invoke(api_module.handler, event).headers["x-request-id"]


def test_head_answers_like_get_without_a_body(call: Any, db: Any) -> None:
    created = call("POST", "/trades", trade_body("head-1"))
    for path, status in ((f"/trades/{created.body['id']}", 200), ("/trades/999999", 404), ("/health", 200)):
        get, head = call("GET", path), call("HEAD", path)
        assert (get.status, head.status) == (status, status)
        assert head.raw["body"] == "" and get.raw["body"]
        assert {k: v for k, v in head.headers.items() if k != "x-request-id"} == {
            k: v for k, v in get.headers.items() if k != "x-request-id"
        }


def test_error_bodies_carry_no_internal_detail(call: Any, db: Any) -> None:
    for reply in (call("GET", "/nope"), call("POST", "/trades", "{"), call("GET", "/trades/x")):
        assert_error_contract(reply)
        assert not re.search(r"File \"|line \d+, in|pymysql|Traceback", reply.raw["body"])
