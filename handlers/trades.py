"""The trade model and the strict parsing of a ``POST /trades`` body (pure: no I/O).

Money is never a float: JSON numbers are parsed as ``Decimal``, stored as ``DECIMAL(18,8)`` and returned as
strings. Anything outside the documented shape is refused rather than coerced, so what is stored is exactly
what the client meant.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

MAX_BODY_BYTES = 16 * 1024
MAX_QUANTITY = 1_000_000_000
PRICE_SCALE = 8  # digits after the point, DECIMAL(18,8)
PRICE_MAX_INTEGER_DIGITS = 10
SIDES = ("BUY", "SELL")
ORDER_TYPES = ("LIMIT", "MARKET")
FIELDS = ("client_order_id", "symbol", "side", "order_type", "quantity", "limit_price")

_SYMBOL = re.compile(r"[A-Z][A-Z0-9.]{0,11}")
_CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_PRICE_TEXT = re.compile(r"[0-9]{1,10}(\.[0-9]{1,8})?")


class InvalidRequest(ValueError):
    """The request body is not an acceptable trade; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.details = details or []


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
    return format(price.normalize(), "f")


def parse_trade_body(body: object, is_base64: object, content_type: str | None) -> TradeRequest:
    """Validate the raw proxy-event body of ``POST /trades``; raise ``InvalidRequest`` with every problem found."""
    if is_base64:
        raise InvalidRequest("base64-encoded bodies are not accepted: send the JSON text as is", status=400)
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise InvalidRequest("Content-Type must be application/json", status=415)
    if not isinstance(body, str) or not body.strip():
        raise InvalidRequest("the request body must be a JSON object")
    if len(body) > MAX_BODY_BYTES or len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise InvalidRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes", status=413)
    try:
        document = json.loads(
            body,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_reject_duplicate_keys,
        )
    except _DuplicateKey as exc:
        raise InvalidRequest(f"duplicate JSON key {exc.args[0]!r}") from None
    except (ValueError, RecursionError):  # JSONDecodeError, NaN/Infinity, integers past the digit limit
        raise InvalidRequest("the request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return _trade_from_document(document)


def _trade_from_document(document: dict[str, Any]) -> TradeRequest:
    problems: list[str] = []
    unknown = sorted(set(document) - set(FIELDS))
    if unknown:
        problems.append("unknown fields: " + ", ".join(unknown))
    missing = [name for name in FIELDS if name not in document]
    if missing:
        problems.append("missing fields: " + ", ".join(missing))

    def text(name: str, pattern: re.Pattern[str] | None, choices: tuple[str, ...], hint: str) -> str:
        value = document.get(name)
        if name in missing:
            return ""
        if (
            not isinstance(value, str)
            or (pattern and not pattern.fullmatch(value))
            or (choices and value not in choices)
        ):
            problems.append(f"{name} must be {hint}")
            return ""
        return value

    client_order_id = text("client_order_id", _CLIENT_ORDER_ID, (), "1-64 characters of A-Z a-z 0-9 . _ : -")
    symbol = text("symbol", _SYMBOL, (), "1-12 characters of A-Z 0-9 . starting with a letter")
    side = text("side", None, SIDES, "`BUY` or `SELL`")
    order_type = text("order_type", None, ORDER_TYPES, "`LIMIT` or `MARKET`")
    quantity = _quantity(document.get("quantity"), problems) if "quantity" not in missing else 0
    limit_price = _price(document.get("limit_price"), problems) if "limit_price" not in missing else Decimal(0)

    if problems:
        raise InvalidRequest("invalid trade", details=problems)
    return TradeRequest(client_order_id, symbol, side, order_type, quantity, limit_price)


def _quantity(value: object, problems: list[str]) -> int:
    # bool is an int subclass: `true` must not be read as 1.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_QUANTITY:
        problems.append(f"quantity must be a JSON integer from 1 to {MAX_QUANTITY}")
        return 0
    return value


def _price(value: object, problems: list[str]) -> Decimal:
    hint = (
        f"limit_price must be a decimal > 0 with at most {PRICE_MAX_INTEGER_DIGITS} digits before "
        f'and {PRICE_SCALE} after the point, as a JSON string (`"187.25"`) or number'
    )
    if isinstance(value, str):
        if not _PRICE_TEXT.fullmatch(value):
            problems.append(hint)
            return Decimal(0)
        price = Decimal(value)
    elif isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
        price = Decimal(value)
    else:
        problems.append(hint)
        return Decimal(0)
    # Checked on the digits, never by rounding: a price that would need rounding is refused, not altered.
    # adjusted() needs no arithmetic context, so 1E+999999999 cannot overflow anything here.
    if not price.is_finite() or price <= 0 or not -PRICE_SCALE <= price.adjusted() < PRICE_MAX_INTEGER_DIGITS:
        problems.append(hint)
        return Decimal(0)
    normal = price.normalize()
    exponent = normal.as_tuple().exponent
    # normalize() rounds to the context precision: an inexact result means too many significant digits.
    if normal != price or not isinstance(exponent, int) or exponent < -PRICE_SCALE:
        problems.append(hint)
        return Decimal(0)
    return normal


class _DuplicateKey(ValueError):
    pass


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKey(key)
        document[key] = value
    return document
