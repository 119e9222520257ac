"""The drift moto (5.2.5) reports on a plan right after apply; anything else fails the lifecycle test.

Each entry is (address, actions, attributes), explained in docs/emulator.md. The addresses are the synthesized
ones (cdktf suffixes a hash of the construct path, the same in every workspace).
"""

from __future__ import annotations

_UPDATE = ("update",)

EMULATOR_NOISE: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # moto does not store a function's logging configuration, so the provider always sees it empty.
    ("aws_lambda_function.functions_migrate_96B2F503", _UPDATE, ("logging_config",)),
    # The same for the API function, which publishes a version on every update (publish = true): the plan adds a
    # new version (version, qualified_* unknown) and marks the nested blocks of that version as partly unknown,
    # which plan_changes counts, though their values stay the same; the live alias then moves to the new version.
    (
        "aws_lambda_function.functions_trades-api_368E7793",
        _UPDATE,
        (
            "architectures",
            "environment",
            "ephemeral_storage",
            "logging_config",
            "qualified_arn",
            "qualified_invoke_arn",
            "tracing_config",
            "version",
            "vpc_config",
        ),
    ),
    ("aws_lambda_alias.functions_trades-api-live_4A5FC714", _UPDATE, ("function_version",)),
    # moto returns no parameters for DB (instance) parameter groups it created with parameters.
    ("module.aurora.aws_db_parameter_group.instances", _UPDATE, ("parameter",)),
    # moto reports a Serverless v1 scaling block on a provisioned cluster once after creation.
    ("module.aurora.aws_rds_cluster.this", _UPDATE, ("scaling_configuration",)),
    # moto does not keep Performance Insights settings of cluster instances.
    *{
        (f"module.aurora.aws_rds_cluster_instance.{instance}", _UPDATE, (
            "performance_insights_enabled",
            "performance_insights_kms_key_id",
            "performance_insights_retention_period",
        ))
        for instance in ("writer", 'readers["reader-1"]', 'readers["reader-2"]')
    },
}
