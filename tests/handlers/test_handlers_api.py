"""Every route and status of ``handlers.api.handler`` against the real MariaDB, with the rows asserted."""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from typing import Any

import pytest

from tests.handlers.lambda_support import assert_error_contract, invoke, rest_event, trade_body, trade_rows

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def test_post_creates_trade_and_returns_201(call: Any, db: Any) -> None:
    reply = call("POST", "/trades", trade_body("ord-1", limit_price="187.2500"))

    assert reply.status == 201
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["location"] == f"/trades/{reply.body['id']}"
    body = reply.body
    assert isinstance(body["id"], int) and body["id"] > 0
    assert {key: body[key] for key in body if key not in ("id", "created_at")} == {
        "client_order_id": "ord-1",
        "symbol": "AAPL",
        "side": "BUY",
        "order_type": "LIMIT",
        "quantity": 100,
        "limit_price": "187.25",
    }
    assert ISO_UTC.fullmatch(body["created_at"])
    assert trade_rows(db) == [("ord-1", "AAPL", "BUY", "LIMIT", 100, Decimal("187.25000000"))]


def test_price_is_exact_decimal_never_float(call: Any, db: Any) -> None:
    # 0.1 + 0.2 style values survive exactly, whether sent as JSON text or as a JSON number.
    as_text = call("POST", "/trades", trade_body("p-text", limit_price="0.30000001"))
    as_number = call(
        "POST",
        "/trades",
        '{"client_order_id": "p-num", "symbol": "X", "side": "SELL", '
        '"order_type": "MARKET", "quantity": 1, "limit_price": 9999999999.99999999}',
    )
    assert (as_text.status, as_number.status) == (201, 201)
    assert as_text.body["limit_price"] == "0.30000001"
    assert as_number.body["limit_price"] == "9999999999.99999999"
    assert [row[5] for row in trade_rows(db)] == [Decimal("0.30000001"), Decimal("9999999999.99999999")]


def test_replay_of_same_order_returns_200_with_stored_trade(call: Any, db: Any) -> None:
    first = call("POST", "/trades", trade_body("ord-2"))
    # Same content, price written differently: the same order by value.
    again = call("POST", "/trades", trade_body("ord-2", limit_price=Decimal("187.250")))

    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    assert "location" not in again.headers
    assert len(trade_rows(db)) == 1


@pytest.mark.parametrize(
    "change",
    [{"quantity": 101}, {"side": "SELL"}, {"symbol": "MSFT"}, {"limit_price": "187.26"}, {"order_type": "MARKET"}],
)
def test_same_client_order_id_with_different_content_is_409(call: Any, db: Any, change: dict[str, Any]) -> None:
    first = call("POST", "/trades", trade_body("ord-3"))
    clash = call("POST", "/trades", trade_body("ord-3", **change))

    assert first.status == 201
    assert clash.status == 409
    assert_error_contract(clash)
    assert clash.body["message"] == "client_order_id was already used for a different trade"
    assert clash.body["trade_id"] == first.body["id"]
    assert trade_rows(db) == [("ord-3", "AAPL", "BUY", "LIMIT", 100, Decimal("187.25000000"))]


def test_client_order_id_is_case_sensitive(call: Any, db: Any) -> None:
    assert call("POST", "/trades", trade_body("Ord-4")).status == 201
    assert call("POST", "/trades", trade_body("ord-4", quantity=5)).status == 201
    assert [row[0] for row in trade_rows(db)] == ["Ord-4", "ord-4"]


def test_get_returns_the_stored_trade(call: Any, db: Any) -> None:
    created = call("POST", "/trades", trade_body("ord-5", side="SELL", quantity=7, limit_price="0.00000001"))
    reply = call("GET", f"/trades/{created.body['id']}", path_parameters={"trade_id": str(created.body["id"])})

    assert reply.status == 200
    assert reply.body == created.body
    assert reply.body["limit_price"] == "0.00000001"


def test_get_unknown_trade_is_404(call: Any, db: Any) -> None:
    reply = call("GET", "/trades/999999")
    assert reply.status == 404
    assert_error_contract(reply)
    assert reply.body["message"] == "trade 999999 does not exist"


@pytest.mark.parametrize("trade_id", ["abc", "0", "-1", "1.5", "01", "9223372036854775808", "1e3", "%20"])
def test_get_with_malformed_id_is_400(call: Any, db: Any, trade_id: str) -> None:
    reply = call("GET", f"/trades/{trade_id}")
    assert reply.status == 400
    assert_error_contract(reply)
    assert reply.body["message"] == "invalid trade id"


