"""The Aurora MySQL cluster, from tf_modules/aurora, with this workspace's protection settings."""

from __future__ import annotations

from cdktf import TerraformHclModule, TerraformStack, TerraformVariable
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from constructs import Construct

from python_stacks.config import StackConfig
from python_stacks.constants import AURORA_INSTANCE_CLASS, AURORA_READ_REPLICAS
from python_stacks.modules import hcl_module
from python_stacks.naming import Naming

DATABASE_NAME = "trading"


def aurora_cluster(
    stack: TerraformStack,
    *,
    config: StackConfig,
    vpc: TerraformHclModule,
    azs: list[str],
    kms_key_arn: str,
    client_security_group_id: str,
) -> TerraformHclModule:
    """``module.aurora``: writer + read replicas; names and outputs as in tf_modules/aurora/README.md."""
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
    snapshot_identifier = f'${{{restore.fqn} == "" ? null : {restore.fqn}}}'
    return hcl_module(
        stack,
        "aurora",
        module="aurora",
        variables={
            "environment_suffix": config.naming.environment_suffix,
            "kms_key_arn": kms_key_arn,
            "vpc_id": vpc.get_string("vpc_id"),
            "subnet_ids": vpc.get("private_subnets"),
            "availability_zones": azs,
            "allowed_security_group_ids": {"lambda": client_security_group_id},
            "instance_class": AURORA_INSTANCE_CLASS,
            "replica_count": AURORA_READ_REPLICAS,
            "database_name": DATABASE_NAME,
            "skip_final_snapshot": database.skip_final_snapshot,
            "backup_retention_period": database.backup_retention_days,
            "snapshot_identifier": snapshot_identifier,
        },
    )


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
