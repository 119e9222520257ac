"""Every rule of the gate fails on a deliberately broken copy of a plan (so a green gate means something), and
passes on the compliant one. The plans are small synthetic copies of the real shape (tests/policy/fixtures.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from tests.policy.fixtures import OTHER_KEY, TOPIC, change, compliant_stack
from tests.policy.rules import RULES, StackPlan


def resource(stack: StackPlan, address: str) -> dict[str, Any]:
    return next(c for c in stack.plan["resource_changes"] if c["address"] == address)


def after(stack: StackPlan, address: str) -> dict[str, Any]:
    return resource(stack, address)["change"]["after"]


def drop(stack: StackPlan, address: str) -> None:
    stack.plan["resource_changes"].remove(resource(stack, address))


def add(stack: StackPlan, *changes: dict[str, Any]) -> None:
    stack.plan["resource_changes"].extend(changes)


@dataclass(frozen=True)
class Breakage:
    rule: str
    what: str
    expected: str  # a substring of one reported violation (address and detail)
    mutate: Callable[[StackPlan], None]


def _set(address: str, **values: Any) -> Callable[[StackPlan], None]:
    return lambda stack: after(stack, address).update(values)


def _star_policy(stack: StackPlan) -> None:
    stack.config["resource"]["aws_iam_role_policy"]["trades"]["policy"] = json.dumps(
        {"Statement": [{"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )


def _star_policy_document(stack: StackPlan) -> None:
    stack.config.setdefault("data", {})["aws_iam_policy_document"] = {
        "trades-document": {"statement": [{"sid": "Admin", "effect": "Allow", "actions": ["*"], "resources": ["*"]}]}
    }
    stack.config["resource"]["aws_iam_role_policy"]["trades"]["policy"] = (
        "${data.aws_iam_policy_document.trades-document.json}"
    )


def _star_kms_policy(stack: StackPlan) -> None:
    add(
        stack,
        change(
            "aws_kms_key.key",
            "aws_kms_key",
            {
                "policy": json.dumps(
                    {
                        "Statement": [
                            {
                                "Sid": "Everything",
                                "Effect": "Allow",
                                "Principal": {"AWS": "*"},
                                "Action": "*:*",
                                "Resource": "*",
                            }
                        ]
                    }
                ),
                "tags": {"Name": "kms-trading-dev"},
            },
        ),
    )


def _prevent_destroy(stack: StackPlan) -> None:
    stack.config["resource"]["aws_lambda_function"]["trades"]["lifecycle"] = {"prevent_destroy": True}


def _secret_in_synth(stack: StackPlan) -> None:
    stack.config["resource"]["aws_lambda_function"]["trades"]["environment"]["variables"]["DB_PASSWORD"] = "hunter2"


def _known_actions(address: str, attribute: str, arns: list[str]) -> Callable[[StackPlan], None]:
    """The plan after the topic exists: the actions are known ARNs."""

    def mutate(stack: StackPlan) -> None:
        after(stack, address)[attribute] = arns
        resource(stack, address)["change"]["after_unknown"][attribute] = False

    return mutate


def _api_policy(*statements: dict[str, Any]) -> Callable[[StackPlan], None]:
    def mutate(stack: StackPlan) -> None:
        policy = json.dumps({"Statement": list(statements)})
        stack.config["resource"]["aws_iam_role_policy"]["trades"]["policy"] = policy

    return mutate


def _module_actions_from_elsewhere(stack: StackPlan) -> None:
    call = stack.plan["configuration"]["root_module"]["module_calls"]["aurora"]
    call["expressions"]["cloudwatch_ok_actions"] = {"references": ["var.someone_elses_topic_arn"]}


def _api_env_master(stack: StackPlan) -> None:
    variables = stack.config["resource"]["aws_lambda_function"]["trades"]["environment"]["variables"]
    variables["DB_SECRET_ARN"] = "${module.aurora.cluster_master_user_secret_arn}"


def _managed_policy_on_api_role(stack: StackPlan) -> None:
    stack.config["resource"]["aws_iam_role_policy_attachment"] = {
        "read": {"role": "${aws_iam_role.trades.name}", "policy_arn": "arn:aws:iam::aws:policy/SecretsManagerReadWrite"}
    }


def _provider_secret(stack: StackPlan) -> None:
    expressions = stack.plan["configuration"]["provider_config"]["aws"]["expressions"]
    expressions["secret_key"] = {"constant_value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}


BREAKAGES = [
    # our KMS key on everything that stores data
    Breakage(
        "our-kms-key",
        "log group under another key",
        "aws_cloudwatch_log_group.lambda: kms_key_id",
        _set("aws_cloudwatch_log_group.lambda", kms_key_id=OTHER_KEY),
    ),
    Breakage(
        "our-kms-key",
        "log group without a key",
        'exports["audit"]: kms_key_id is None',
        _set('module.aurora.aws_cloudwatch_log_group.exports["audit"]', kms_key_id=None),
    ),
    Breakage(
        "our-kms-key",
        "lambda environment under the AWS-managed key",
        "aws_lambda_function.trades: kms_key_arn",
        _set("aws_lambda_function.trades", kms_key_arn=None),
    ),
    Breakage(
        "our-kms-key",
        "S3 object with SSE-S3",
        "aws_s3_object.code: server_side_encryption is 'AES256'",
        _set("aws_s3_object.code", server_side_encryption="AES256", kms_key_id=None),
    ),
    Breakage(
        "our-kms-key",
        "bucket default encryption with SSE-S3",
        "encryption: sse_algorithm is 'AES256'",
        lambda s: after(s, "aws_s3_bucket_server_side_encryption_configuration.encryption")["rule"][0][
            "apply_server_side_encryption_by_default"
        ][0].update(sse_algorithm="AES256", kms_master_key_id=None),
    ),
    Breakage(
        "our-kms-key",
        "bucket without encryption configuration",
        "aws_s3_bucket.artifacts: no aws_s3_bucket_server_side_encryption_configuration",
        lambda s: drop(s, "aws_s3_bucket_server_side_encryption_configuration.encryption"),
    ),
    Breakage(
        "our-kms-key",
        "unencrypted cluster storage",
        "aws_rds_cluster.this: storage_encrypted is False",
        _set("module.aurora.aws_rds_cluster.this", storage_encrypted=False),
    ),
    Breakage(
        "our-kms-key",
        "master secret under the AWS-managed key",
        "master_user_secret_kms_key_id",
        _set("module.aurora.aws_rds_cluster.this", master_user_secret_kms_key_id=None),
    ),
    Breakage(
        "our-kms-key",
        "Performance Insights under another key",
        "performance_insights_kms_key_id",
        _set("module.aurora.aws_rds_cluster_instance.writer", performance_insights_kms_key_id=OTHER_KEY),
    ),
    Breakage(
        "our-kms-key",
        "a data store nobody classified",
        "aws_dynamodb_table.orders: resource type",
        lambda s: add(s, change("aws_dynamodb_table.orders", "aws_dynamodb_table", {"name": "orders-dev"})),
    ),
    # retention and expiration
    Breakage(
        "retention",
        "one-year log retention",
        "aws_cloudwatch_log_group.lambda: retention_in_days is 365",
        _set("aws_cloudwatch_log_group.lambda", retention_in_days=365),
    ),
    Breakage(
        "retention",
        "logs kept forever",
        "execution[0]: retention_in_days is 0",
        _set("module.api.aws_cloudwatch_log_group.execution[0]", retention_in_days=0),
    ),
    Breakage(
        "retention",
        "objects expire after 30 days",
        "expires objects after 30 days",
        lambda s: after(s, "aws_s3_bucket_lifecycle_configuration.lifecycle")["rule"][0].update(
            expiration=[{"days": 30}]
        ),
    ),
    Breakage(
        "retention",
        "old versions never expire",
        "old versions after None",
        lambda s: after(s, "aws_s3_bucket_lifecycle_configuration.lifecycle")["rule"][0].update(
            noncurrent_version_expiration=[]
        ),
    ),
    Breakage(
        "retention",
        "lifecycle rule disabled",
        "lifecycle: no enabled lifecycle rule",
        lambda s: after(s, "aws_s3_bucket_lifecycle_configuration.lifecycle")["rule"][0].update(status="Disabled"),
    ),
    Breakage(
        "retention",
        "delete markers of expired objects never removed",
        "lifecycle: no enabled rule removes expired object delete markers",
        lambda s: after(s, "aws_s3_bucket_lifecycle_configuration.lifecycle")["rule"].pop(),
    ),
    Breakage(
        "retention",
        "bucket without lifecycle",
        "aws_s3_bucket.artifacts: no aws_s3_bucket_lifecycle_configuration",
        lambda s: drop(s, "aws_s3_bucket_lifecycle_configuration.lifecycle"),
    ),
    # the environment suffix in every name
    Breakage(
        "suffix",
        "function name without suffix",
        "aws_lambda_function.trades: function_name 'trades-api'",
        _set("aws_lambda_function.trades", function_name="trades-api"),
    ),
    Breakage(
        "suffix",
        "Name tag of another environment",
        "aws_rds_cluster.this: tags.Name 'aurora-prod'",
        _set("module.aurora.aws_rds_cluster.this", tags={"Name": "aurora-prod"}),
    ),
    Breakage(
        "suffix",
        "bucket named for another suffix",
        "bucket 'trading-artifacts-123456789012-staging'",
        _set("aws_s3_bucket.artifacts", bucket="trading-artifacts-123456789012-staging"),
    ),
    Breakage(
        "suffix",
        "RDS log group of another cluster",
        "exports[\"audit\"]: name '/aws/rds/cluster/aurora-prod/audit'",
        _set('module.aurora.aws_cloudwatch_log_group.exports["audit"]', name="/aws/rds/cluster/aurora-prod/audit"),
    ),
    Breakage(
        "suffix",
        "a name unknown at plan time outside the exceptions",
        "aws_cloudwatch_log_group.lambda: name unknown at plan time",
        lambda s: (
            after(s, "aws_cloudwatch_log_group.lambda").pop("name"),
            resource(s, "aws_cloudwatch_log_group.lambda")["change"]["after_unknown"].update(name=True),
        ),
    ),
    # nothing protected from destroy
    Breakage(
        "destroyable",
        "cluster deletion protection",
        "aws_rds_cluster.this: deletion_protection = True",
        _set("module.aurora.aws_rds_cluster.this", deletion_protection=True),
    ),
    Breakage(
        "destroyable",
        "log group kept on destroy",
        "aws_cloudwatch_log_group.lambda: skip_destroy = True",
        _set("aws_cloudwatch_log_group.lambda", skip_destroy=True),
    ),
    Breakage(
        "destroyable",
        "bucket that refuses to go while it holds objects",
        "aws_s3_bucket.artifacts: force_destroy is not true",
        _set("aws_s3_bucket.artifacts", force_destroy=False),
    ),
    Breakage(
        "destroyable",
        "prevent_destroy in the synthesized stack",
        "aws_lambda_function.trades: lifecycle.prevent_destroy",
        _prevent_destroy,
    ),
    # no "*" on "*"
    Breakage(
        "no-star-on-star",
        "admin statement in a role policy known only at apply",
        "aws_iam_role_policy.trades.policy: Admin allows every action",
        _star_policy,
    ),
    Breakage(
        "no-star-on-star",
        "admin statement in a trust policy",
        "aws_iam_role.trades.assume_role_policy: statement 0 allows every action",
        _set(
            "aws_iam_role.trades",
            assume_role_policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]}),
        ),
    ),
    Breakage(
        "no-star-on-star",
        "NotAction on everything",
        "statement 0 allows every action",
        _set(
            "aws_iam_role.trades",
            assume_role_policy=json.dumps({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}),
        ),
    ),
    Breakage(
        "no-star-on-star",
        "admin statement in a policy document data source",
        "aws_iam_role_policy.trades.policy: Admin allows every action",
        _star_policy_document,
    ),
    Breakage(
        "no-star-on-star", "key policy opening everything", "aws_kms_key.key.policy: Everything", _star_kms_policy
    ),
    Breakage(
        "no-star-on-star",
        "policy unknown at plan time and written nowhere",
        "aws_iam_role_policy.trades: policy is only known at apply time",
        lambda s: s.config["resource"].pop("aws_iam_role_policy"),
    ),
    # no plaintext secret
    Breakage(
        "no-plaintext-secret",
        "master password in the plan",
        "master_password",
        _set("module.aurora.aws_rds_cluster.this", master_password="hunter2hunter2"),
    ),
    Breakage("no-plaintext-secret", "password in a Lambda environment", "DB_PASSWORD", _secret_in_synth),
    Breakage(
        "no-plaintext-secret",
        "real credentials in the provider block",
        "provider_config.aws.expressions.secret_key",
        _provider_secret,
    ),
    Breakage(
        "no-plaintext-secret",
        "a private key anywhere",
        "aws_lambda_function.trades",
        lambda s: after(s, "aws_lambda_function.trades")["environment"][0]["variables"].update(
            CERT="-----BEGIN RSA PRIVATE KEY-----\nMIIE..."
        ),
    ),
    # every alarm tells the workspace's own topic, on ALARM and on OK
    Breakage(
        "alarms-notify",
        "an alarm nobody hears when it clears",
        'this["writer-cpu"]: ok_actions is empty',
        _known_actions('module.aurora.aws_cloudwatch_metric_alarm.this["writer-cpu"]', "ok_actions", []),
    ),
    Breakage(
        "alarms-notify",
        "an alarm notifying another workspace's topic",
        "aws_cloudwatch_metric_alarm.api: alarm_actions 'arn:aws:sns:us-east-1:123456789012:alerts-prod' is not",
        _known_actions(
            "aws_cloudwatch_metric_alarm.api", "alarm_actions", ["arn:aws:sns:us-east-1:123456789012:alerts-prod"]
        ),
    ),
    Breakage(
        "alarms-notify",
        "module alarms whose actions come from outside the stack",
        'this["writer-cpu"]: ok_actions is only known at apply time and refers to no topic',
        _module_actions_from_elsewhere,
    ),
    Breakage(
        "alarms-notify",
        "a composite notifying a topic the stack does not plan",
        "degraded: alarm_actions is only known at apply time",
        lambda s: drop(s, TOPIC),
    ),
    Breakage(
        "alarms-notify",
        "an alarm without a runbook line",
        "aws_cloudwatch_metric_alarm.api: alarm_description does not say what to check first",
        _set("aws_cloudwatch_metric_alarm.api", alarm_description="API errors"),
    ),
    Breakage(
        "alarms-notify",
        "an alarm with its actions switched off",
        "degraded: actions_enabled is not true",
        _set("aws_cloudwatch_composite_alarm.degraded", actions_enabled=False),
    ),
    Breakage(
        "composite-within-workspace",
        "a page on another workspace's alarm",
        "alarm_rule watches 'alarm-api-5xx-rate-prod', no alarm of this stack",
        _set("aws_cloudwatch_composite_alarm.degraded", alarm_rule='ALARM("alarm-api-5xx-rate-prod")'),
    ),
    Breakage(
        "our-kms-key",
        "alert topic under the AWS-managed key",
        "operations_topic: kms_master_key_id is None",
        _set(TOPIC, kms_master_key_id=None),
    ),
    Breakage(
        "suffix",
        "alarm named for another workspace",
        "alarm_name 'alarm-api-5xx-rate-prod'",
        _set("aws_cloudwatch_metric_alarm.api", alarm_name="alarm-api-5xx-rate-prod"),
    ),
    # only the migration reads the master secret
    Breakage(
        "master-secret-migration-only",
        "the API reads the master secret",
        "aws_iam_role_policy.trades: Master lets aws_lambda_function.trades read the master secret",
        _api_policy(
            {
                "Sid": "Master",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": "${module.aurora.cluster_master_user_secret_arn}",
            }
        ),
    ),
    Breakage(
        "master-secret-migration-only",
        "the API reads every secret",
        "aws_iam_role_policy.trades: Wide lets aws_lambda_function.trades read",
        _api_policy({"Sid": "Wide", "Effect": "Allow", "Action": "secretsmanager:Get*", "Resource": "*"}),
    ),
    Breakage(
        "master-secret-migration-only",
        "the API is configured with the master secret",
        "aws_lambda_function.trades: environment DB_SECRET_ARN names the master secret",
        _api_env_master,
    ),
    Breakage(
        "master-secret-migration-only",
        "a managed policy on the API's role",
        "aws_iam_role_policy_attachment.read: managed policy on a function role",
        _managed_policy_on_api_role,
    ),
    # trade routes behind authorization
    Breakage(
        "trade-routes-authorized",
        "open POST /trades",
        "route[\"POST /trades\"]: authorization is 'NONE'",
        _set('module.api.aws_api_gateway_method.route["POST /trades"]', authorization="NONE"),
    ),
    Breakage(
        "trade-routes-authorized",
        "a new unauthorized route",
        'route["DELETE /trades/{id}"]: authorization',
        lambda s: add(
            s,
            change(
                'module.api.aws_api_gateway_method.route["DELETE /trades/{id}"]',
                "aws_api_gateway_method",
                {"authorization": "NONE"},
                index="DELETE /trades/{id}",
            ),
        ),
    ),
    Breakage(
        "trade-routes-authorized",
        "a trade route the rule can no longer see",
        "route 'GET /trades/{id}' is missing",
        lambda s: drop(s, 'module.api.aws_api_gateway_method.route["GET /trades/{id}"]'),
    ),
    Breakage(
        "trade-routes-authorized",
        "methods not keyed by route",
        "method not keyed by its route",
        lambda s: add(
            s, change("module.api.aws_api_gateway_method.other", "aws_api_gateway_method", {"authorization": "AWS_IAM"})
        ),
    ),
]


@pytest.mark.parametrize("name", sorted(RULES))
def test_the_compliant_plan_passes(name: str) -> None:
    assert RULES[name](compliant_stack()) == []


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: f"{b.rule}: {b.what}")
def test_each_rule_reports_a_broken_copy(breakage: Breakage) -> None:
    base = compliant_stack()
    broken = replace(base, plan=copy.deepcopy(base.plan), config=copy.deepcopy(base.config))
    breakage.mutate(broken)
    reported = [str(v) for v in RULES[breakage.rule](broken)]
    assert any(breakage.expected in v for v in reported), f"{breakage.what}: not reported; got {reported}"


def test_every_rule_has_a_broken_copy() -> None:
    assert {b.rule for b in BREAKAGES} == set(RULES)
