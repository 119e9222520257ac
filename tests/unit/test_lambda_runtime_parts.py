"""The Lambda runtime's pure parts: EMF extraction, Lambda's platform lines, event payloads, AWS-published layers."""

from __future__ import annotations

import re

import pytest

from local_cloud import lambda_api, lambda_logs
from local_cloud.lambda_runtime import InvalidRequestContentException, _payload


def test_emf_gives_one_metric_per_dimension_set_with_every_value() -> None:
    document = {
        "_aws": {
            "Timestamp": 1_700_000_000_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "trading-dev",
                    "Dimensions": [["service"], ["service", "route"]],
                    "Metrics": [{"Name": "TradesCreated", "Unit": "Count"}, {"Name": "Missing"}],
                }
            ],
        },
        "service": "trades-api",
        "route": "/trades",
        "TradesCreated": [1.0, 2],
    }
    ((namespace, data),) = lambda_logs.emf_metric_data(document)
    assert namespace == "trading-dev"
    assert [(d["MetricName"], d["Values"], d["Unit"], d["Dimensions"]) for d in data] == [
        ("TradesCreated", [1.0, 2.0], "Count", [{"Name": "service", "Value": "trades-api"}]),
        (
            "TradesCreated",
            [1.0, 2.0],
            "Count",
            [{"Name": "service", "Value": "trades-api"}, {"Name": "route", "Value": "/trades"}],
        ),
    ]
    assert data[0]["Timestamp"].tzinfo is None and data[0]["Timestamp"].year == 2023


@pytest.mark.parametrize(
    "document",
    [
        {"message": "an ordinary JSON log line"},
        {
            "_aws": {"CloudWatchMetrics": [{"Namespace": "n", "Dimensions": [["absent"]], "Metrics": [{"Name": "m"}]}]},
            "m": 1,
        },
        {"_aws": {"CloudWatchMetrics": [{"Namespace": "n", "Metrics": [{"Name": "m"}]}]}, "m": "not a number"},
        {"_aws": {"CloudWatchMetrics": "not a list"}},
    ],
)
def test_what_is_not_valid_emf_gives_no_metric(document: dict[str, object]) -> None:
    assert lambda_logs.emf_metric_data(document) == []


def test_platform_lines_are_lambdas() -> None:
    assert lambda_logs.start_line("r1", "$LATEST") == "START RequestId: r1 Version: $LATEST"
    assert lambda_logs.end_line("r1") == "END RequestId: r1"
    assert lambda_logs.report_line("r1", duration_ms=2.345, memory_mb=512, max_memory_mb=60, init_ms=100.0) == (
        "REPORT RequestId: r1\tDuration: 2.35 ms\tBilled Duration: 103 ms\tMemory Size: 512 MB\t"
        "Max Memory Used: 60 MB\tInit Duration: 100.00 ms"
    )
    timed_out = lambda_logs.report_line("r1", duration_ms=3000.0, memory_mb=128, max_memory_mb=20, status="timeout")
    assert timed_out.endswith("\tStatus: timeout")
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", lambda_logs.stream_name("$LATEST"))
    assert re.fullmatch(r".+Z r1 Task timed out after 3.00 seconds", lambda_logs.timeout_line("r1", 3))


def test_an_empty_payload_is_an_empty_object_and_one_that_is_not_json_is_refused() -> None:
    assert _payload("") == b"{}" and _payload(None) == b"{}"
    assert _payload('{"a": 1}') == b'{"a": 1}' and _payload(b"[1]") == b"[1]"
    with pytest.raises(InvalidRequestContentException) as refused:
        _payload("{nope")
    assert refused.value.code == 400


@pytest.mark.parametrize(
    ("arn", "published"),
    [
        ("arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:11", True),
        ("arn:aws:lambda:eu-west-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:4", True),
        ("arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension", False),
        ("arn:aws:lambda:us-east-1:123456789012:layer:AWS-Parameters-and-Secrets-Lambda-Extension:11", False),
        ("arn:aws:lambda:us-east-1:177933569100:layer:Other:1", False),
    ],
)
def test_which_layers_count_as_aws_published(arn: str, published: bool) -> None:
    assert lambda_api.is_published_layer(arn) is published
