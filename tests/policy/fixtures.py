"""A small synthetic plan in the shape of ``terraform show -json``, compliant with every rule of rules.py.

It holds one resource of each kind a rule looks at, with the attribute shapes the real plans have; the broken-copy
tests mutate a deep copy of it, one requirement at a time.
"""

from __future__ import annotations

import json
from typing import Any

from tests.policy.rules import StackPlan

KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY = "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555"


def change(
    address: str, resource_type: str, after: dict[str, Any], unknown: dict[str, Any] | None = None, index: Any = None
) -> dict[str, Any]:
    return {
        "address": address,
        "mode": "managed",
        "type": resource_type,
        "name": address.split(".")[-1],
        "index": index,
        "change": {"actions": ["create"], "after": after, "after_unknown": unknown or {}},
    }


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _log_group(address: str, name: str, index: Any = None, unknown_name: bool = False) -> dict[str, Any]:
    after = {"kms_key_id": KEY, "retention_in_days": 30, "skip_destroy": False, "tags": {"Name": name}}
    if not unknown_name:
        after["name"] = name
    else:
        after["tags"] = {"Name": "execution-logs-api-dev"}
    return change(address, "aws_cloudwatch_log_group", after, {"name": True} if unknown_name else {}, index)


def _route(key: str, authorization: str) -> dict[str, Any]:
    return change(
        f'module.api.aws_api_gateway_method.route["{key}"]',
        "aws_api_gateway_method",
        {"authorization": authorization, "http_method": key.split()[0]},
        {"resource_id": True},
        key,
    )


TOPIC = "aws_sns_topic.operations_topic"
TOPIC_REFERENCES = [f"{TOPIC}.arn", TOPIC]


def _alarm(address: str, name: str, resource_type: str = "aws_cloudwatch_metric_alarm", **after: Any) -> dict[str, Any]:
    """An alarm as a fresh plan shows it: its actions name a topic whose ARN is known only after apply."""
    return change(
        address,
        resource_type,
        {
            "alarm_name": name,
            "alarm_description": f"{name} fired. First check: the runbook in docs/operations.md.",
            "actions_enabled": True,
            "tags": {"Name": name},
            **after,
        },
        {"alarm_actions": True, "ok_actions": True, "arn": True},
    )


