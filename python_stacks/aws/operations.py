"""What on-call sees of one workspace: the alert topic, the alarms, the "trading degraded" page and the dashboard.

Thresholds come from the workspace settings (``settings.operations``); each alarm's description says what it means
and what to check first (the runbook is docs/operations.md); every alarm notifies the topic on ALARM and on OK.
Aurora's alarms live in tf_modules/aurora (alarms.tf), reusable without this project: this construct switches them
on and points them at the topic. Choices a successor would question: docs/decisions/0014-operations.md.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cdktf import Fn
from cdktf_cdktf_provider_aws.cloudwatch_composite_alarm import CloudwatchCompositeAlarm
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from python_stacks.aws.api import Api
from python_stacks.aws.database import Aurora
from python_stacks.aws.lambda_package import TRADES_API, trade_metrics_namespace
from python_stacks.config import StackConfig
from python_stacks.constants import REGION
from python_stacks.workspace import AlertSubscription, Naming

MIB = 1024 * 1024
# Routes whose latency is alarmed and shown; the /health probe is neither a trade nor a customer's wait.
TRADE_ROUTES: tuple[tuple[str, str], ...] = (("POST", "/trades"), ("GET", "/trades/{id}"))
# Contract 3: what the trades function emits through Powertools Metrics (EMF), unit Count.
TRADE_METRICS = ("TradesCreated", "TradesReplayed", "TradeConflicts")
# tf_modules/aurora's alarm keys (output cloudwatch_alarm_names) that join the composite page.
AURORA_PAGING_ALARMS = ("writer-cpu", "writer-connections")


def alarm_name(naming: Naming, what: str) -> str:
    """``alarm_name(naming, "api-5xx-rate")`` -> ``alarm-api-5xx-rate-dev``; tf_modules/aurora uses the same shape."""
    return naming.name(f"alarm-{what}")


def alarm_arn_pattern(naming: Naming, account_id: str) -> str:
    """ARNs of every alarm of the workspace: what may publish to its topic and use its key for it."""
    return f"arn:aws:cloudwatch:{REGION}:{account_id}:alarm:{alarm_name(naming, '*')}"


@dataclass(frozen=True)
class WatchedFunction:
    """What the alarms need to know of a Lambda function, read from the function as the stack configured it."""

    name: str
    timeout_s: float
    reserved_concurrency: float | None
    environment: Mapping[str, str]

    @classmethod
    def of(cls, function: LambdaFunction) -> WatchedFunction:
        environment = function.environment_input
        variables = dict(environment.variables or {}) if environment is not None else {}
        reserved = function.reserved_concurrent_executions_input
        return cls(
            name=str(function.function_name_input),
            timeout_s=float(function.timeout_input or 3),  # Lambda's default timeout
            reserved_concurrency=None if reserved is None or reserved < 0 else float(reserved),
            environment=variables,
        )

    def concurrency_threshold(self, share: float) -> int | None:
        """Concurrent executions that count as "near" the reserved concurrency, or None where nothing is near:
        a function reserved to 1 or 2 runs at its ceiling in normal use, and its Throttles alarm says when it is hit."""
        if self.reserved_concurrency is None:
            return None
        threshold = math.ceil(share * self.reserved_concurrency)
        return threshold if threshold < self.reserved_concurrency else None


class Operations(Construct):
    """The workspace's alert topic, alarms, paging composite and dashboard (``alerts-``, ``alarm-...-``,
    ``dashboard-<suffix>``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        account_id: str,
        kms_key_arn: str,
        api: Api,
        functions: Mapping[str, LambdaFunction],
        database: Aurora,
    ) -> None:
        super().__init__(scope, construct_id)
        self._naming = naming = config.naming
        self._settings = settings = config.settings.operations
        self._api_name = api.api_name
        self._stage = api.stage_name
        self._cluster = naming.name("aurora")  # tf_modules/aurora's cluster_identifier
        self._functions = {key: WatchedFunction.of(function) for key, function in functions.items()}

        self.topic = SnsTopic(
            self,
            "topic",
            name=naming.name("alerts"),
            kms_master_key_id=kms_key_arn,
            tags={"Name": naming.name("alerts")},
        )
        self._allow_alarms_to_publish(account_id)
        self._actions = [self.topic.arn]
        self.composite_name = alarm_name(naming, "trading-degraded")
        for subscription in settings.subscriptions:
            self._subscribe(subscription)

        api_alarms = self._api_alarms()
        function_alarms = {key: self._function_alarms(key, fn) for key, fn in self._functions.items()}
        self._watch_database(database)
        paging = [
            api_alarms["5xx-rate"].alarm_name,
            *(alarm.alarm_name for what, alarm in api_alarms.items() if what.startswith("latency-")),
            function_alarms[TRADES_API.resource_type]["throttles"].alarm_name,
            *(Fn.lookup(database.alarm_names, key) for key in AURORA_PAGING_ALARMS),
        ]
        self.composite = CloudwatchCompositeAlarm(
            self,
            "trading-degraded",
            alarm_name=self.composite_name,
            alarm_description=(
                "PAGE: trade processing is degraded: API 5XX rate or trade-route p99 latency, throttled trades, or "
                "the Aurora writer's CPU or connections are in ALARM. First check: which member alarm is in ALARM "
                "(alarm history), then docs/operations.md for that alarm."
            ),
            alarm_rule=Fn.join(" OR ", [Fn.format("ALARM(%q)", [name]) for name in paging]),
            actions_enabled=True,
            alarm_actions=self._actions,
            ok_actions=self._actions,
            tags={"Name": self.composite_name},
        )
        self.dashboard = CloudwatchDashboard(
            self, "dashboard", dashboard_name=naming.name("dashboard"), dashboard_body=json.dumps(self.dashboard_body())
        )

    # --- alert topic ----------------------------------------------------------------------------------------------

    def _allow_alarms_to_publish(self, account_id: str) -> None:
        # Replaces SNS's default policy (any principal of the account): only this workspace's alarms publish.
        document = DataAwsIamPolicyDocument(
            self,
            "topic-policy-document",
            statement=[
                {
                    "sid": "AlarmsOfThisWorkspacePublish",
                    "principals": [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}],
                    "actions": ["sns:Publish"],
                    "resources": [self.topic.arn],
                    "condition": [
                        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [account_id]},
                        {
                            "test": "ArnLike",
                            "variable": "aws:SourceArn",
                            "values": [alarm_arn_pattern(self._naming, account_id)],
                        },
                    ],
                }
            ],
        )
        SnsTopicPolicy(self, "topic-policy", arn=self.topic.arn, policy=document.json)

    def _subscribe(self, subscription: AlertSubscription) -> None:
        # Keyed by the endpoint, so adding or removing one subscriber never replaces the others.
        digest = hashlib.sha256(f"{subscription.protocol}:{subscription.endpoint}".encode()).hexdigest()[:10]
        SnsTopicSubscription(
            self,
            f"subscription-{digest}",
            topic_arn=self.topic.arn,
            protocol=subscription.protocol,
            endpoint=subscription.endpoint,
            # Paging services get only the composite: CloudWatch's notification body carries the AlarmName.
            filter_policy=json.dumps({"AlarmName": [self.composite_name]}) if subscription.paging_only else None,
            filter_policy_scope="MessageBody" if subscription.paging_only else None,
            # An HTTPS subscription is confirmed by the endpoint itself (paging services do); e-mail by its reader.
            endpoint_auto_confirms=True if subscription.protocol == "https" else None,
        )

    # --- alarms ---------------------------------------------------------------------------------------------------

    def _alarm(
        self,
        what: str,
        *,
        description: str,
        namespace: str,
        metric: str,
        dimensions: Mapping[str, str],
        statistic: str,
        comparison: str,
        threshold: float,
        datapoints: int | None = None,
    ) -> CloudwatchMetricAlarm:
        s = self._settings
        name = alarm_name(self._naming, what)
        percentile = statistic.startswith("p")
        return CloudwatchMetricAlarm(
            self,
            what,
            alarm_name=name,
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=dict(dimensions),
            statistic=None if percentile else statistic,
            extended_statistic=statistic if percentile else None,
            comparison_operator=comparison,
            threshold=threshold,
            period=s.period_s,
            evaluation_periods=s.evaluation_periods,
            datapoints_to_alarm=datapoints or s.datapoints_to_alarm,
            # No requests or invocations is no evidence of a problem (an idle dev workspace must stay quiet).
            treat_missing_data="notBreaching",
            actions_enabled=True,
            alarm_actions=self._actions,
            ok_actions=self._actions,
            tags={"Name": name},
        )

    def _window(self, datapoints: int | None = None) -> str:
        s = self._settings
        return f"{datapoints or s.datapoints_to_alarm} of {s.evaluation_periods} periods of {s.period_s}s"

    def _api_alarms(self) -> dict[str, CloudwatchMetricAlarm]:
        s, stage = self._settings, {"ApiName": self._api_name, "Stage": self._stage}
        alarms = {
            "5xx-rate": self._alarm(
                "api-5xx-rate",
                description=(
                    f"More than {s.api_5xx_rate:.0%} of API requests end in 5XX ({self._window()}): trades are "
                    "failing on our side. First check: trades-api errors and throttles, then the Aurora writer; "
                    f"access log /aws/apigateway/{self._api_name} (status, integrationError)."
                ),
                namespace="AWS/ApiGateway",
                metric="5XXError",
                dimensions=stage,
                statistic="Average",
                comparison="GreaterThanThreshold",
                threshold=s.api_5xx_rate,
            ),
            "4xx-rate": self._alarm(
                "api-4xx-rate",
                description=(
                    f"More than {s.api_4xx_rate:.0%} of API requests are rejected with 4XX ({self._window()}): a "
                    "client sends invalid or unsigned trades, or is throttled (429). First check: the access log's "
                    "status and caller per request, then a recent client release or credential rotation."
                ),
                namespace="AWS/ApiGateway",
                metric="4XXError",
                dimensions=stage,
                statistic="Average",
                comparison="GreaterThanThreshold",
                threshold=s.api_4xx_rate,
            ),
        }
        for method, resource in TRADE_ROUTES:
            route = f"{method.lower()}-{resource.strip('/').replace('/', '-').replace('{', '').replace('}', '')}"
            alarms[f"latency-{route}"] = self._alarm(
                f"api-{route}-latency-p99",
                description=(
                    f"p99 latency of {method} {resource} above {s.api_latency_p99_ms} ms ({self._window()}): "
                    "traders wait. First check: trades-api duration p99 and cold starts (concurrency), then "
                    "Aurora writer CPU, connections and replica lag."
                ),
                namespace="AWS/ApiGateway",
                metric="Latency",
                dimensions={**stage, "Method": method, "Resource": resource},
                statistic="p99",
                comparison="GreaterThanThreshold",
                threshold=s.api_latency_p99_ms,
            )
        return alarms

    def _function_alarms(self, key: str, fn: WatchedFunction) -> dict[str, CloudwatchMetricAlarm]:
        s, function = self._settings, {"FunctionName": fn.name}
        # Errors and throttles are events: one breaching period in the window raises the alarm, and it clears
        # only after a whole window without them (no ALARM/OK flapping on sporadic errors).
        events = 1
        alarms = {
            "errors": self._alarm(
                f"{key}-errors",
                description=(
                    f"{fn.name} failed {s.lambda_errors_per_period} or more invocations in a period "
                    f"({self._window(events)}): unhandled exceptions, timeouts or out-of-memory. First check: ERROR "
                    f"lines in /aws/lambda/{fn.name}, then a deploy that just happened."
                ),
                namespace="AWS/Lambda",
                metric="Errors",
                dimensions=function,
                statistic="Sum",
                comparison="GreaterThanOrEqualToThreshold",
                threshold=s.lambda_errors_per_period,
                datapoints=events,
            ),
            "throttles": self._alarm(
                f"{key}-throttles",
                description=(
                    f"{fn.name} was throttled ({self._window(events)}): invocations were refused because its "
                    "reserved concurrency was exhausted. First check: the request rate against the API stage "
                    "throttle, then slow invocations holding concurrency (duration p99, Aurora)."
                ),
                namespace="AWS/Lambda",
                metric="Throttles",
                dimensions=function,
                statistic="Sum",
                comparison="GreaterThanThreshold",
                threshold=s.lambda_throttles_per_period,
                datapoints=events,
            ),
            "duration": self._alarm(
                f"{key}-duration-p99",
                description=(
                    f"p99 duration of {fn.name} above {s.lambda_duration_p99_of_timeout:.0%} of its "
                    f"{fn.timeout_s:g} s timeout ({self._window()}): invocations are close to being killed. "
                    "First check: slow queries on Aurora (Performance Insights), then calls to AWS APIs."
                ),
                namespace="AWS/Lambda",
                metric="Duration",
                dimensions=function,
                statistic="p99",
                comparison="GreaterThanThreshold",
                threshold=round(s.lambda_duration_p99_of_timeout * fn.timeout_s * 1000),
            ),
        }
        threshold = fn.concurrency_threshold(s.lambda_concurrency_of_reserved)
        if threshold is not None:
            alarms["concurrency"] = self._alarm(
                f"{key}-concurrency",
                description=(
                    f"{fn.name} runs {threshold} or more executions at once, near its reserved concurrency of "
                    f"{fn.reserved_concurrency:g} ({self._window()}): throttling is next. First check: request rate "
                    "and duration p99 (slower invocations hold more executions), then whether the reservation "
                    "still fits the traffic."
                ),
                namespace="AWS/Lambda",
                metric="ConcurrentExecutions",
                dimensions=function,
                statistic="Maximum",
                comparison="GreaterThanOrEqualToThreshold",
                threshold=threshold,
            )
        return alarms

    def _watch_database(self, database: Aurora) -> None:
        """Switch on tf_modules/aurora's alarms with this workspace's thresholds and topic."""
        s = self._settings
        inputs: dict[str, Any] = {
            "create_cloudwatch_alarms": True,
            "cloudwatch_alarm_actions": self._actions,
            "cloudwatch_ok_actions": self._actions,
            "cloudwatch_alarm_thresholds": {
                "cpu_utilization_percent": s.aurora_writer_cpu_percent,
                "connections_percent": s.aurora_connections_percent_of_max,
                "freeable_memory_bytes": s.aurora_freeable_memory_mib * MIB,
                "free_local_storage_bytes": s.aurora_free_local_storage_mib * MIB,
                "replica_lag_milliseconds": s.aurora_replica_lag_ms,
            },
            "cloudwatch_alarm_evaluation": {
                "period": s.period_s,
                "evaluation_periods": s.evaluation_periods,
                "datapoints_to_alarm": s.datapoints_to_alarm,
            },
        }
        database.switch_on_alarms(inputs)

    # --- dashboard ------------------------------------------------------------------------------------------------

    def dashboard_body(self) -> dict[str, Any]:
        """Rows of API, trades, functions and Aurora, each metric one of this workspace's resources.

        Plain names, no Terraform references: the body is known at plan time and is valid JSON as synthesized.
        """
        s, suffix = self._settings, self._naming.environment_suffix
        api = {"ApiName": self._api_name, "Stage": self._stage}
        trades = self._functions[TRADES_API.resource_type]
        service = {"service": trades.environment.get("POWERTOOLS_SERVICE_NAME", TRADES_API.resource_type)}
        namespace = trade_metrics_namespace(self._naming)
        functions = list(self._functions.values())

        def gateway(metric: str, stat: str, label: str, **route: str) -> list[Any]:
            return _line("AWS/ApiGateway", metric, {**api, **route}, stat, label)

        def per_function(metric: str, stat: str, label: str = "") -> list[list[Any]]:
            return [_line("AWS/Lambda", metric, {"FunctionName": f.name}, stat, f"{f.name}{label}") for f in functions]

        def per_role(metric: str, stat: str, roles: Sequence[str] = ("WRITER", "READER")) -> list[list[Any]]:
            cluster = {"DBClusterIdentifier": self._cluster}
            return [_line("AWS/RDS", metric, {**cluster, "Role": role}, stat, role.lower()) for role in roles]

        trade_counts = [_line(namespace, metric, service, "Sum", metric) for metric in TRADE_METRICS]
        latency = [
            gateway("Latency", stat, f"{method} {resource} {stat}", Method=method, Resource=resource)
            for method, resource in TRADE_ROUTES
            for stat in ("p50", "p99")
        ]
        rows = [
            [
                _graph("API requests per minute", [gateway("Count", "Sum", "requests")]),
                _graph("API 4XX / 5XX per minute", [gateway(f"{c}Error", "Sum", c) for c in ("4XX", "5XX")]),
                _graph("Trade route latency p50 / p99 (ms)", latency, ("p99 alarm", s.api_latency_p99_ms)),
            ],
            [
                _graph("Trades per minute: created, idempotent replays, conflicts", trade_counts),
                _graph("Trades in the selected time range", trade_counts, view="singleValue"),
            ],
            [
                _graph("Function invocations per minute", per_function("Invocations", "Sum")),
                _graph(
                    "Function errors and throttles per minute",
                    per_function("Errors", "Sum", " errors") + per_function("Throttles", "Sum", " throttles"),
                ),
                _graph("Function duration p99 (ms)", per_function("Duration", "p99")),
                _graph("Function concurrent executions (max)", per_function("ConcurrentExecutions", "Maximum")),
            ],
            [
                _graph(
                    "Aurora CPU % by role",
                    per_role("CPUUtilization", "Average"),
                    ("writer alarm", s.aurora_writer_cpu_percent),
                ),
                _graph("Aurora connections by role (max)", per_role("DatabaseConnections", "Maximum")),
                _graph(
                    "Aurora replica lag (ms, max)",
                    per_role("AuroraReplicaLag", "Maximum", ("READER",)),
                    ("lag alarm", s.aurora_replica_lag_ms),
                ),
                _graph("Aurora freeable memory by role (bytes, min)", per_role("FreeableMemory", "Minimum")),
            ],
        ]
        # One line, no backslash escapes: cdktf's HCL export does not escape backslashes inside strings.
        header = (
            f"**Trading platform {suffix}**: pages go out on **{self.composite_name}**; every alarm is named "
            f"alarm-...-{suffix} and has its runbook in docs/operations.md. Rows: API, trades, functions, Aurora."
        )
        widgets: list[dict[str, Any]] = [
            {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {"markdown": header}}
        ]
        for row, graphs in enumerate(rows):
            width = 24 // len(graphs)
            widgets += [
                {**graph, "x": column * width, "y": 2 + 6 * row, "width": width, "height": 6}
                for column, graph in enumerate(graphs)
            ]
        return {"start": "-PT3H", "periodOverride": "inherit", "widgets": widgets}


def _line(namespace: str, metric: str, dimensions: Mapping[str, str], stat: str, label: str) -> list[Any]:
    """A metric line of a dashboard widget: namespace, metric, dimension names and values, then the options."""
    return [namespace, metric, *(part for item in dimensions.items() for part in item), {"stat": stat, "label": label}]


def _graph(
    title: str, metrics: list[list[Any]], threshold: tuple[str, float] | None = None, *, view: str = "timeSeries"
) -> dict[str, Any]:
    properties: dict[str, Any] = {"title": title, "view": view, "region": REGION, "period": 60, "metrics": metrics}
    if view == "singleValue":
        properties["setPeriodToTimeRange"] = True
    if threshold is not None:
        properties["annotations"] = {"horizontal": [{"label": threshold[0], "value": threshold[1]}]}
    return {"type": "metric", "properties": properties}
