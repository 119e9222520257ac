"""The drift moto (5.2.5) reports on a plan right after apply; anything else fails the lifecycle test.

Each entry is (address, actions, attributes), explained in docs/emulator.md. The addresses are the synthesized
ones (cdktf suffixes a hash of the construct path, the same in every workspace).
"""

from __future__ import annotations

_UPDATE = ("update",)

EMULATOR_NOISE: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # moto returns no parameters for DB (instance) parameter groups it created with parameters.
    ("module.aurora.aws_db_parameter_group.instances", _UPDATE, ("parameter",)),
    # moto reports a Serverless v1 scaling block on a provisioned cluster once after creation.
    ("module.aurora.aws_rds_cluster.this", _UPDATE, ("scaling_configuration",)),
    # moto does not keep Performance Insights settings of cluster instances.
    *{
        (
            f"module.aurora.aws_rds_cluster_instance.{instance}",
            _UPDATE,
            (
                "performance_insights_enabled",
                "performance_insights_kms_key_id",
                "performance_insights_retention_period",
            ),
        )
        for instance in ("writer", 'readers["reader-1"]', 'readers["reader-2"]')
    },
}