def test_health_reports_writer_and_reader(call: Any) -> None:
    reply = call("GET", "/health")
    assert reply.status == 200
    # No DB_READER_HOST: the reader is the writer, and the answer says so.
    assert reply.body == {"status": "ok", "database": {"writer": "ok", "reader": "ok", "reader_is_writer": True}}


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/nope", 404, None),
        ("POST", "/trades/1", 405, "GET, HEAD"),
        ("DELETE", "/trades/1", 405, "GET, HEAD"),
        ("GET", "/trades", 405, "POST"),
        ("PUT", "/trades", 405, "POST"),
        ("HEAD", "/trades", 405, "POST"),
        ("POST", "/health", 405, "GET, HEAD"),
        ("DELETE", "/trades/", 405, "POST"),
        ("PUT", "/trades/7/", 405, "GET, HEAD"),
        ("OPTIONS", "/health", 405, "GET, HEAD"),
        ("GET", "/trades/1/extra", 404, None),
        ("GET", "/", 404, None),
    ],
)
def test_unknown_routes_and_methods(call: Any, db: Any, method: str, path: str, status: int, allow: str | None) -> None:
    reply = call(method, path, "{}" if method in ("POST", "PUT") else None)
    assert reply.status == status
    if method != "HEAD":
        assert_error_contract(reply)
    assert reply.headers.get("allow") == allow
    assert trade_rows(db) == []


def _details(reply: Any) -> list[str]:
    assert_error_contract(reply)
    return list(reply.body["details"])


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("", "the request body is empty"),
        ("   ", "the request body is empty"),
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
        ("{", "not valid JSON"),
        ('{"client_order_id": NaN}', "not valid JSON"),
        ('{"limit_price": Infinity}', "not valid JSON"),
        ('{"quantity": ' + "9" * 5000 + "}", "quantity must be a JSON integer"),
        ("[" * 5_000 + "]" * 5_000, "not valid JSON"),  # deeper than the parser's recursion limit
        ('{"symbol": "A", "symbol": "B"}', 'duplicate key "symbol"'),
    ],
)
def test_malformed_json_is_400(call: Any, db: Any, body: str, fragment: str) -> None:
    reply = call("POST", "/trades", body)
    assert reply.status == 400, reply.body
    assert fragment in reply.body["message"] + " ".join(_details(reply))
    assert trade_rows(db) == []


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"side": "buy"}, "side must be `BUY` or `SELL`"),
        ({"side": None}, "side must be"),
        ({"order_type": "STOP"}, "order_type must be"),
        ({"symbol": "aapl"}, "symbol must be"),
        ({"symbol": "AAPL\n"}, "symbol must be"),
        ({"symbol": "A" * 13}, "symbol must be"),
        ({"client_order_id": ""}, "client_order_id must be"),
        ({"client_order_id": "x" * 65}, "client_order_id must be"),
        ({"client_order_id": 12}, "client_order_id must be"),
        ({"quantity": 0}, "quantity must be"),
        ({"quantity": -5}, "quantity must be"),
        ({"quantity": 1.5}, "quantity must be"),
        ({"quantity": "10"}, "quantity must be"),
        ({"quantity": True}, "quantity must be"),
        ({"quantity": 1_000_000_001}, "quantity must be"),
        ({"limit_price": "0"}, "limit_price must be"),
        ({"limit_price": "-1.00"}, "limit_price must be"),
        ({"limit_price": "0187.25"}, "limit_price must be"),
        ({"limit_price": " 1.5"}, "limit_price must be"),
        ({"limit_price": "1.123456789"}, "limit_price must be"),
        ({"limit_price": "10000000000"}, "limit_price must be"),
        ({"limit_price": [1]}, "limit_price must be"),
        ({"limit_price": False}, "limit_price must be"),
        ({"extra": 1}, 'unknown fields: "extra"'),
    ],
)
def test_invalid_fields_are_400_with_details(call: Any, db: Any, change: dict[str, Any], detail: str) -> None:
    reply = call("POST", "/trades", {**trade_body("bad-1"), **change})
    assert reply.status == 400
    assert any(detail in item for item in _details(reply)), reply.body
    assert trade_rows(db) == []


def test_number_precision_is_refused_not_rounded(call: Any, db: Any) -> None:
    # 29 significant digits: Decimal's default context would round this to 1.
    body = (
        '{"client_order_id": "r", "symbol": "A", "side": "BUY", "order_type": "LIMIT", "quantity": 1, '
        '"limit_price": 1.0000000000000000000000000001}'
    )
    reply = call("POST", "/trades", body)
    assert reply.status == 400
    assert trade_rows(db) == []


def test_missing_fields_are_listed(call: Any, db: Any) -> None:
    reply = call("POST", "/trades", {"symbol": "AAPL"})
    assert reply.status == 400
    assert "missing fields: client_order_id, side, order_type, quantity, limit_price" in _details(reply)


