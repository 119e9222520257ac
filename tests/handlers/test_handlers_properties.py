"""Property tests: whatever a client (or a malformed event) sends, never a 5xx, never a row for a 4xx, and every
error body in the one contract (``assert_error_contract``).

Generators cover the classes of issue #12: numbers (raw JSON tokens with huge exponents and digit counts),
strings (every field, any Unicode), headers (names, values and types), paths and methods, and the event's own
fields. Valid orders are generated too: they must be stored exactly, and replayed with 200.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.trades import CLIENT_ORDER_ID_PATTERN, SYMBOL_PATTERN
from tests.handlers.lambda_support import assert_error_contract, invoke, rest_event, trade_body

FIELDS = ("client_order_id", "symbol", "side", "order_type", "quantity", "limit_price")
_ids = itertools.count()

SETTINGS = settings(
    max_examples=400,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # the `db` fixture empties the table once per test, on purpose
    ],
)


def unique_id() -> str:
    return f"prop-{next(_ids)}"


# ----------------------------------------------------------------------------------------------- generators

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)

# Raw JSON number tokens, including what json.dumps never writes: huge exponents, thousands of digits.
digits = st.text("0123456789", min_size=1, max_size=40)
exponents = st.one_of(st.integers(-30, 30), st.integers(-(10**25), 10**25)).map(str)
number_tokens = st.one_of(
    st.builds(
        lambda sign, whole, fraction, exponent: f"{sign}{whole}{fraction}{exponent}",
        st.sampled_from(["", "-"]),
        st.one_of(st.just("0"), digits.map(lambda d: "1" + d), st.integers(1, 9).map(lambda n: "9" * n * 500)),
        st.one_of(st.just(""), digits.map(lambda d: "." + d)),
        st.one_of(st.just(""), st.builds(lambda e, x: f"{e}{x}", st.sampled_from(["e", "E", "e+", "E-"]), exponents)),
    ),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-0", "0.0", "1." + "0" * 20 + "1"]),
)

any_text = st.text(max_size=80)  # every Unicode category, controls and surrogates included


@st.composite
def numbers_anywhere(draw: st.DrawFn) -> dict[str, Any]:
    """A raw number token as quantity, limit_price, the whole body or inside an unknown field."""
    token = draw(number_tokens)
    where = draw(st.sampled_from(["quantity", "limit_price", "body", "extra"]))
    if where == "body":
        return rest_event("POST", "/trades", token)
    body = trade_body(unique_id())
    body[where] = "__TOKEN__"
    return rest_event("POST", "/trades", json.dumps(body).replace('"__TOKEN__"', token))


@st.composite
def strings_anywhere(draw: st.DrawFn) -> dict[str, Any]:
    """Any string (or JSON value) in any field, including the price and the quantity."""
    body = trade_body(unique_id())
    field = draw(st.sampled_from(FIELDS))
    body[field] = draw(st.one_of(any_text, json_values))
    if draw(st.booleans()):
        body[draw(any_text)] = draw(json_values)
    return rest_event("POST", "/trades", json.dumps(body, ensure_ascii=draw(st.booleans())))


header_values = st.one_of(any_text, st.none(), st.integers(), st.lists(any_text, max_size=2), st.booleans())
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "APPLICATION/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=latin-1",
            'application/json; charset="UTF-8"; q=1',
            "application/jsonx",
            "text/json",
            "application/x-www-form-urlencoded",
            "",
            ";",
            "application/json; charset",
        ]
    ),
    any_text,
)


@st.composite
def headers_anywhere(draw: st.DrawFn) -> dict[str, Any]:
    """A valid order with odd headers: any names, values of any JSON type, any Content-Type."""
    headers: dict[str, Any] = draw(st.dictionaries(any_text, header_values, max_size=5))
    if draw(st.booleans()):
        headers[draw(st.sampled_from(["Content-Type", "content-type", "CONTENT-TYPE"]))] = draw(content_types)
    event = rest_event("POST", "/trades", json.dumps(trade_body(unique_id())))
    event["headers"] = draw(st.one_of(st.just(headers), st.none(), json_values))
    event["multiValueHeaders"] = draw(
        st.one_of(st.none(), st.dictionaries(any_text, st.lists(header_values, max_size=2), max_size=3), json_values)
    )
    return event


path_text = st.text(max_size=30)  # slashes, controls, newlines, spaces, any script


@st.composite
def paths_and_methods(draw: st.DrawFn) -> dict[str, Any]:
    method = draw(
        st.one_of(
            st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get", "post", "Get"]),
            st.text(min_size=1, max_size=8),
        )
    )
    path = draw(
        st.one_of(
            st.sampled_from(["/trades", "/health", "/trades/", "/health/", "//trades", "/trades//", "/"]),
            path_text.map(lambda text: "/" + text),
            path_text.map(lambda text: "/trades/" + text),
            path_text.map(lambda text: "/health" + text),
            path_text,
            st.integers(min_value=-(2**70), max_value=2**70).map(lambda number: f"/trades/{number}"),
        )
    )
    body = json.dumps(trade_body(unique_id())) if draw(st.booleans()) else None
    return rest_event(method, path, body)


@st.composite
def event_fields(draw: st.DrawFn) -> Any:
    """A request whose event fields themselves are odd: flags as strings, bodies of other types, no context."""
    event = rest_event("POST", "/trades", json.dumps(trade_body(unique_id())))
    for name in draw(st.sets(st.sampled_from(["isBase64Encoded", "requestContext", "body", "httpMethod", "path"]))):
        event[name] = draw(st.one_of(json_values, st.sampled_from(["true", "false", "TRUE", "yes", ""])))
    return draw(st.one_of(st.just(event), json_values))


@st.composite
def transfer_encodings(draw: st.DrawFn) -> dict[str, Any]:
    """A valid order as base64 (valid or not), with a BOM, with invalid UTF-8 bytes, oversized."""
    raw = json.dumps(trade_body(unique_id())).encode()
    how = draw(st.sampled_from(["base64", "base64-junk", "bom", "bytes", "oversized"]))
    if how == "base64":
        return rest_event("POST", "/trades", base64.b64encode(raw).decode(), is_base64=True)
    if how == "base64-junk":
        return rest_event("POST", "/trades", draw(any_text), is_base64=True)
    if how == "bom":
        return rest_event("POST", "/trades", "\ufeff" * draw(st.integers(1, 2)) + raw.decode())
    if how == "bytes":
        junk = base64.b64encode(draw(st.binary(max_size=30)) + raw).decode()
        return rest_event("POST", "/trades", junk, is_base64=True)
    padded = raw.decode()[:-1] + ', "padding": "' + "x" * draw(st.integers(16_300, 20_000)) + '"}'
    return rest_event("POST", "/trades", padded)


# ------------------------------------------------------------------------------------------------ properties


@pytest.fixture
def row_count(db: Any) -> Callable[[], int]:
    def count() -> int:
        with db.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM trades")
            return int(cursor.fetchone()[0])

    return count


def check(api_module: Any, row_count: Callable[[], int], event: Any) -> int:
    """Invoke once; the properties every reply has. Returns the status."""
    before = row_count()
    reply = invoke(api_module.handler, event)
    assert reply.status < 500, (str(event)[:300], reply)
    if reply.status >= 400:
        if not (isinstance(event, dict) and event.get("httpMethod") == "HEAD"):
            assert_error_contract(reply)
        assert row_count() == before, (str(event)[:300], reply)  # never a row for a 4xx
    elif reply.status == 201:
        assert row_count() == before + 1
    else:
        assert row_count() == before
    return reply.status


@pytest.mark.parametrize(
    "generator",
    [numbers_anywhere, strings_anywhere, headers_anywhere, paths_and_methods, event_fields, transfer_encodings],
)
def test_no_5xx_no_row_for_4xx_one_error_contract(
    api_module: Any, row_count: Callable[[], int], generator: Callable[[], st.SearchStrategy[Any]]
) -> None:
    seen: set[int] = set()

    @SETTINGS
    @given(event=generator())
    def run(event: Any) -> None:
        seen.add(check(api_module, row_count, event))

    run()
    assert any(400 <= status < 500 for status in seen), seen  # the generator reaches refusals, not only successes


def test_the_generators_reach_every_refusal(api_module: Any, row_count: Callable[[], int]) -> None:
    seen: set[int] = set()
    everything = st.one_of(
        numbers_anywhere(), strings_anywhere(), headers_anywhere(), paths_and_methods(), transfer_encodings()
    )

    @SETTINGS
    @given(event=everything)
    def run(event: Any) -> None:
        seen.add(check(api_module, row_count, event))

    run()
    assert {400, 404, 405, 413, 415} <= seen, seen


# A valid price as text: up to 10 integer digits and 8 decimals, then spelled differently (trailing zeros, an
# exponent), which must not change the value stored.
@st.composite
def valid_prices(draw: st.DrawFn) -> tuple[str, Decimal]:
    whole = draw(st.integers(0, 9_999_999_999))
    fraction = draw(st.integers(0, 99_999_999))
    value = Decimal(f"{whole}.{fraction:08d}")
    if value == 0:
        value = Decimal("0.00000001")
    text = format(value, "f") + "0" * draw(st.integers(0, 12))
    if draw(st.booleans()):
        shift = draw(st.integers(-3, 3))
        text = format(value.scaleb(-shift), "f") + f"e{shift}"
    return text, value


@st.composite
def valid_orders(draw: st.DrawFn) -> tuple[str, dict[str, Any], Decimal]:
    """The JSON text of a valid order (its price as a number or a string), the order, and the price's value."""
    text, value = draw(valid_prices())
    body = {
        # Unique per example (a digit first, so always valid), then any valid id characters.
        "client_order_id": f"{next(_ids)}-{draw(st.from_regex(CLIENT_ORDER_ID_PATTERN, fullmatch=True))}"[:64],
        "symbol": draw(st.from_regex(SYMBOL_PATTERN, fullmatch=True)),
        "side": draw(st.sampled_from(["BUY", "SELL"])),
        "order_type": draw(st.sampled_from(["LIMIT", "MARKET"])),
        "quantity": draw(st.integers(1, 1_000_000_000)),
        "limit_price": "__PRICE__",
    }
    token = text if draw(st.booleans()) else json.dumps(text)
    return json.dumps(body).replace('"__PRICE__"', token), body, value


@SETTINGS
@given(order=valid_orders())
def test_valid_orders_are_stored_exactly_and_replayed(api_module: Any, db: Any, order: Any) -> None:
    text, body, value = order
    first = invoke(api_module.handler, rest_event("POST", "/trades", text))
    assert first.status == 201, (text, first.body)
    assert Decimal(first.body["limit_price"]) == value
    assert not re.search(r"\.\d*0$|e", first.body["limit_price"], re.IGNORECASE)  # canonical text
    again = invoke(api_module.handler, rest_event("POST", "/trades", text))
    assert (again.status, again.body) == (200, first.body)
    with db.cursor() as cursor:
        cursor.execute("SELECT limit_price, quantity FROM trades WHERE id = %s", (first.body["id"],))
        assert cursor.fetchone() == (value, body["quantity"])
