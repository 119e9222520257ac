"""Idempotency under concurrency: identical requests racing in separate execution environments."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tests.handlers.environments import FORK, in_environments
from tests.handlers.lambda_support import Reply, invoke, rest_event, trade_body, trade_rows

ENVIRONMENTS = 8
ROUNDS = 15


def _race(api_module: Any, settings: Any, bodies: list[list[dict[str, Any]]]) -> list[list[Reply]]:
    """Round r: environment i sends ``bodies[r][i]``, all at the same moment; replies[r][i]."""
    barrier = FORK.Barrier(ENVIRONMENTS)

    def job(index: int, api: Any) -> list[Reply]:
        replies = []
        for round_bodies in bodies:
            event = rest_event("POST", "/trades", json.dumps(round_bodies[index]))
            barrier.wait(timeout=60)
            replies.append(invoke(api.handler, event))
        return replies

    per_environment = in_environments(ENVIRONMENTS, lambda: api_module.build(settings), job)
    return [[replies[round_number] for replies in per_environment] for round_number in range(len(bodies))]


def test_concurrent_identical_requests_store_exactly_one_row(api_module: Any, settings: Any, db: Any) -> None:
    bodies = [[trade_body(f"race-{number}", quantity=number + 1)] * ENVIRONMENTS for number in range(ROUNDS)]
    for replies in _race(api_module, settings, bodies):
        statuses = Counter(reply.status for reply in replies)
        assert statuses == {201: 1, 200: ENVIRONMENTS - 1}, statuses
        assert len({json.dumps(reply.body, sort_keys=True) for reply in replies}) == 1  # all see one trade
    rows = trade_rows(db)
    assert len(rows) == ROUNDS
    assert sorted(rows) == sorted((f"race-{n}", "AAPL", "BUY", "LIMIT", n + 1, rows[0][5]) for n in range(ROUNDS))


def test_concurrent_conflicting_requests_keep_the_winner(api_module: Any, settings: Any, db: Any) -> None:
    # Even environments send quantity 1, odd ones quantity 2: whichever commits first wins.
    bodies = [
        [trade_body(f"clash-{number}", quantity=1 + index % 2) for index in range(ENVIRONMENTS)]
        for number in range(ROUNDS)
    ]
    for round_bodies, replies in zip(bodies, _race(api_module, settings, bodies), strict=True):
        winners = [index for index, reply in enumerate(replies) if reply.status == 201]
        assert len(winners) == 1, [reply.status for reply in replies]
        winning_quantity = round_bodies[winners[0]]["quantity"]
        for index, reply in enumerate(replies):
            if index == winners[0]:
                continue
            expected = 200 if round_bodies[index]["quantity"] == winning_quantity else 409
            assert reply.status == expected, (index, reply.status, reply.body)
            if expected == 200:
                assert reply.body == replies[winners[0]].body
            else:
                assert reply.body["trade_id"] == replies[winners[0]].body["id"]
    rows = trade_rows(db)
    assert len(rows) == ROUNDS
    assert len({row[0] for row in rows}) == ROUNDS
