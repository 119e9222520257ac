"""Logging and trade metrics shared by the entry points.

Service name and level come from ``POWERTOOLS_SERVICE_NAME`` and ``POWERTOOLS_LOG_LEVEL``. There is no
Tracer: it needs aws-xray-sdk (plus wrapt), which is not in the Lambda runtime and would add size and cold-start
import time for subsegments this small API does not need; Lambda's active tracing still records each
invocation without it.

Trade metrics (contract 3 of the platform: unit Count, dimension ``service``) are written as CloudWatch Embedded
Metric Format lines by Powertools Metrics, in the namespace ``POWERTOOLS_METRICS_NAMESPACE``. A request emits at
most one, so it is flushed at once (one EMF line per trade outcome) rather than by ``log_metrics`` after every
invocation, which would warn about an empty metric set on each GET. ``EphemeralMetrics`` rather than
``Metrics``: the latter shares one metric set between all its instances in a process, so two API instances (the
tests run several execution environments in one process) would flush each other's counts.
"""

from __future__ import annotations

from handlers.powertools import EphemeralMetrics, Logger, MetricUnit

TRADES_CREATED = "TradesCreated"  # 201: a new trade row
TRADES_REPLAYED = "TradesReplayed"  # 200: the same order sent again, nothing written
TRADE_CONFLICTS = "TradeConflicts"  # 409: the client order id is taken by a different order

logger = Logger()


def trade_metrics(namespace: str | None) -> EphemeralMetrics:
    """The metric set of one execution environment (service dimension from ``POWERTOOLS_SERVICE_NAME``)."""
    return EphemeralMetrics(namespace=namespace)


def count(metrics: EphemeralMetrics, name: str) -> None:
    """Count one ``name`` and print its EMF line now."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
