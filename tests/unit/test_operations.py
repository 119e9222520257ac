"""Operations on the synthesized JSON: the alert topic, every alarm, the composite page and the dashboard of each
workspace, against the workspace settings they must come from."""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest

from python_stacks.aws.lambda_package import trade_metrics_namespace
from python_stacks.aws.operations import (
    AURORA_PAGING_ALARMS,
    TRADE_METRICS,
    TRADE_ROUTES,
    WatchedFunction,
)
from python_stacks.workspace import (
    OPERATIONS,
    WORKSPACES,
    AlertSubscription,
    InvalidOperationsSettingError,
    Naming,
    OperationsSettings,
)
from tests.policy.rules import TRADE_ROUTES as POLICY_TRADE_ROUTES
from tests.support.stacks import Stack, Synthesized, synthesize

ALL = tuple(WORKSPACES)
KMS = "${data.aws_kms_alias.kms.target_key_arn}"
MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
HCL = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


def read_hcl(relative: str) -> dict[str, Any]:
    with (ROOT / relative).open() as handle:
        return hcl2.load(handle, serialization_options=HCL)


def topic_reference(stack: Stack) -> str:
    (address,) = stack.resources("aws_sns_topic")
    return f"${{aws_sns_topic.{address}.arn}}"


def metric_alarms(stack: Stack) -> dict[str, dict[str, Any]]:
    return {a["alarm_name"]: a for a in stack.resources("aws_cloudwatch_metric_alarm").values()}


def functions(stack: Stack) -> dict[str, dict[str, Any]]:
    return {f["function_name"]: f for f in stack.resources("aws_lambda_function").values()}


def expected_thresholds(stack: Stack, settings: OperationsSettings, suffix: str) -> dict[str, float]:
    """Alarm name -> the threshold the settings (and each function's configuration) call for."""
    expected: dict[str, float] = {
        f"alarm-api-5xx-rate-{suffix}": settings.api_5xx_rate,
        f"alarm-api-4xx-rate-{suffix}": settings.api_4xx_rate,
        f"alarm-api-post-trades-latency-p99-{suffix}": settings.api_latency_p99_ms,
        f"alarm-api-get-trades-id-latency-p99-{suffix}": settings.api_latency_p99_ms,
    }
    for name, function in functions(stack).items():
        kind = name.removesuffix(f"-{suffix}")
        expected[f"alarm-{kind}-errors-{suffix}"] = settings.lambda_errors_per_period
        expected[f"alarm-{kind}-throttles-{suffix}"] = settings.lambda_throttles_per_period
        expected[f"alarm-{kind}-duration-p99-{suffix}"] = (
            settings.lambda_duration_p99_of_timeout * function["timeout"] * 1000
        )
        reserved = function.get("reserved_concurrent_executions")
        near = math.ceil(settings.lambda_concurrency_of_reserved * reserved) if reserved else None
        if near is not None and near < reserved:
            expected[f"alarm-{kind}-concurrency-{suffix}"] = near
    return expected


# --- alarms ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workspace", ALL)
def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok_and_says_what_to_check(
    synth: Synthesized, workspace: str
) -> None:
    stack = synth.trading(workspace)
    topic = topic_reference(stack)
    alarms = [
        *stack.resources("aws_cloudwatch_metric_alarm").values(),
        *stack.resources("aws_cloudwatch_composite_alarm").values(),
    ]
    assert len(alarms) >= 12
    for alarm in alarms:
        name = alarm["alarm_name"]
        assert alarm["actions_enabled"] is True, name
        assert alarm["alarm_actions"] == [topic] and alarm["ok_actions"] == [topic], name
        assert "First check:" in alarm["alarm_description"] and len(alarm["alarm_description"]) > 80, name
        assert alarm["tags"] == {"Name": name}
    # Aurora's alarms are module code: the stack switches them on and hands them the same topic.
    aurora = stack.module("aurora")
    assert aurora["create_cloudwatch_alarms"] is True
    assert aurora["cloudwatch_alarm_actions"] == [topic] and aurora["cloudwatch_ok_actions"] == [topic]


