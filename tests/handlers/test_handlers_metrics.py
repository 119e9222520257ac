"""The trade metrics (platform contract 3): one EMF line per trade outcome, replays and conflicts counted apart."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.observability import TRADE_CONFLICTS, TRADES_CREATED, TRADES_REPLAYED
from tests.handlers.lambda_support import METRICS_NAMESPACE, emf_documents, trade_body


def _metrics_printed(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str, list[list[str]], str, Any]]:
    """(namespace, metric name, dimension sets, service, value) for every EMF line printed since the last call."""
    found = []
    for document in emf_documents(capsys.readouterr().out.splitlines()):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                assert metric["Unit"] == "Count"
                name = metric["Name"]
                dimensions = directive["Dimensions"]
                found.append((directive["Namespace"], name, dimensions, document["service"], document[name]))
    return found


def test_each_trade_outcome_prints_its_own_metric(call: Any, db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    expected_dimensions = [["service"]]

    assert call("POST", "/trades", trade_body("m-1")).status == 201
    assert _metrics_printed(capsys) == [(METRICS_NAMESPACE, TRADES_CREATED, expected_dimensions, "trades-api", [1.0])]

    assert call("POST", "/trades", trade_body("m-1")).status == 200
    assert _metrics_printed(capsys) == [(METRICS_NAMESPACE, TRADES_REPLAYED, expected_dimensions, "trades-api", [1.0])]

    assert call("POST", "/trades", trade_body("m-1", quantity=7)).status == 409
    assert _metrics_printed(capsys) == [(METRICS_NAMESPACE, TRADE_CONFLICTS, expected_dimensions, "trades-api", [1.0])]


def test_requests_that_store_nothing_new_print_no_trade_metric(
    call: Any, db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    created = call("POST", "/trades", trade_body("m-2"))
    capsys.readouterr()
    for method, path, body in (
        ("GET", f"/trades/{created.body['id']}", None),
        ("GET", "/health", None),
        ("POST", "/trades", "{"),
        ("POST", "/trades", trade_body("m-3", side="HOLD")),
        ("GET", "/nope", None),
    ):
        assert call(method, path, body).status in (200, 400, 404)
    assert _metrics_printed(capsys) == []


def test_metric_names_are_the_contract() -> None:
    assert (TRADES_CREATED, TRADES_REPLAYED, TRADE_CONFLICTS) == ("TradesCreated", "TradesReplayed", "TradeConflicts")
