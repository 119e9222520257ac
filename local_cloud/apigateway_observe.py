"""What API Gateway records about each request: the stage's access log line and the ``AWS/ApiGateway`` metrics.

- Access log: when the stage has access log settings (``aws_api_gateway_stage.access_log_settings``), one line per
  request in the destination log group, the stage's format with its ``$context.*`` variables filled in (``-`` for
  a variable without a value, as AWS writes it). Stream: ``{api-id}_{stage}``.
- Metrics, namespace ``AWS/ApiGateway``: ``Count``, ``4XXError``, ``5XXError`` (1 or 0 per request, so their
  Average is the error rate), ``Latency`` and ``IntegrationLatency`` (ms), with the dimensions ``ApiName`` and
  ``ApiName, Stage``, plus ``ApiName, Method, Resource, Stage`` when the method's settings enable detailed metrics
  (``metrics_enabled``). So the platform's alarms and dashboards (python_stacks/aws/operations.py) see local traffic.

Both go to the emulator's own CloudWatch backends. Recording never changes or delays the answer beyond a few
dictionary writes; a failure is logged and dropped.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.logs.models import logs_backends

from local_cloud.apigateway_auth import Caller
from local_cloud.apigateway_http import GatewayResponse, Request
from local_cloud.apigateway_lambda import REQUEST_TIME_FORMAT, RequestIds
from local_cloud.apigateway_routing import Route
from local_cloud.apigateway_throttling import STAGE_DEFAULT_KEY, method_settings_key

NAMESPACE = "AWS/ApiGateway"
CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")
LOG_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:logs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):log-group:(?P<name>[^:]+)")


@dataclass(frozen=True)
class Outcome:
    """One finished request, as the access log and the metrics describe it."""

    request: Request
    route: Route
    caller: Caller | None
    ids: RequestIds
    status: int
    response_length: int
    latency_ms: float
    integration_ms: float | None  # None when the integration was not called
    integration_status: int | None
    error: GatewayResponse | None


def context_variables(outcome: Outcome) -> dict[str, str]:
    """The ``$context`` variables of the access log format that the emulator knows."""
    request, route, caller, ids, error = outcome.request, outcome.route, outcome.caller, outcome.ids, outcome.error
    values: dict[str, Any] = {
        "requestId": ids.request_id,
        "extendedRequestId": ids.extended_request_id,
        "apiId": route.api.id,
        "accountId": route.account_id,
        "stage": route.stage.name,
        "domainName": route.domain_name,
        "domainPrefix": route.domain_name.split(".", 1)[0],
        "deploymentId": route.deployment.deployment_id,
        "requestTime": datetime.fromtimestamp(ids.epoch_ms / 1000, UTC).strftime(REQUEST_TIME_FORMAT),
        "requestTimeEpoch": ids.epoch_ms,
        "httpMethod": request.method,
        "resourcePath": route.resource.path,
        "resourceId": route.resource.id,
        "path": route.context_path,
        "protocol": request.protocol,
        "status": outcome.status,
        "responseLength": outcome.response_length,
        "responseLatency": round(outcome.latency_ms),
        "xrayTraceId": ids.trace_id.split(";", 1)[0].removeprefix("Root="),
        "identity.sourceIp": request.source_ip,
        "identity.userAgent": request.header("User-Agent"),
        "identity.caller": caller.caller if caller else None,
        "identity.user": caller.caller if caller else None,
        "identity.userArn": caller.user_arn if caller else None,
        "identity.accessKey": caller.access_key if caller else None,
        "identity.accountId": caller.account_id if caller else None,
        "integration.latency": round(outcome.integration_ms) if outcome.integration_ms is not None else None,
        "integrationLatency": round(outcome.integration_ms) if outcome.integration_ms is not None else None,
        "integration.status": outcome.integration_status,
        "integrationStatus": outcome.integration_status,
        "integration.error": error.message if error and outcome.integration_ms is not None else None,
        "error.message": error.message if error else None,
        "error.messageString": f'"{error.message}"' if error else None,
        "error.responseType": error.response_type if error else None,
    }
    return {name: "-" if value is None else str(value) for name, value in values.items()}


def access_log_line(log_format: str, variables: Mapping[str, str]) -> str:
    return CONTEXT_VARIABLE.sub(lambda match: variables.get(match.group(1), "-"), log_format)


def _detailed(method_settings: Mapping[str, Any], route: Route) -> bool:
    key = method_settings_key(route.resource.path, route.method.http_method)
    settings = method_settings.get(key) or method_settings.get(STAGE_DEFAULT_KEY) or {}
    return bool(settings.get("metricsEnabled"))


def metric_data(outcome: Outcome) -> list[dict[str, Any]]:
    route = outcome.route
    api = {"Name": "ApiName", "Value": route.api.name}
    stage = {"Name": "Stage", "Value": route.stage.name}
    dimension_sets = [[api], [api, stage]]
    if _detailed(route.stage.method_settings or {}, route):
        dimension_sets.append(
            [
                api,
                {"Name": "Method", "Value": outcome.request.method},
                {"Name": "Resource", "Value": route.resource.path},
                stage,
            ]
        )
    # Naive UTC, as moto keeps every other datapoint (it compares them with naive times).
    timestamp = datetime.fromtimestamp(outcome.ids.epoch_ms / 1000, UTC).replace(tzinfo=None)
    values = [
        ("Count", 1.0, "Count"),
        ("4XXError", 1.0 if 400 <= outcome.status < 500 else 0.0, "Count"),
        ("5XXError", 1.0 if outcome.status >= 500 else 0.0, "Count"),
        ("Latency", outcome.latency_ms, "Milliseconds"),
    ]
    if outcome.integration_ms is not None:
        values.append(("IntegrationLatency", outcome.integration_ms, "Milliseconds"))
    return [
        {"MetricName": name, "Value": value, "Unit": unit, "Dimensions": dimensions, "Timestamp": timestamp}
        for dimensions in dimension_sets
        for name, value, unit in values
    ]


def record(outcome: Outcome) -> None:
    """Write the access log line and the metrics of one request; never raises."""
    route = outcome.route
    try:
        cloudwatch_backends[route.account_id][route.region].put_metric_data(NAMESPACE, metric_data(outcome))
        settings = route.stage.access_log_settings or {}
        destination = LOG_GROUP_ARN.match(str(settings.get("destinationArn") or ""))
        if destination and settings.get("format"):
            logs = logs_backends[destination["account"]][destination["region"]]
            group, stream = destination["name"], f"{route.api.id}_{route.stage.name}"
            logs.ensure_log_stream(group, stream)
            line = access_log_line(str(settings["format"]), context_variables(outcome))
            logs.put_log_events(group, stream, [{"timestamp": outcome.ids.epoch_ms, "message": line}])
    except Exception as exc:  # observability must never fail a request
        print(f"execute-api: could not record request {outcome.ids.request_id}: {exc!r}", file=sys.stderr, flush=True)
