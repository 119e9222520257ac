"""The trade model and the strict parsing of a ``POST /trades`` JSON document (pure: no I/O).

Money is never a float: a price is read from its text, checked digit by digit, stored as ``DECIMAL(18,8)`` and
returned as a string. JSON numbers are kept as their text until a field knows what it needs, so no number in a
body can overflow, round or raise while the document is parsed. Anything outside the documented shape is
refused with one line per problem rather than coerced, so what is stored is exactly what the client meant.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from handlers.errors import ApiError

MAX_QUANTITY = 1_000_000_000
PRICE_SCALE = 8  # digits after the point, DECIMAL(18,8)
PRICE_MAX_INTEGER_DIGITS = 10
SIDES = ("BUY", "SELL")
ORDER_TYPES = ("LIMIT", "MARKET")
FIELDS = ("client_order_id", "symbol", "side", "order_type", "quantity", "limit_price")
# The first character is a letter or digit so an id is never ".", ".." or "-x": safe as a URL path segment, a
# file name or a command-line argument wherever a client or an operator may have to use one.
CLIENT_ORDER_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"
SYMBOL_PATTERN = r"[A-Z][A-Z0-9.]{0,11}"

_CLIENT_ORDER_ID = re.compile(CLIENT_ORDER_ID_PATTERN)
_SYMBOL = re.compile(SYMBOL_PATTERN)
# JSON's number grammar (RFC 8259 section 6): a price inside a string is written exactly like a JSON number, so
# the same text gets the same answer whichever JSON type carries it.
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_MAX_INT_DIGITS = 30  # longer integer tokens stay text: int() of a 5,000-digit token raises (and is slow)

QUANTITY_RULE = f"quantity must be a JSON integer from 1 to {MAX_QUANTITY}"
PRICE_RULE = (
    f"limit_price must be a number > 0 with at most {PRICE_MAX_INTEGER_DIGITS} digits before and {PRICE_SCALE} "
    'after the point (trailing zeros do not count), as a JSON number or a JSON string in JSON number syntax ("187.25")'
)


@dataclass(frozen=True)
class JsonNumber:
    """The text of a JSON number token with a fraction or exponent, or of an integer too long to convert."""

    text: str


@dataclass(frozen=True)
class TradeRequest:
    """A validated order as submitted by the client."""

    client_order_id: str
    symbol: str
    side: str
    order_type: str
    quantity: int
    limit_price: Decimal

    def same_order(self, other: TradeRequest) -> bool:
        """Whether ``other`` is the same order (the idempotent-replay test); prices compare by value."""
        return (self.symbol, self.side, self.order_type, self.quantity, self.limit_price) == (
            other.symbol,
            other.side,
            other.order_type,
            other.quantity,
            other.limit_price,
        )


@dataclass(frozen=True)
class Trade:
    """A stored trade."""

    id: int
    order: TradeRequest
    created_at: datetime  # naive, UTC

    def to_json(self) -> dict[str, Any]:
        order = self.order
        return {
            "id": self.id,
            "client_order_id": order.client_order_id,
            "symbol": order.symbol,
            "side": order.side,
            "order_type": order.order_type,
            "quantity": order.quantity,
            "limit_price": format_price(order.limit_price),
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }


def format_price(price: Decimal) -> str:
    """Canonical text of a price: plain notation, no trailing zeros (``Decimal("187.2500")`` -> ``"187.25"``)."""
    return format(canonical(price), "f")


def canonical(price: Decimal) -> Decimal:
    """``price`` without trailing zeros, computed on its digits (no decimal context: nothing rounds or traps)."""
    sign, digits, exponent = price.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity: returned unchanged for the caller to refuse
        return price
    count = len(digits)
    while count > 1 and digits[count - 1] == 0:
        count -= 1
    return Decimal((sign, digits[:count], exponent + len(digits) - count))


def parse_price(text: str) -> Decimal | None:
    """The price ``text`` denotes, or None when it is not one (see ``PRICE_RULE``); never rounds."""
    if not _JSON_NUMBER.fullmatch(text):
        return None
    try:
        value = canonical(Decimal(text))
    except ArithmeticError:  # an exponent beyond what Decimal can hold: far outside any price
        return None
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite by the grammar
    if sign or digits == (0,) or exponent < -PRICE_SCALE or len(digits) + exponent > PRICE_MAX_INTEGER_DIGITS:
        return None
    return value


def parse_trade(text: str) -> TradeRequest:
    """Parse and validate the JSON text of a trade; raise ``ApiError`` (400) listing every problem found."""
    try:
        document = json.loads(
            text,
            parse_float=JsonNumber,
            parse_int=_integer,
            parse_constant=_reject_constant,
            object_pairs_hook=_reject_duplicate_keys,
        )
    except _DuplicateKey as exc:
        raise _invalid_json(f"duplicate key {_short(exc.args[0])}") from None
    except _NotANumber as exc:
        raise _invalid_json(f"{exc.args[0]} is not a JSON number") from None
    except json.JSONDecodeError as exc:
        raise _invalid_json(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise _invalid_json("the document is nested too deeply") from None
    if not isinstance(document, dict):
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "the request body must be a JSON object",
            [f"got a JSON {_json_type(document)}; send an object with the fields {', '.join(FIELDS)}"],
        )
    return _trade_from_document(document)


def _trade_from_document(document: dict[str, Any]) -> TradeRequest:
    problems: list[str] = []
    unknown = sorted(set(document) - set(FIELDS))
    if unknown:
        problems.append("unknown fields: " + ", ".join(_short(name) for name in unknown[:10]))
    missing = [name for name in FIELDS if name not in document]
    if missing:
        problems.append("missing fields: " + ", ".join(missing))

    def text(name: str, pattern: re.Pattern[str] | None, choices: tuple[str, ...], rule: str) -> str:
        if name in missing:
            return ""
        value = document[name]
        if (
            not isinstance(value, str)
            or (pattern is not None and not pattern.fullmatch(value))
            or (choices and value not in choices)
        ):
            problems.append(f"{name} must be {rule}")
            return ""
        return value

    client_order_id = text(
        "client_order_id", _CLIENT_ORDER_ID, (), "1-64 characters of A-Z a-z 0-9 . _ : -, the first a letter or digit"
    )
    symbol = text("symbol", _SYMBOL, (), "1-12 characters of A-Z 0-9 . starting with a letter")
    side = text("side", None, SIDES, "`BUY` or `SELL`")
    order_type = text("order_type", None, ORDER_TYPES, "`LIMIT` or `MARKET`")
    quantity = _quantity(document["quantity"], problems) if "quantity" not in missing else 0
    limit_price = _price(document["limit_price"], problems) if "limit_price" not in missing else Decimal(0)

    if problems:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid trade", problems)
    return TradeRequest(client_order_id, symbol, side, order_type, quantity, limit_price)


def _quantity(value: object, problems: list[str]) -> int:
    # bool is an int subclass: `true` must not be read as 1. A JsonNumber is 1.0, 1e2 or a 31+ digit integer.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_QUANTITY:
        problems.append(QUANTITY_RULE)
        return 0
    return value


def _price(value: object, problems: list[str]) -> Decimal:
    if isinstance(value, JsonNumber):
        price = parse_price(value.text)
    elif isinstance(value, str):
        price = parse_price(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        price = parse_price(str(value))
    else:
        price = None
    if price is None:
        problems.append(PRICE_RULE)
        return Decimal(0)
    return price


def _integer(text: str) -> int | JsonNumber:
    return int(text) if len(text) <= _MAX_INT_DIGITS else JsonNumber(text)


def _invalid_json(detail: str) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, "the request body is not valid JSON", [detail])


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


def _short(value: str, limit: int = 40) -> str:
    """A client-supplied name, quoted and cut short, for a one-line error detail."""
    return json.dumps(value if len(value) <= limit else value[:limit] + "...")


class _DuplicateKey(ValueError):
    pass


class _NotANumber(ValueError):
    pass


def _reject_constant(name: str) -> None:
    raise _NotANumber(name)  # NaN, Infinity, -Infinity: Python's json accepts them, JSON does not


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKey(key)
        document[key] = value
    return document
