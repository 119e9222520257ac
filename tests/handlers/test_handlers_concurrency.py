"""Idempotency under concurrency: identical requests racing in separate execution environments."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

from tests.handlers.lambda_support import invoke, rest_event, trade_body, trade_rows

THREADS = 8
ROUNDS = 15


def _race(apis: list[Any], bodies: list[dict[str, Any]]) -> list[Any]:
    """Send ``bodies[i]`` through ``apis[i]`` at the same moment; return the replies in thread order."""
    barrier = threading.Barrier(len(apis))
    replies: list[Any] = [None] * len(apis)

    def send(index: int) -> None:
        event = rest_event("POST", "/trades", json.dumps(bodies[index]))
        barrier.wait()
        replies[index] = invoke(apis[index].handler, event)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(apis))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return replies


def test_concurrent_identical_requests_store_exactly_one_row(api_module: Any, settings: Any, db: Any) -> None:
    # One API instance (own resolver, own connection) per thread, like separate Lambda execution environments.
    apis = [api_module.build(settings) for _ in range(THREADS)]
    try:
        for round_number in range(ROUNDS):
            client_order_id = f"race-{round_number}"
            replies = _race(apis, [trade_body(client_order_id, quantity=round_number + 1)] * THREADS)

            statuses = Counter(reply.status for reply in replies)
            assert statuses == {201: 1, 200: THREADS - 1}, statuses
            assert len({json.dumps(reply.body, sort_keys=True) for reply in replies}) == 1  # all see one trade
        rows = trade_rows(db)
        assert len(rows) == ROUNDS
        assert sorted(rows) == sorted((f"race-{n}", "AAPL", "BUY", "LIMIT", n + 1, rows[0][5]) for n in range(ROUNDS))
    finally:
        for api in apis:
            api.database.close()


def test_concurrent_conflicting_requests_keep_the_winner(api_module: Any, settings: Any, db: Any) -> None:
    apis = [api_module.build(settings) for _ in range(THREADS)]
    try:
        for round_number in range(ROUNDS):
            client_order_id = f"clash-{round_number}"
            # Even threads send quantity 1, odd threads quantity 2: whichever commits first wins.
            bodies = [trade_body(client_order_id, quantity=1 + index % 2) for index in range(THREADS)]
            replies = _race(apis, bodies)

            winners = [index for index, reply in enumerate(replies) if reply.status == 201]
            assert len(winners) == 1, [reply.status for reply in replies]
            winning_quantity = bodies[winners[0]]["quantity"]
            for index, reply in enumerate(replies):
                if index == winners[0]:
                    continue
                expected = 200 if bodies[index]["quantity"] == winning_quantity else 409
                assert reply.status == expected, (index, reply.status, reply.body)
        rows = trade_rows(db)
        assert len(rows) == ROUNDS
        assert len({row[0] for row in rows}) == ROUNDS
    finally:
        for api in apis:
            api.database.close()