@pytest.mark.parametrize("workspace", ALL)
def test_every_threshold_is_the_settings_value(synth: Synthesized, workspace: str) -> None:
    stack, settings = synth.trading(workspace), OPERATIONS[workspace]
    alarms = metric_alarms(stack)
    expected = expected_thresholds(stack, settings, workspace)
    assert sorted(alarms) == sorted(expected), "every alarm has an expected threshold, and every expected one exists"
    for name, alarm in alarms.items():
        assert alarm["threshold"] == pytest.approx(expected[name]), name
        assert alarm["period"] == settings.period_s and alarm["evaluation_periods"] == settings.evaluation_periods
        events = re.search(r"-(errors|throttles)-", name)
        assert alarm["datapoints_to_alarm"] == (1 if events else settings.datapoints_to_alarm), name
        assert alarm["treat_missing_data"] == "notBreaching", name
    thresholds = stack.module("aurora")["cloudwatch_alarm_thresholds"]
    assert thresholds == {
        "cpu_utilization_percent": settings.aurora_writer_cpu_percent,
        "connections_percent": settings.aurora_connections_percent_of_max,
        "freeable_memory_bytes": settings.aurora_freeable_memory_mib * MIB,
        "free_local_storage_bytes": settings.aurora_free_local_storage_mib * MIB,
        "replica_lag_milliseconds": settings.aurora_replica_lag_ms,
    }
    assert stack.module("aurora")["cloudwatch_alarm_evaluation"] == {
        "period": settings.period_s,
        "evaluation_periods": settings.evaluation_periods,
        "datapoints_to_alarm": settings.datapoints_to_alarm,
    }


def test_the_workspaces_differ_where_the_settings_say_so(synth: Synthesized) -> None:
    # Guards the threshold test: it would also pass if every workspace fell back to one set of values.
    five_xx = {ws: metric_alarms(synth.trading(ws))[f"alarm-api-5xx-rate-{ws}"]["threshold"] for ws in ALL}
    assert five_xx == {"dev": 0.05, "staging": 0.02, "prod": 0.01}


