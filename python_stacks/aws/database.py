"""The Aurora MySQL cluster, from tf_modules/aurora, with this workspace's protection settings, and the secret of the
trade API's own database user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdktf import TerraformStack, TerraformVariable
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from constructs import Construct

from python_stacks.aws.modules import ModuleFace
from python_stacks.aws.network import Vpc
from python_stacks.config import StackConfig
from python_stacks.constants import AURORA_INSTANCE_CLASS, AURORA_READ_REPLICAS
from python_stacks.workspace import Naming

DATABASE_NAME = "trading"


class Aurora(ModuleFace):
    """``module.aurora``: writer + read replicas; names and outputs as in tf_modules/aurora/README.md."""

    SOURCE = "aurora"
    VARIABLES = frozenset(
        {
            "environment_suffix",
            "kms_key_arn",
            "vpc_id",
            "subnet_ids",
            "availability_zones",
            "allowed_security_group_ids",
            "instance_class",
            "replica_count",
            "database_name",
            "skip_final_snapshot",
            "backup_retention_period",
            "snapshot_identifier",
            "create_cloudwatch_alarms",
            "cloudwatch_alarm_actions",
            "cloudwatch_ok_actions",
            "cloudwatch_alarm_thresholds",
            "cloudwatch_alarm_evaluation",
        }
    )
    OUTPUTS = frozenset(
        {
            "cluster_identifier",
            "cluster_endpoint",
            "cluster_reader_endpoint",
            "cluster_port",
            "cluster_master_user_secret_arn",
            "final_snapshot_identifier",
            "security_group_id",
            "cloudwatch_alarm_names",
        }
    )

    def __init__(
        self,
        stack: TerraformStack,
        construct_id: str,
        *,
        config: StackConfig,
        vpc: Vpc,
        azs: list[str],
        kms_key_arn: str,
    ) -> None:
        database = config.settings.database
        # Set by the deploy tooling when a prod recreate restores the newest final snapshot
        # (docs/prod-data-procedure.md); the module ignores later changes, so it can never replace the cluster.
        restore = TerraformVariable(
            stack,
            "restore_snapshot_identifier",
            type="string",
            # cdktf drops a None default, which would make the variable required: "" stands for "no snapshot".
            default="",
            description="Cluster snapshot to restore the database from when it is created (prod recreate).",
        )
        super().__init__(
            stack,
            construct_id,
            {
                "environment_suffix": config.naming.environment_suffix,
                "kms_key_arn": kms_key_arn,
                "vpc_id": vpc.vpc_id,
                "subnet_ids": vpc.private_subnets,
                "availability_zones": azs,
                "instance_class": AURORA_INSTANCE_CLASS,
                "replica_count": AURORA_READ_REPLICAS,
                "database_name": DATABASE_NAME,
                "skip_final_snapshot": database.skip_final_snapshot,
                "backup_retention_period": database.backup_retention_days,
                "snapshot_identifier": f'${{{restore.fqn} == "" ? null : {restore.fqn}}}',
            },
        )

    def allow_clients(self, security_groups: Mapping[str, str]) -> None:
        """The security groups (by a stable key) whose members may connect to the cluster."""
        self._set("allowed_security_group_ids", dict(security_groups))

    def switch_on_alarms(self, settings: Mapping[str, Any]) -> None:
        """The module's own CloudWatch alarms, with these ``create_cloudwatch_alarms``/``cloudwatch_*`` inputs."""
        for variable, value in settings.items():
            self._set(variable, value)

    @property
    def cluster_identifier(self) -> str:
        return self._output("cluster_identifier")

    @property
    def writer_endpoint(self) -> str:
        return self._output("cluster_endpoint")

    @property
    def reader_endpoint(self) -> str:
        return self._output("cluster_reader_endpoint")

    @property
    def port(self) -> float:
        return self.module.get_number(self._checked("cluster_port"))

    @property
    def master_user_secret_arn(self) -> str:
        return self._output("cluster_master_user_secret_arn")

    @property
    def final_snapshot_identifier(self) -> str:
        return self._output("final_snapshot_identifier")

    @property
    def security_group_id(self) -> str:
        return self._output("security_group_id")

    @property
    def alarm_names(self) -> Any:
        """Map of the module's alarm keys (``writer-cpu``, ...) to alarm names."""
        return self._output_any("cloudwatch_alarm_names")


def app_user_secret(scope: Construct, *, naming: Naming, kms_key_arn: str) -> SecretsmanagerSecret:
    """The trade API's own database user's credentials: Terraform creates the secret empty (no version), the
    migration creates the user with a random password and stores it, so no password ever enters Terraform state
    (docs/decisions/0011-application-database-user.md)."""
    name = naming.name("secret-db-trades-api")
    return SecretsmanagerSecret(
        scope,
        "db-app-user-secret",
        name=name,
        description=f"Database user of the trade API ({naming.environment_suffix}); written by the migration",
        kms_key_id=kms_key_arn,
        # Deleted at once on destroy, so destroy and recreate reuse the name (a recovery window would block it).
        recovery_window_in_days=0,
        tags={"Name": name},
    )