def compliant_plan() -> dict[str, Any]:
    assume = _document(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    return {
        "format_version": "1.2",
        "resource_changes": [
            _log_group("aws_cloudwatch_log_group.lambda", "/aws/lambda/trades-api-dev"),
            _log_group(
                'module.aurora.aws_cloudwatch_log_group.exports["audit"]',
                "/aws/rds/cluster/aurora-dev/audit",
                index="audit",
            ),
            _log_group("module.api.aws_cloudwatch_log_group.execution[0]", "", index=0, unknown_name=True),
            change(
                "aws_s3_bucket.artifacts",
                "aws_s3_bucket",
                {
                    "bucket": "trading-artifacts-123456789012-dev",
                    "force_destroy": True,
                    "tags": {"Name": "trading-artifacts-123456789012-dev"},
                },
            ),
            change(
                "aws_s3_bucket_server_side_encryption_configuration.encryption",
                "aws_s3_bucket_server_side_encryption_configuration",
                {
                    "rule": [
                        {
                            "apply_server_side_encryption_by_default": [
                                {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY}
                            ],
                            "bucket_key_enabled": True,
                        }
                    ]
                },
                {"bucket": True},
            ),
            change(
                "aws_s3_bucket_lifecycle_configuration.lifecycle",
                "aws_s3_bucket_lifecycle_configuration",
                {
                    "rule": [
                        {
                            "id": "expire-after-90-days",
                            "status": "Enabled",
                            "expiration": [{"days": 90}],
                            "noncurrent_version_expiration": [{"noncurrent_days": 90}],
                        },
                        {
                            "id": "remove-expired-delete-markers",
                            "status": "Enabled",
                            "expiration": [{"days": None, "expired_object_delete_marker": True}],
                            "noncurrent_version_expiration": [],
                        },
                    ]
                },
                {"bucket": True},
            ),
            change(
                "aws_s3_object.code",
                "aws_s3_object",
                {"key": "lambda/abc.zip", "kms_key_id": KEY, "server_side_encryption": "aws:kms"},
                {"bucket": True},
            ),
            change(
                "aws_lambda_function.trades",
                "aws_lambda_function",
                {
                    "function_name": "trades-api-dev",
                    "kms_key_arn": KEY,
                    "tags": {"Name": "trades-api-dev"},
                    "environment": [{"variables": {"DB_NAME": "trading"}}],
                },
            ),
            change(
                "aws_iam_role.trades",
                "aws_iam_role",
                {"name": "role-trades-api-dev", "assume_role_policy": assume, "tags": {"Name": "role-trades-api-dev"}},
            ),
            change(
                "aws_iam_role_policy.trades",
                "aws_iam_role_policy",
                {"name": "policy-trades-api-dev"},
                {"policy": True, "role": True},
            ),
            change(
                "module.aurora.aws_rds_cluster.this",
                "aws_rds_cluster",
                {
                    "cluster_identifier": "aurora-dev",
                    "storage_encrypted": True,
                    "kms_key_id": KEY,
                    "manage_master_user_password": True,
                    "master_user_secret_kms_key_id": KEY,
                    "deletion_protection": False,
                    "master_password": None,
                    "tags": {"Name": "aurora-dev"},
                },
                {"master_user_secret": True},
            ),
            change(
                "module.aurora.aws_rds_cluster_instance.writer",
                "aws_rds_cluster_instance",
                {
                    "identifier": "aurora-writer-dev",
                    "performance_insights_enabled": True,
                    "performance_insights_kms_key_id": KEY,
                    "tags": {"Name": "aurora-writer-dev"},
                },
            ),
            _route("POST /trades", "AWS_IAM"),
            _route("GET /trades/{id}", "AWS_IAM"),
            _route("GET /health", "NONE"),
            change(
                TOPIC,
                "aws_sns_topic",
                {"name": "alerts-dev", "kms_master_key_id": KEY, "tags": {"Name": "alerts-dev"}},
                {"arn": True},
            ),
            _alarm("aws_cloudwatch_metric_alarm.api", "alarm-api-5xx-rate-dev"),
            _alarm('module.aurora.aws_cloudwatch_metric_alarm.this["writer-cpu"]', "alarm-aurora-writer-cpu-dev"),
            _alarm(
                "aws_cloudwatch_composite_alarm.degraded",
                "alarm-trading-degraded-dev",
                "aws_cloudwatch_composite_alarm",
                alarm_rule='ALARM("alarm-api-5xx-rate-dev") OR ALARM("alarm-aurora-writer-cpu-dev")',
            ),
            change(
                "aws_route53_zone.zone",
                "aws_route53_zone",
                {"name": "dev.trading.example.com", "force_destroy": True, "tags": {"Name": "zone-dev"}},
            ),
        ],
        "prior_state": {
            "values": {
                "root_module": {
                    "resources": [
                        {
                            "address": "data.aws_kms_alias.kms",
                            "mode": "data",
                            "type": "aws_kms_alias",
                            "values": {"name": "alias/trading-us-east-1-dev", "target_key_arn": KEY},
                        },
                    ]
                }
            }
        },
        "configuration": {
            "provider_config": {
                "aws": {
                    "expressions": {"access_key": {"constant_value": "test"}, "secret_key": {"constant_value": "test"}}
                }
            },
            "root_module": {
                "resources": [
                    {
                        "address": "aws_s3_bucket_server_side_encryption_configuration.encryption",
                        "expressions": {
                            "bucket": {"references": ["aws_s3_bucket.artifacts.id", "aws_s3_bucket.artifacts"]}
                        },
                    },
                    {
                        "address": "aws_iam_role_policy.trades",
                        "expressions": {"policy": {"references": ["aws_cloudwatch_log_group.lambda.arn"]}},
                    },
                    {
                        "address": "aws_s3_bucket_lifecycle_configuration.lifecycle",
                        "expressions": {
                            "bucket": {"references": ["aws_s3_bucket.artifacts.id", "aws_s3_bucket.artifacts"]}
                        },
                    },
                    *(
                        {
                            "address": address,
                            "expressions": {
                                "alarm_actions": {"references": TOPIC_REFERENCES},
                                "ok_actions": {"references": TOPIC_REFERENCES},
                            },
                        }
                        for address in ("aws_cloudwatch_metric_alarm.api", "aws_cloudwatch_composite_alarm.degraded")
                    ),
                ],
                # The Aurora module's alarms notify what the root passes in (module.aurora.var.* -> the topic).
                "module_calls": {
                    "aurora": {
                        "expressions": {
                            "cloudwatch_alarm_actions": {"references": TOPIC_REFERENCES},
                            "cloudwatch_ok_actions": {"references": TOPIC_REFERENCES},
                        },
                        "module": {
                            "resources": [
                                {
                                    "address": "aws_cloudwatch_metric_alarm.this",
                                    "expressions": {
                                        "alarm_actions": {"references": ["var.cloudwatch_alarm_actions"]},
                                        "ok_actions": {"references": ["var.cloudwatch_ok_actions"]},
                                    },
                                }
                            ]
                        },
                    }
                },
            },
        },
    }


def compliant_config() -> dict[str, Any]:
    """The synthesized stack (cdk.tf.json) behind the plan: where policies unknown at plan time are written."""
    policy = _document(
        {
            "Sid": "OwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:PutLogEvents"],
            "Resource": "${aws_cloudwatch_log_group.lambda.arn}:*",
        },
        {"Sid": "DescribeInterfaces", "Effect": "Allow", "Action": ["ec2:DescribeNetworkInterfaces"], "Resource": "*"},
    )
    migrate_policy = _document(
        {
            "Sid": "MasterUserSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": "${module.aurora.cluster_master_user_secret_arn}",
        },
    )
    return {
        "provider": {"aws": [{"region": "us-east-1", "access_key": "test", "secret_key": "test"}]},
        "resource": {
            "aws_iam_role_policy": {
                "trades": {"name": "policy-trades-api-dev", "role": "${aws_iam_role.trades.id}", "policy": policy},
                "migrate": {
                    "name": "policy-migrate-dev",
                    "role": "${aws_iam_role.migrate.id}",
                    "policy": migrate_policy,
                },
            },
            "aws_lambda_function": {
                "trades": {
                    "handler": "handlers.api.handler",
                    "role": "${aws_iam_role.trades.arn}",
                    "environment": {"variables": {"DB_SECRET_ARN": "${aws_secretsmanager_secret.app.arn}"}},
                },
                "migrate": {
                    "handler": "handlers.migrate.handler",
                    "role": "${aws_iam_role.migrate.arn}",
                    "environment": {"variables": {"DB_SECRET_ARN": "${module.aurora.cluster_master_user_secret_arn}"}},
                },
            },
        },
    }


def compliant_stack() -> StackPlan:
    return StackPlan(compliant_plan(), workspace="dev", suffix="dev", config=compliant_config())
