"""A request's database work ends before API Gateway stops waiting (29 s): it commits in time or rolls back."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pymysql
import pytest

from handlers.config import Settings
from handlers.db import DatabaseUnavailable
from handlers.deadline import GATEWAY_TIMEOUT_SECONDS, RESPONSE_MARGIN_SECONDS, Deadline, DeadlineExceeded
from handlers.store import COMMIT_RESERVE_SECONDS, TradeStore
from handlers.trades import parse_trade
from tests.handlers.conftest import DB_NAME
from tests.handlers.lambda_support import FakeContext, Reply, assert_error_contract, invoke, rest_event, trade_body
from tests.support.mariadb import MariaDB

SAFETY_NET_SECONDS = 20  # far below the 50 s lock wait an unbounded request would sit through


def _left(event: dict[str, Any], context: Any) -> float:
    return Deadline.for_request(event, context).remaining()


def test_the_gateway_clock_starts_when_it_received_the_request() -> None:
    now_ms = int(time.time() * 1000)
    fresh = {"requestContext": {"requestTimeEpoch": now_ms}}
    waited = {"requestContext": {"requestTimeEpoch": now_ms - 10_000}}  # e.g. a 10 s cold start before the handler
    full = GATEWAY_TIMEOUT_SECONDS - RESPONSE_MARGIN_SECONDS
    assert full - 0.5 < _left(fresh, FakeContext()) <= full
    assert full - 10.5 < _left(waited, FakeContext()) <= full - 10


def test_the_function_timeout_bounds_it_from_the_other_side() -> None:
    event = {"requestContext": {"requestTimeEpoch": int(time.time() * 1000)}}
    assert 1.0 < _left(event, FakeContext(remaining_ms=2_000)) <= 2.0 - RESPONSE_MARGIN_SECONDS


@pytest.mark.parametrize("received", [None, "yesterday", True, 0, int(time.time() * 1000) + 60_000])
def test_an_unusable_request_time_falls_back_to_the_full_gateway_timeout(received: Any) -> None:
    event = {"requestContext": {"requestTimeEpoch": received}}
    full = GATEWAY_TIMEOUT_SECONDS - RESPONSE_MARGIN_SECONDS
    assert full - 0.5 < _left(event, FakeContext()) <= full
    assert full - 0.5 < _left({}, None) <= full


def test_a_call_gets_at_most_the_time_left() -> None:
    assert Deadline.after(60).timeout(3.0) == 3.0
    assert 0.5 < Deadline.after(1).timeout(3.0) <= 1.0
    with pytest.raises(DeadlineExceeded):
        Deadline.after(0.01).timeout(3.0)


def _inserts_running(server: MariaDB) -> int:
    """The API user's sessions executing an INSERT into trades right now."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
            " WHERE USER = 'trades_api' AND COMMAND = 'Query' AND INFO LIKE 'INSERT INTO trades%%'"
        )
        return int(cursor.fetchone()[0])


def _wait_until(condition: Any, what: str) -> None:
    limit = time.monotonic() + SAFETY_NET_SECONDS
    while not condition():
        assert time.monotonic() < limit, f"gave up waiting: {what}"
        time.sleep(0.05)


def test_a_request_stuck_on_a_lock_gives_up_before_the_gateway_and_stores_nothing(
    api_module: Any, settings: Settings, mariadb_server: MariaDB, db: Any
) -> None:
    """Another transaction holds the key; the request has 1.5 s left: 503 while the lock is still held, rollback."""
    api = api_module.build(settings)
    blocker = mariadb_server.connect(database=DB_NAME, autocommit=False)
    replies: list[Reply] = []
    try:
        with blocker.cursor() as cursor:  # an uncommitted insert of the same client order id holds its key
            cursor.execute(
                "INSERT INTO trades (client_order_id, symbol, side, order_type, quantity, limit_price, created_at)"
                " VALUES ('slow-1', 'AAPL', 'BUY', 'LIMIT', 100, 187.25, UTC_TIMESTAMP(6))"
            )
        event = rest_event("POST", "/trades", json.dumps(trade_body("slow-1")))
        request = threading.Thread(
            target=lambda: replies.append(invoke(api.handler, event, FakeContext(remaining_ms=1_500)))
        )
        request.start()
        request.join(timeout=SAFETY_NET_SECONDS)
        assert not request.is_alive(), "the request waited for the lock instead of its deadline"
        (reply,) = replies
        assert reply.status == 503
        assert_error_contract(reply)
        # The abandoned INSERT is still queued on the server behind the lock: its connection is gone, so when
        # the lock is released it can never be committed.
        assert _inserts_running(mariadb_server) == 1
    finally:
        blocker.rollback()
        blocker.close()
    _wait_until(lambda: _inserts_running(mariadb_server) == 0, "the abandoned INSERT to end")
    with db.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM trades WHERE client_order_id = 'slow-1'")
        assert cursor.fetchone()[0] == 0
    # The client retries the same order with time to spare: stored once.
    assert invoke(api.handler, rest_event("POST", "/trades", json.dumps(trade_body("slow-1")))).status == 201
    api.database.close()


def test_commit_is_not_sent_without_time_to_finish_it(api_module: Any, settings: Settings, db: Any) -> None:
    api = api_module.build(settings)
    store = TradeStore(api.database)
    api.database.writer.acquire()  # an open connection: the insert itself takes a millisecond
    order = parse_trade(json.dumps(trade_body("late-1")))
    with pytest.raises(DatabaseUnavailable, match="too little time left to commit"):
        store.submit(order, Deadline.after(COMMIT_RESERVE_SECONDS - 0.05))
    with db.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM trades WHERE client_order_id = 'late-1'")
        assert cursor.fetchone()[0] == 0
    assert store.submit(order, Deadline.after(5)).created  # the connection is fine for the next request
    api.database.close()


@pytest.mark.parametrize(("method", "path"), [("GET", "/health"), ("GET", "/trades/1"), ("POST", "/trades")])
def test_no_time_left_means_no_database_call(api_module: Any, settings: Settings, method: str, path: str) -> None:
    api = api_module.build(settings)
    body = json.dumps(trade_body("late-2")) if method == "POST" else None
    reply = invoke(api.handler, rest_event(method, path, body), FakeContext(remaining_ms=400))
    assert reply.status == 503
    assert_error_contract(reply)
    assert not api.database.writer.is_open  # not even a connection was attempted


def test_the_statement_bound_reaches_the_socket(api_module: Any, settings: Settings) -> None:
    """PyMySQL re-applies the bound to its socket before each read: a server-side SLEEP is cut off by it."""
    api = api_module.build(settings)

    def sleep(connection: pymysql.connections.Connection) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT SLEEP(3)")  # without the bound: returns (0,) after 3 s
            return cursor.fetchone()

    with pytest.raises(DatabaseUnavailable, match="lost the connection"):
        api.database.on_writer(sleep, Deadline.after(0.5))
    assert not api.database.writer.is_open  # the cut-off connection was dropped, not reused
    api.database.close()
