"""Where a worker's output goes, as Lambda and CloudWatch do it: the function's log group in the emulator's CloudWatch
Logs (one stream per execution environment, Lambda's platform lines around each invocation), metrics in the
Embedded Metric Format turned into CloudWatch metrics, and Lambda's own AWS/Lambda metrics per invocation.

Writes go straight into moto's logs and cloudwatch backends (the methods tests/unit/test_moto_contract_lambda.py
pins), under one lock: moto's backends are not made for concurrent writers. A failure to log is reported on the
emulator's stderr and never fails an invocation.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.logs.exceptions import ResourceNotFoundException
from moto.logs.models import logs_backends

from local_cloud.lambda_worker import Line, now_ms

_lock = threading.Lock()
_MAX_EMF_VALUES = 100  # CloudWatch extracts at most 100 values per metric from one EMF event


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _utc(ms: int) -> datetime:
    # moto's CloudWatch keeps naive UTC datetimes (moto.core.utils.utcnow); an aware one would not compare.
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)


# --- Lambda's platform lines (text log format) --------------------------------------------------------------------


def init_start_line() -> str:
    return "INIT_START Runtime Version: python:3.12.local_cloud\tRuntime Version ARN: none"


def init_report_line(init_ms: float, error_type: str) -> str:
    return f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: error\tError Type: {error_type}"


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def timeout_line(request_id: str, seconds: float) -> str:
    return f"{_iso(now_ms())} {request_id} Task timed out after {seconds:.2f} seconds"


def report_line(
    request_id: str,
    *,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {math.ceil(duration_ms + (init_ms or 0.0))} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        parts.append(f"Status: {status}")
    if error_type:
        parts.append(f"Error Type: {error_type}")
    return "\t".join(parts)


# --- log streams -------------------------------------------------------------------------------------------------


def stream_name(version: str) -> str:
    """Lambda's name for an execution environment's stream: ``YYYY/MM/DD/[$LATEST]<32 hex digits>``."""
    return f"{datetime.now(UTC):%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


@dataclass
class LogStream:
    """One worker's stream in its function's log group."""

    account_id: str
    region: str
    group: str
    name: str
    _created: bool = field(default=False, init=False)
    _last_ms: int = field(default=0, init=False)

    def write(self, lines: Iterable[Line]) -> None:
        events = []
        for stamp, message in lines:
            self._last_ms = max(self._last_ms, stamp)  # one PutLogEvents batch must be in order
            events.append({"timestamp": self._last_ms, "message": message})
        if not events:
            return
        try:
            with _lock:
                backend = logs_backends[self.account_id][self.region]
                if not self._created or self.group not in backend.groups:
                    # Lambda creates its log group on first use when the function's role may (the stack creates it).
                    backend.ensure_log_group(self.group)
                    backend.ensure_log_stream(self.group, self.name)
                    self._created = True
                backend.put_log_events(self.group, self.name, events)
            for _, document in lines_with_json(events):
                put_emf(self.account_id, self.region, document)
        except (ResourceNotFoundException, KeyError, ValueError) as exc:
            print(f"local_cloud lambda: cannot write to log group {self.group}: {exc!r}", file=sys.stderr, flush=True)


def lines_with_json(events: list[dict[str, Any]]) -> Iterable[tuple[int, dict[str, Any]]]:
    for event in events:
        message = event["message"]
        if message.startswith("{") and '"_aws"' in message:
            try:
                document = json.loads(message)
            except ValueError:
                continue
            if isinstance(document, dict):
                yield event["timestamp"], document


# --- metrics ------------------------------------------------------------------------------------------------------


def emf_metric_data(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(namespace, MetricData) pairs from one EMF event, as CloudWatch Logs extracts them; [] when not EMF."""
    metadata = document.get("_aws")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("CloudWatchMetrics"), list):
        return []
    stamp = metadata.get("Timestamp")
    timestamp = _utc(int(stamp)) if isinstance(stamp, (int, float)) else _utc(now_ms())
    extracted = []
    for directive in metadata["CloudWatchMetrics"]:
        if not isinstance(directive, dict) or not isinstance(directive.get("Namespace"), str):
            continue
        dimension_sets = directive.get("Dimensions") or [[]]
        data = []
        for metric in directive.get("Metrics") or []:
            name = metric.get("Name") if isinstance(metric, dict) else None
            raw = document.get(name) if isinstance(name, str) else None
            values = raw if isinstance(raw, list) else [raw]
            values = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if not values:
                continue  # CloudWatch skips a metric without a numeric value
            for dimension_names in dimension_sets:
                dimensions = [
                    {"Name": key, "Value": document[key]}
                    for key in dimension_names
                    if isinstance(document.get(key), str)
                ]
                if len(dimensions) != len(dimension_names):
                    continue  # a dimension without a string value on the root: not extracted
                datum: dict[str, Any] = {
                    "MetricName": name,
                    "Values": values[:_MAX_EMF_VALUES],
                    "Dimensions": dimensions,
                    "Timestamp": timestamp,
                }
                if isinstance(metric.get("Unit"), str):
                    datum["Unit"] = metric["Unit"]
                data.append(datum)
        if data:
            extracted.append((directive["Namespace"], data))
    return extracted


def put_emf(account_id: str, region: str, document: dict[str, Any]) -> None:
    for namespace, data in emf_metric_data(document):
        put_metric_data(account_id, region, namespace, data)


def put_metric_data(account_id: str, region: str, namespace: str, data: list[dict[str, Any]]) -> None:
    with _lock:
        cloudwatch_backends[account_id][region].put_metric_data(namespace, data)


def lambda_metrics(
    account_id: str,
    region: str,
    function_name: str,
    *,
    duration_ms: float | None = None,
    error: bool = False,
    throttled: bool = False,
    concurrent: int | None = None,
) -> None:
    """Lambda's own per-invocation metrics (namespace AWS/Lambda, dimension FunctionName), as the alarms read them."""
    dimensions = [{"Name": "FunctionName", "Value": function_name}]
    timestamp = _utc(now_ms())
    data: list[dict[str, Any]] = []

    def add(name: str, value: float, unit: str) -> None:
        data.append(
            {"MetricName": name, "Value": value, "Unit": unit, "Dimensions": dimensions, "Timestamp": timestamp}
        )

    if throttled:
        add("Throttles", 1, "Count")
    else:
        add("Invocations", 1, "Count")
        add("Errors", 1 if error else 0, "Count")
    if duration_ms is not None:
        add("Duration", duration_ms, "Milliseconds")
    if concurrent is not None:
        add("ConcurrentExecutions", concurrent, "Count")
    put_metric_data(account_id, region, "AWS/Lambda", data)
