"""Property test: no malformed request is ever accepted, answered with a 5xx, or leaves a row behind."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.handlers.lambda_support import invoke, rest_event, trade_body

EXAMPLES = 1_200
FIELDS = ("client_order_id", "symbol", "side", "order_type", "quantity", "limit_price")

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)

# Values that are wrong for each field, whatever else the body holds.
bad_values: dict[str, st.SearchStrategy[Any]] = {
    "client_order_id": st.one_of(
        st.text(max_size=80).filter(lambda s: not _fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", s)),
        json_values.filter(lambda v: not isinstance(v, str)),
    ),
    "symbol": st.one_of(
        st.text(max_size=20).filter(lambda s: not _fullmatch(r"[A-Z][A-Z0-9.]{0,11}", s)),
        json_values.filter(lambda v: not isinstance(v, str)),
    ),
    "side": json_values.filter(lambda v: v not in ("BUY", "SELL")),
    "order_type": json_values.filter(lambda v: v not in ("LIMIT", "MARKET")),
    "quantity": st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=1_000_000_001),
        st.floats(allow_nan=False),
        st.booleans(),
        st.text(max_size=10),
        st.none(),
    ),
    "limit_price": st.one_of(
        st.decimals(max_value=0, allow_nan=False, allow_infinity=False).map(str),
        st.decimals(min_value=10_000_000_000, allow_nan=False, allow_infinity=False).map(str),
        st.decimals(min_value="0.000000001", max_value="0.000000009", places=9).map(str),
        st.text(max_size=12).filter(lambda s: not _fullmatch(r"[0-9]{1,10}(\.[0-9]{1,8})?", s) or _is_zero(s)),
        st.booleans(),
        st.none(),
        st.lists(st.integers(), max_size=2),
    ),
}

# Raw JSON tokens json.dumps would never write: NaN/Infinity, huge exponents, huge integers.
raw_number_tokens = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e400", "1e-400", "-0", "0.0", "1" * 5000, "1." + "0" * 20 + "1", "-1.5"]
)


def _fullmatch(pattern: str, text: str) -> bool:
    import re

    return re.fullmatch(pattern, text) is not None


def _is_zero(text: str) -> bool:
    try:
        return float(text) == 0
    except ValueError:
        return False


@st.composite
def one_bad_field(draw: st.DrawFn) -> dict[str, Any]:
    body = trade_body(draw(st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True)))
    field = draw(st.sampled_from(FIELDS))
    body[field] = draw(bad_values[field])
    return rest_event("POST", "/trades", json.dumps(body))


@st.composite
def missing_or_extra_fields(draw: st.DrawFn) -> dict[str, Any]:
    body = trade_body("ok-id")
    removed = draw(st.sets(st.sampled_from(FIELDS)))
    for field in removed:
        body.pop(field)
    extra = draw(st.dictionaries(st.text(max_size=12).filter(lambda k: k not in FIELDS), json_values, max_size=3))
    if not removed and not extra:
        extra = {"unexpected": True}
    body.update(extra)
    return rest_event("POST", "/trades", json.dumps(body))


@st.composite
def raw_number_in_field(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(["quantity", "limit_price"]))
    token = draw(raw_number_tokens)
    body = json.dumps(trade_body("raw-id", **{field: "__TOKEN__"})).replace('"__TOKEN__"', token)
    return rest_event("POST", "/trades", body)


@st.composite
def not_a_trade_document(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.one_of(st.text(max_size=200), json_values.map(json.dumps), st.binary(max_size=50).map(repr)))
    return rest_event("POST", "/trades", body)


@st.composite
def valid_trade_wrongly_delivered(draw: st.DrawFn) -> dict[str, Any]:
    text = json.dumps(trade_body(draw(st.from_regex(r"[a-z]{1,10}", fullmatch=True))))
    how = draw(st.sampled_from(["base64", "content-type", "oversized", "not-a-string"]))
    if how == "base64":
        return rest_event("POST", "/trades", base64.b64encode(text.encode()).decode(), is_base64=True)
    if how == "content-type":
        content_type = draw(st.sampled_from(["text/plain", "application/xml", "", "application/jsonx", "json"]))
        return rest_event("POST", "/trades", text, headers={"Content-Type": content_type})
    if how == "oversized":
        padded = text[:-1] + ', "padding": "' + "x" * draw(st.integers(16_400, 40_000)) + '"}'
        return rest_event("POST", "/trades", padded)
    event = rest_event("POST", "/trades", None)
    event["body"] = draw(st.one_of(st.integers(), st.lists(st.integers(), max_size=2), st.just({"a": 1})))
    return event


# API Gateway hands over decoded paths without control characters (Powertools' `$` would match before "\n").
path_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)


@st.composite
def wrong_route(draw: st.DrawFn) -> dict[str, Any]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))
    path = draw(
        st.one_of(
            st.just("/trades"),
            st.just("/health"),
            path_text.map(lambda s: "/" + s),
            path_text.map(lambda s: "/trades/" + s),
            st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: f"/trades/{n}"),
        )
    )
    allowed = {("POST", "/trades"), ("GET", "/health")}
    if (method, path.rstrip("/")) in allowed:  # the REST resolver, like API Gateway, ignores trailing slashes
        method = "DELETE"
    body = json.dumps(trade_body("route-id")) if method in ("POST", "PUT", "PATCH") else None
    return rest_event(method, path, body)


malformed_events = st.one_of(
    one_bad_field(),
    missing_or_extra_fields(),
    raw_number_in_field(),
    not_a_trade_document(),
    valid_trade_wrongly_delivered(),
    wrong_route(),
)


def test_malformed_requests_get_4xx_and_write_nothing(api_module: Any, db: Any) -> None:
    seen: list[int] = []

    def rows() -> list[Any]:
        with db.cursor() as cursor:
            cursor.execute("SELECT * FROM trades")
            return list(cursor.fetchall())

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,  # no .hypothesis folder in the checkout
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(event=malformed_events)
    def check(event: dict[str, Any]) -> None:
        reply = invoke(api_module.handler, event)
        assert 400 <= reply.status < 500, (event["httpMethod"], event["path"], str(event["body"])[:200], reply)
        assert isinstance(reply.body, dict) and reply.body["error"] and reply.body["message"], reply.body
        assert rows() == []
        seen.append(reply.status)

    check()
    assert len(seen) >= 1_000
    # The generator reaches every kind of refusal, not just one easy path.
    assert {400, 404, 405, 413, 415} <= set(seen)