def test_base64_body_is_decoded(call: Any, db: Any) -> None:
    # API Gateway base64-encodes a body whose type matches one of the API's binary media types.
    encoded = base64.b64encode(json.dumps(trade_body("b64")).encode()).decode()
    reply = call("POST", "/trades", encoded, is_base64=True)
    assert reply.status == 201
    assert [row[0] for row in trade_rows(db)] == ["b64"]


@pytest.mark.parametrize(("body", "fragment"), [("not base64!", "not valid base64"), ("/w==", "not UTF-8")])
def test_bad_base64_body_is_400(call: Any, db: Any, body: str, fragment: str) -> None:
    reply = call("POST", "/trades", body, is_base64=True)
    assert reply.status == 400
    assert fragment in reply.body["message"]
    assert _details(reply)
    assert trade_rows(db) == []


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_415(call: Any, db: Any, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    reply = call("POST", "/trades", trade_body("ct"), headers=headers)
    assert reply.status == 415
    assert_error_contract(reply)
    assert trade_rows(db) == []


def test_content_type_with_charset_and_any_case_is_accepted(call: Any, db: Any) -> None:
    reply = call("POST", "/trades", trade_body("ct-ok"), headers={"content-type": "Application/JSON; charset=utf-8"})
    assert reply.status == 201


def test_oversized_body_is_413(call: Any, db: Any) -> None:
    reply = call("POST", "/trades", trade_body("big", note="x" * 20_000))
    assert reply.status == 413
    assert_error_contract(reply)
    assert trade_rows(db) == []


def test_responses_carry_no_stack_trace_or_float(call: Any, db: Any) -> None:
    reply = call("POST", "/trades", trade_body("f1", limit_price=Decimal("12.5")))
    raw_body = reply.raw["body"]
    assert '"limit_price": "12.5"' in raw_body or '"limit_price":"12.5"' in raw_body
    assert "Traceback" not in raw_body


def _with(settings: Any, **changes: Any) -> Any:
    return type(settings)(**{**settings.__dict__, **changes})


def test_reads_go_to_the_reader_endpoint(api_module: Any, settings: Any, db: Any) -> None:
    # "localhost" and "127.0.0.1" reach the same server through two connections: writer and reader.
    api = api_module.build(_with(settings, reader_host="localhost"))
    try:
        created = call_api(api, "POST", "/trades", trade_body("rd-1"))
        assert created.status == 201
        assert api.database.reader is not None and not api.database.reader.is_open  # writes never touch it
        fetched = call_api(api, "GET", f"/trades/{created.body['id']}")
        assert fetched.status == 200 and fetched.body == created.body
        assert api.database.reader.is_open
        health = call_api(api, "GET", "/health").body
        assert health == {"status": "ok", "database": {"writer": "ok", "reader": "ok", "reader_is_writer": False}}
    finally:
        api.database.close()


def test_a_reader_miss_is_confirmed_on_the_writer() -> None:
    from datetime import datetime

    from handlers.store import TradeStore
    from handlers.trades import Trade, TradeRequest

    trade = Trade(7, TradeRequest("c", "AAPL", "BUY", "LIMIT", 1, Decimal(1)), datetime(2025, 1, 2, 3, 4, 5))
    calls: list[str] = []

    class LaggingReplica:
        reader = object()

        def on_reader(self, work: Any, deadline: Any) -> Any:
            calls.append("reader")
            return None  # the replica has not caught up yet

        def on_writer(self, work: Any, deadline: Any) -> Any:
            calls.append("writer")
            return trade

    assert TradeStore(LaggingReplica()).get(7, None) is trade  # type: ignore[arg-type]
    assert calls == ["reader", "writer"]


def test_base_path_of_a_custom_domain_mapping_is_stripped(api_module: Any, settings: Any, db: Any) -> None:
    api = api_module.build(_with(settings, api_base_path="/v1"))
    try:
        created = call_api(api, "POST", "/v1/trades", trade_body("bp-1"))
        assert created.status == 201
        assert call_api(api, "GET", f"/v1/trades/{created.body['id']}").status == 200
        assert call_api(api, "GET", "/v1/health").status == 200
        wrong = call_api(api, "GET", "/v1/trades")
        assert (wrong.status, wrong.headers["allow"]) == (405, "POST")
        assert call_api(api, "GET", "/v1").status == 404
        assert call_api(api, "GET", "/v2/health").status == 404
    finally:
        api.database.close()


def test_trailing_slash_is_the_same_route(call: Any, db: Any) -> None:
    assert call("POST", "/trades/", trade_body("slash")).status == 201
    assert [row[0] for row in trade_rows(db)] == ["slash"]


def call_api(api: Any, method: str, path: str, body: Any = None) -> Any:
    return invoke(api.handler, rest_event(method, path, None if body is None else json.dumps(body)))