@pytest.mark.parametrize("workspace", ALL)
def test_api_alarms_watch_this_workspaces_stage_and_trade_routes(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    alarms = metric_alarms(stack)
    stage = {"ApiName": f"api-{workspace}", "Stage": stack.module("api")["stage_name"]}
    assert alarms[f"alarm-api-5xx-rate-{workspace}"]["dimensions"] == stage
    assert alarms[f"alarm-api-5xx-rate-{workspace}"]["statistic"] == "Average", "the average of 5XXError is its rate"
    latency = [a for name, a in alarms.items() if "latency-p99" in name]
    assert sorted((a["dimensions"]["Method"], a["dimensions"]["Resource"]) for a in latency) == sorted(TRADE_ROUTES)
    for alarm in latency:
        assert alarm["extended_statistic"] == "p99" and "statistic" not in alarm
        assert {k: alarm["dimensions"][k] for k in stage} == stage


def test_trade_routes_are_the_apis_and_the_policys() -> None:
    # The API module defines the routes; the policy rules and the latency alarms must name the same trade routes.
    parsed = read_hcl("tf_modules/api/main.tf")
    routes = next(block["routes"] for block in parsed["locals"] if "routes" in block)
    module_routes = {key for key in routes if not key.endswith("/health")}
    assert {f"{method} {path}" for method, path in TRADE_ROUTES} == module_routes == set(POLICY_TRADE_ROUTES)


def test_the_names_operations_uses_are_the_modules_names() -> None:
    # Dimensions and the dashboard name the API and the cluster literally (so the body is plain JSON); the modules
    # name them api-<suffix> and aurora-<suffix>.
    api = read_hcl("tf_modules/api/main.tf")
    assert any(block.get("name") == "api-${var.environment_suffix}" for block in api["locals"])
    aurora = read_hcl("tf_modules/aurora/main.tf")
    assert any(block.get("cluster_identifier") == "aurora-${local.suffix}" for block in aurora["locals"])


@pytest.mark.parametrize(
    ("reserved", "near"), [(None, None), (-1, None), (1, None), (2, None), (5, 4), (10, 8), (100, 80)]
)
def test_concurrency_alarm_only_where_the_reservation_leaves_room(reserved: int | None, near: int | None) -> None:
    fn = WatchedFunction("f-dev", 30, None if reserved is None or reserved < 0 else reserved, {})
    assert fn.concurrency_threshold(0.8) == near


@pytest.mark.parametrize("workspace", ALL)
def test_the_composite_pages_on_api_and_database_signals(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    (composite,) = stack.resources("aws_cloudwatch_composite_alarm").values()
    assert composite["alarm_name"] == f"alarm-trading-degraded-{workspace}"
    rule = composite["alarm_rule"]
    assert rule.startswith('${join(" OR ", [') and rule.count('format("ALARM(%q)"') == 6
    resources = re.findall(r"aws_cloudwatch_metric_alarm\.([A-Za-z0-9_-]+)\.alarm_name", rule)
    members = {stack.resources("aws_cloudwatch_metric_alarm")[r]["alarm_name"] for r in resources}
    assert members == {
        f"alarm-api-5xx-rate-{workspace}",
        f"alarm-api-post-trades-latency-p99-{workspace}",
        f"alarm-api-get-trades-id-latency-p99-{workspace}",
        f"alarm-trades-api-throttles-{workspace}",
    }
    assert re.findall(r'module\.aurora\.cloudwatch_alarm_names\["([a-z-]+)"\]', rule) == list(AURORA_PAGING_ALARMS)


# --- topic and key ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workspace", ALL)
def test_the_topic_is_encrypted_with_the_workspace_key_and_only_its_alarms_publish(
    synth: Synthesized, workspace: str
) -> None:
    stack = synth.trading(workspace)
    topic = stack.resource("aws_sns_topic")
    assert topic["name"] == f"alerts-{workspace}" and topic["kms_master_key_id"] == KMS
    assert stack.data("aws_kms_alias")["kms"]["name"] == f"alias/trading-us-east-1-{workspace}"
    assert stack.resources("aws_sns_topic_subscription") == {}, "nobody is subscribed by default"
    policy = stack.resource("aws_sns_topic_policy")
    assert policy["arn"] == topic_reference(stack)
    document = stack.data("aws_iam_policy_document")[
        re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(.+)\.json\}", policy["policy"]).group(1)
    ]
    (statement,) = document["statement"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    assert statement["actions"] == ["sns:Publish"] and statement["resources"] == [topic_reference(stack)]
    conditions = {c["variable"]: c["values"] for c in statement["condition"]}
    assert conditions["aws:SourceArn"] == [
        f"arn:aws:cloudwatch:us-east-1:${{data.aws_caller_identity.account.account_id}}:alarm:alarm-*-{workspace}"
    ]
    assert conditions["aws:SourceAccount"] == ["${data.aws_caller_identity.account.account_id}"]


@pytest.mark.parametrize("workspace", ALL)
def test_the_key_policy_lets_only_this_workspaces_alarms_use_the_key(synth: Synthesized, workspace: str) -> None:
    (policy,) = synth.data_protection(workspace).data("aws_iam_policy_document").values()
    statements = {s["sid"]: s for s in policy["statement"]}
    cloudwatch = statements["CloudWatchAlarmsOfThisWorkspaceNotify"]
    assert cloudwatch["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    assert cloudwatch["actions"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    source = next(c for c in cloudwatch["condition"] if c["variable"] == "aws:SourceArn")
    assert source["test"] == "ArnLike" and source["values"][0].endswith(f":alarm:alarm-*-{workspace}")
    # Every alarm of the workspace matches the pattern the key and the topic allow.
    pattern = re.compile(source["values"][0].rsplit(":", 1)[1].replace("*", ".*"))
    stack = synth.trading(workspace)
    names = [
        a["alarm_name"]
        for t in ("aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm")
        for a in stack.resources(t).values()
    ]
    assert names and all(pattern.fullmatch(n) for n in names)
    assert pattern.fullmatch(f"alarm-aurora-writer-cpu-{workspace}"), "tf_modules/aurora's names match too"


# --- subscriptions ----------------------------------------------------------------------------------------------------


def test_subscriptions_from_settings(tmp_path: Path, lambda_zip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    subscriptions = (
        AlertSubscription("email", "trading-oncall@example.com"),
        AlertSubscription("https", "https://events.example.com/integration/abc", paging_only=True),
    )
    monkeypatch.setitem(OPERATIONS, "dev", dataclasses.replace(OPERATIONS["dev"], subscriptions=subscriptions))
    stack = synthesize(["dev"], tmp_path, {"TARGET": "local"}).trading("dev")
    found = {s["endpoint"]: s for s in stack.resources("aws_sns_topic_subscription").values()}
    assert sorted(found) == ["https://events.example.com/integration/abc", "trading-oncall@example.com"]
    for subscription in found.values():
        assert subscription["topic_arn"] == topic_reference(stack)
    email, page = found["trading-oncall@example.com"], found["https://events.example.com/integration/abc"]
    assert email["protocol"] == "email" and "filter_policy" not in email
    assert page["protocol"] == "https" and page["endpoint_auto_confirms"] is True
    assert page["filter_policy_scope"] == "MessageBody"
    assert json.loads(page["filter_policy"]) == {"AlarmName": ["alarm-trading-degraded-dev"]}


@pytest.mark.parametrize(
    ("protocol", "endpoint", "message"),
    [
        ("sms", "+15550100", "invalid alert subscription protocol 'sms': use one of email, https"),
        ("email", "oncall.example.com", "invalid alert e-mail address 'oncall.example.com': expected name@example.com"),
        (
            "https",
            "http://hooks.example.com/x",
            "invalid alert endpoint 'http://hooks.example.com/x': expected an https:// URL with a host name",
        ),
    ],
)
def test_a_bad_subscription_is_refused_in_one_line(protocol: str, endpoint: str, message: str) -> None:
    with pytest.raises(InvalidOperationsSettingError) as error:
        AlertSubscription(protocol, endpoint)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"api_5xx_rate": 5}, "invalid api_5xx_rate 5: expected a share between 0 and 1"),
        (
            {"aurora_writer_cpu_percent": 120},
            "invalid aurora_writer_cpu_percent 120: expected a percentage from 1 to 100",
        ),
        ({"datapoints_to_alarm": 6}, "invalid datapoints_to_alarm 6: expected 1 to evaluation_periods (5)"),
    ],
)
def test_a_bad_threshold_is_refused_in_one_line(change: dict[str, Any], message: str) -> None:
    import dataclasses

    with pytest.raises(InvalidOperationsSettingError) as error:
        dataclasses.replace(OPERATIONS["dev"], **change)
    assert str(error.value) == message


