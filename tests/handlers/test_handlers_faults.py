"""Database faults: crash under load, unreachable server, busy/locked rows, refused rows, permanent errors.

The crash test runs on its own plaintext server (``plain_server``) so it can be killed without disturbing the
other tests; its clients are separate execution environments (forked processes, tests/handlers/environments.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pymysql
import pytest

from handlers.config import Settings
from handlers.db import ErrorKind, classify
from tests.handlers.environments import FORK, in_environments
from tests.handlers.lambda_support import assert_error_contract, invoke, rest_event, trade_body, trade_rows
from tests.support.mariadb import MariaDB, free_port

WORKERS = 4
ORDERS_PER_WORKER = 40


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (pymysql.err.OperationalError(2003, "Can't connect"), ErrorKind.CONNECTION_LOST),
        (pymysql.err.OperationalError(2013, "Lost connection"), ErrorKind.CONNECTION_LOST),
        (pymysql.err.OperationalError(2006, "gone away"), ErrorKind.CONNECTION_LOST),
        (pymysql.err.InterfaceError(0, ""), ErrorKind.CONNECTION_LOST),
        (ConnectionResetError(104, "reset"), ErrorKind.CONNECTION_LOST),
        (pymysql.err.OperationalError(1213, "Deadlock"), ErrorKind.BUSY),
        (pymysql.err.OperationalError(1205, "Lock wait timeout"), ErrorKind.BUSY),
        (pymysql.err.OperationalError(1290, "read-only"), ErrorKind.BUSY),
        (pymysql.err.OperationalError(1045, "Access denied"), ErrorKind.BUSY),
        # pymysql maps unknown errnos >= 1000 to OperationalError: the class says nothing, the errno does.
        (pymysql.err.OperationalError(4025, "CONSTRAINT failed"), ErrorKind.REJECTED),
        (pymysql.err.OperationalError(3819, "Check constraint is violated"), ErrorKind.REJECTED),
        (pymysql.err.DataError(1406, "Data too long"), ErrorKind.REJECTED),
        (pymysql.err.IntegrityError(1062, "Duplicate entry"), ErrorKind.REJECTED),
        (pymysql.err.ProgrammingError(1146, "Table doesn't exist"), ErrorKind.PERMANENT),
        (pymysql.err.ProgrammingError(1064, "syntax"), ErrorKind.PERMANENT),
    ],
)
def test_errors_are_classified_by_errno(error: BaseException, kind: ErrorKind) -> None:
    assert classify(error) is kind


def _assert_503(reply: Any) -> None:
    assert reply.status == 503, reply
    assert_error_contract(reply)


def test_unreachable_database_gives_503_on_every_route(api_module: Any, app_secret_arn: str, env_for: Any) -> None:
    nowhere = MariaDB.__new__(MariaDB)  # only host and port are read
    nowhere.port = free_port()  # nothing listens there
    api = api_module.build(Settings.for_api(env_for(nowhere, app_secret_arn)))
    for method, path, body in (
        ("POST", "/trades", json.dumps(trade_body("down-1"))),
        ("GET", "/trades/1", None),
        ("GET", "/health", None),
    ):
        _assert_503(invoke(api.handler, rest_event(method, path, body)))


def test_missing_table_is_a_plain_500(api_module: Any, settings: Settings, mariadb_server: MariaDB, db: Any) -> None:
    api = api_module.build(settings)
    assert invoke(api.handler, rest_event("GET", "/health")).status == 200
    with db.cursor() as cursor:
        cursor.execute("RENAME TABLE trades TO trades_away")
    try:
        reply = invoke(api.handler, rest_event("POST", "/trades", json.dumps(trade_body("gone"))))
    finally:
        with db.cursor() as cursor:
            cursor.execute("RENAME TABLE trades_away TO trades")
    assert reply.status == 500
    assert reply.body == {"error": "internal_error", "message": "internal error", "details": []}
    assert "Traceback" not in reply.raw["body"] and "trades" not in reply.raw["body"]
    # The next request works again on a new connection.
    assert invoke(api.handler, rest_event("POST", "/trades", json.dumps(trade_body("back")))).status == 201


def test_check_constraint_violation_is_422_and_writes_nothing(
    call: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Let an out-of-range quantity past the handler's validation: the table's CHECK (error 4025 on MariaDB,
    # 3819 on MySQL, both OperationalError in pymysql) must still refuse it.
    monkeypatch.setattr("handlers.trades.MAX_QUANTITY", 10**12)
    reply = call("POST", "/trades", trade_body("too-many", quantity=2_000_000_000))
    assert reply.status == 422
    assert_error_contract(reply)
    assert trade_rows(db) == []
    assert call("POST", "/trades", trade_body("fine")).status == 201


def test_lock_wait_timeout_is_503_and_the_retry_succeeds(
    api_module: Any, settings: Settings, mariadb_server: MariaDB, db: Any
) -> None:
    with db.cursor() as cursor:
        cursor.execute("SET GLOBAL innodb_lock_wait_timeout = 1")
    blocker = mariadb_server.connect(database="trading_test", autocommit=False)
    try:
        api = api_module.build(settings)  # new sessions pick up the 1 s lock wait
        with blocker.cursor() as cursor:  # an uncommitted insert holds the key
            cursor.execute(
                "INSERT INTO trades (client_order_id, symbol, side, order_type, quantity, limit_price, created_at)"
                " VALUES ('locked', 'AAPL', 'BUY', 'LIMIT', 100, 187.25, UTC_TIMESTAMP(6))"
            )
        _assert_503(invoke(api.handler, rest_event("POST", "/trades", json.dumps(trade_body("locked")))))
        blocker.rollback()
        reply = invoke(api.handler, rest_event("POST", "/trades", json.dumps(trade_body("locked"))))
        assert reply.status == 201
    finally:
        blocker.close()
        with db.cursor() as cursor:
            cursor.execute("SET GLOBAL innodb_lock_wait_timeout = 50")
    assert [row[0] for row in trade_rows(db)] == ["locked"]


@pytest.fixture
def crash_settings(api_module: Any, plain_server: MariaDB, plain_migrated: dict[str, str]) -> Settings:
    """The API on the plain server (migrated there), its trades table empty."""
    with plain_server.connect(database="trading_test") as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM trades")
    return Settings.for_api(plain_migrated)


def test_server_crash_under_load(api_module: Any, plain_server: MariaDB, crash_settings: Settings) -> None:
    """SIGKILL the server mid-load: only 503s while it is down, recovery after restart, every order stored once."""
    successes = FORK.Semaphore(0)

    def client(worker: int, api: Any) -> list[tuple[float, float, int]]:
        log = []  # (sent, answered, status); time.monotonic() is one clock for every process
        for number in range(ORDERS_PER_WORKER):
            body = trade_body(f"w{worker}-{number}", quantity=number + 1, limit_price=f"{worker}.{number:02d}1")
            while True:  # the client's retry loop: same client order id until it gets an answer
                sent = time.monotonic()
                reply = invoke(api.handler, rest_event("POST", "/trades", json.dumps(body)))
                log.append((sent, time.monotonic(), reply.status))
                if reply.status in (200, 201):
                    assert reply.body["client_order_id"] == body["client_order_id"]
                    assert reply.body["quantity"] == body["quantity"]
                    successes.release()
                    break
                _assert_503(reply)
                time.sleep(0.01)
        return log

    # The clients run in their own environments; this process kills and restarts the server meanwhile.
    outcome: dict[str, Any] = {}

    def clients() -> None:
        try:
            outcome["logs"] = in_environments(WORKERS, lambda: api_module.build(crash_settings), client, timeout=120)
        except BaseException as exc:  # asserted below
            outcome["error"] = exc

    runner = threading.Thread(target=clients)
    runner.start()
    for _ in range(WORKERS * ORDERS_PER_WORKER // 4):  # let a quarter of the orders through first
        assert successes.acquire(timeout=30)
    killed_at = time.monotonic()
    plain_server.kill()
    time.sleep(0.5)
    restarting_at = time.monotonic()
    plain_server.start()
    ready_at = time.monotonic()
    runner.join(timeout=150)
    assert not runner.is_alive() and "error" not in outcome, outcome.get("error")
    log = [entry for worker_log in outcome["logs"] for entry in worker_log]

    statuses = Counter(status for _, _, status in log)
    assert set(statuses) <= {200, 201, 503}, statuses
    during_outage = [status for sent, answered, status in log if sent > killed_at and answered < restarting_at]
    assert during_outage and set(during_outage) == {503}, Counter(during_outage)
    after_recovery = [status for sent, _, status in log if sent > ready_at]
    assert after_recovery and 503 not in after_recovery, Counter(after_recovery)

    with plain_server.connect(database="trading_test") as connection:
        rows = trade_rows(connection)
    expected = sorted(
        (f"w{worker}-{number}", "AAPL", "BUY", "LIMIT", number + 1, Decimal(f"{worker}.{number:02d}1"))
        for worker in range(WORKERS)
        for number in range(ORDERS_PER_WORKER)
    )
    assert sorted(rows) == expected  # no duplicate, no missing, no partial row
    assert statuses[201] + statuses[200] == WORKERS * ORDERS_PER_WORKER
