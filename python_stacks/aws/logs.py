"""CloudWatch log groups, created explicitly so no service ever auto-creates an unencrypted, unexpiring one."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from python_stacks.constants import LOG_RETENTION_DAYS


def encrypted_log_group(scope: Construct, construct_id: str, *, name: str, kms_key_arn: str) -> CloudwatchLogGroup:
    return CloudwatchLogGroup(
        scope,
        construct_id,
        name=name,
        retention_in_days=LOG_RETENTION_DAYS,
        kms_key_id=kms_key_arn,
        tags={"Name": name},
    )
