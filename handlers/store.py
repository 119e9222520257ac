"""Trade persistence: the idempotent insert and the lookups, two round trips per new trade.

The client order id is the idempotency key. A UNIQUE key on it inside the same transaction makes the check
atomic: of two concurrent identical requests exactly one INSERT wins, the other gets error 1062 and reads
the winner's row. ``created_at`` is set here rather than by the server so the new row does not have to be
read back (INSERT + COMMIT only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pymysql
from pymysql.connections import Connection

from handlers.db import Database, DatabaseUnavailable, errno_of
from handlers.deadline import Deadline, DeadlineExceeded
from handlers.trades import Trade, TradeRequest, canonical, format_price

ER_DUP_ENTRY = 1062
# COMMIT is only sent with at least this much time left: a COMMIT cut off by the deadline would leave the client
# not knowing whether its trade was stored (a retry with the same client order id would tell, but rarely needs to).
COMMIT_RESERVE_SECONDS = 0.25

_INSERT = (
    "INSERT INTO trades (client_order_id, symbol, side, order_type, quantity, limit_price, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_COLUMNS = "id, client_order_id, symbol, side, order_type, quantity, limit_price, created_at"
_BY_CLIENT_ORDER_ID = f"SELECT {_COLUMNS} FROM trades WHERE client_order_id = %s"
_BY_ID = f"SELECT {_COLUMNS} FROM trades WHERE id = %s"


@dataclass(frozen=True)
class SubmitResult:
    """What happened to a submitted order: created now, replayed, or refused as a conflict."""

    trade: Trade
    created: bool
    conflict: bool = False


class TradeStore:
    def __init__(self, database: Database) -> None:
        self._database = database

    def submit(self, order: TradeRequest, deadline: Deadline | None) -> SubmitResult:
        """Insert ``order`` once; a replay of the same order returns the stored trade, another one a conflict."""
        return self._database.on_writer(lambda connection: _submit(connection, order, deadline), deadline)

    def get(self, trade_id: int, deadline: Deadline | None) -> Trade | None:
        """The trade from the reader; on a miss, from the writer (the replica may lag a just-created trade)."""
        if self._database.reader is not None:
            trade = self._database.on_reader(lambda connection: _select_one(connection, _BY_ID, trade_id), deadline)
            if trade is not None:
                return trade
        return self._database.on_writer(
            lambda connection: _select_one(connection, _BY_ID, trade_id, end_transaction=True), deadline
        )


def _submit(connection: Connection, order: TradeRequest, deadline: Deadline | None) -> SubmitResult:
    created_at = datetime.now(UTC).replace(tzinfo=None)
    params = (
        order.client_order_id,
        order.symbol,
        order.side,
        order.order_type,
        order.quantity,
        format_price(order.limit_price),  # text, so the server converts it exactly
        created_at,
    )
    with connection.cursor() as cursor:
        try:
            cursor.execute(_INSERT, params)
        except pymysql.err.IntegrityError as exc:
            if errno_of(exc) != ER_DUP_ENTRY:
                raise
            connection.rollback()
        else:
            trade_id = cursor.lastrowid
            if deadline is not None and deadline.remaining() < COMMIT_RESERVE_SECONDS:
                raise DeadlineExceeded("too little time left to commit; the insert is rolled back")
            connection.commit()
            return SubmitResult(Trade(id=trade_id, order=order, created_at=created_at), created=True)
    # The key exists: InnoDB made this INSERT wait for the other transaction, so its row is committed now.
    existing = _select_one(connection, _BY_CLIENT_ORDER_ID, order.client_order_id, end_transaction=True)
    if existing is None:
        # Only possible if the row was deleted in between; the client can simply retry.
        raise DatabaseUnavailable("the conflicting trade disappeared; retry")
    return SubmitResult(existing, created=False, conflict=not existing.order.same_order(order))


def _select_one(connection: Connection, sql: str, key: Any, end_transaction: bool = False) -> Trade | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, (key,))
        row = cursor.fetchone()
    if end_transaction:
        connection.rollback()  # do not keep a REPEATABLE READ snapshot open on the writer connection
    return None if row is None else _trade_from_row(row)


def _trade_from_row(row: tuple[Any, ...]) -> Trade:
    trade_id, client_order_id, symbol, side, order_type, quantity, limit_price, created_at = row
    order = TradeRequest(client_order_id, symbol, side, order_type, int(quantity), canonical(limit_price))
    return Trade(id=int(trade_id), order=order, created_at=created_at)