# --- dashboard --------------------------------------------------------------------------------------------------------


def dashboard(stack: Stack) -> dict[str, Any]:
    (board,) = stack.resources("aws_cloudwatch_dashboard").values()
    return {"name": board["dashboard_name"], "body": json.loads(board["dashboard_body"])}


def metrics_of(body: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of every metric line in the body's metric widgets."""
    for widget in body["widgets"]:
        for line in widget["properties"].get("metrics", []):
            values = [v for v in line if not isinstance(v, dict)]
            namespace, metric, rest = values[0], values[1], values[2:]
            yield namespace, metric, dict(zip(rest[::2], rest[1::2], strict=True))


def foreign_references(body: dict[str, Any], stack: Stack, suffix: str) -> list[str]:
    """Metric lines that are not about a resource of this stack's workspace."""
    own = {
        "ApiName": {f"api-{suffix}"},
        "Stage": {stack.module("api")["stage_name"]},
        "FunctionName": set(functions(stack)),
        "DBClusterIdentifier": {f"aurora-{suffix}"},
        "Role": {"WRITER", "READER"},
        "Method": {m for m, _ in TRADE_ROUTES},
        "Resource": {r for _, r in TRADE_ROUTES},
        "service": {f["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"] for f in functions(stack).values()},
    }
    namespaces = {"AWS/ApiGateway", "AWS/Lambda", "AWS/RDS", trade_metrics_namespace(Naming(suffix))}
    problems = []
    for namespace, metric, dimensions in metrics_of(body):
        if namespace not in namespaces:
            problems.append(f"{namespace}/{metric}: namespace of another workspace or service")
        if not dimensions:
            problems.append(f"{namespace}/{metric}: no dimensions, so account-wide")
        problems += [
            f"{namespace}/{metric}: {key}={value!r} is not this workspace's"
            for key, value in dimensions.items()
            if value not in own.get(key, set())
        ]
    return problems


@pytest.mark.parametrize("workspace", ALL)
def test_the_dashboard_shows_only_its_own_workspace(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    board = dashboard(stack)
    assert board["name"] == f"dashboard-{workspace}"
    assert foreign_references(board["body"], stack, workspace) == []


@pytest.mark.parametrize(
    ("what", "line"),
    [
        ("another workspace's function", ["AWS/Lambda", "Errors", "FunctionName", "trades-api-prod"]),
        ("another workspace's cluster", ["AWS/RDS", "CPUUtilization", "DBClusterIdentifier", "aurora-prod"]),
        ("another workspace's trade metrics", ["trading-prod", "TradesCreated", "service", "trades-api"]),
        ("an account-wide metric", ["AWS/Lambda", "ConcurrentExecutions"]),
    ],
)
def test_the_dashboard_check_catches_a_foreign_metric(synth: Synthesized, what: str, line: list[str]) -> None:
    stack = synth.trading("dev")
    body = copy.deepcopy(dashboard(stack)["body"])
    body["widgets"][1]["properties"]["metrics"].append(line)
    assert foreign_references(body, stack, "dev"), what


@pytest.mark.parametrize("workspace", ALL)
def test_the_dashboard_has_the_rows_on_call_needs(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    body = dashboard(stack)["body"]
    shown = {(namespace, metric) for namespace, metric, _ in metrics_of(body)}
    namespace = f"trading-{workspace}"
    assert shown >= {
        ("AWS/ApiGateway", "Count"),
        ("AWS/ApiGateway", "4XXError"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/Lambda", "Invocations"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Lambda", "ConcurrentExecutions"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "AuroraReplicaLag"),
        *((namespace, metric) for metric in TRADE_METRICS),
    }
    functions_shown = {d["FunctionName"] for _, _, d in metrics_of(body) if "FunctionName" in d}
    assert functions_shown == set(functions(stack)), "every function of the workspace is on the dashboard"
    # A grid without overlaps: widgets of one row share y and tile the 24 columns.
    rows: dict[int, list[dict[str, Any]]] = {}
    for widget in body["widgets"]:
        rows.setdefault(widget["y"], []).append(widget)
    for widgets in rows.values():
        assert sum(w["width"] for w in widgets) == 24
    (board,) = stack.resources("aws_cloudwatch_dashboard").values()
    assert "${" not in board["dashboard_body"], "plain JSON: no Terraform interpolation inside the body"
    # cdktf's HCL export turns an escaped "\\n" into a raw newline, which breaks the JSON (make hcl-export).
    assert "\\" not in board["dashboard_body"], "no backslash escapes inside the body"


@pytest.mark.parametrize("workspace", ALL)
def test_the_trade_metrics_namespace_is_the_one_the_function_emits_to(synth: Synthesized, workspace: str) -> None:
    trades = functions(synth.trading(workspace))[f"trades-api-{workspace}"]
    emitted = trades["environment"]["variables"].get("POWERTOOLS_METRICS_NAMESPACE")
    if emitted is None:
        pytest.skip("the stack does not set POWERTOOLS_METRICS_NAMESPACE yet (contract 3, handlers' branch)")
    assert emitted == trade_metrics_namespace(Naming(workspace)) == f"trading-{workspace}"
