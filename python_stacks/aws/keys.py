"""The workspace's KMS key: one customer-managed key encrypts everything the platform stores at rest."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from python_stacks.aws.operations import alarm_arn_pattern
from python_stacks.constants import KMS_ALIAS_BASE, REGION
from python_stacks.workspace import Naming

# Services that encrypt with this key on behalf of principals of the account.
SERVICES_VIA = tuple(f"{service}.{REGION}.amazonaws.com" for service in ("rds", "secretsmanager", "lambda", "s3"))
KEY_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


def kms_alias_name(naming: Naming) -> str:
    return f"{KMS_ALIAS_BASE}-{naming.environment_suffix}"


class PlatformKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, naming: Naming, deletion_window_days: int) -> None:
        super().__init__(scope, construct_id)
        account_id = DataAwsCallerIdentity(self, "account").account_id
        root = f"arn:aws:iam::{account_id}:root"
        policy = DataAwsIamPolicyDocument(
            self,
            "policy",
            statement=[
                {
                    # Delegates key administration to IAM in this account (the AWS default key policy).
                    "sid": "AccountAdministration",
                    "principals": [{"type": "AWS", "identifiers": [root]}],
                    "actions": ["kms:*"],
                    "resources": ["*"],
                },
                {
                    "sid": "CloudWatchLogsInThisRegion",
                    "principals": [{"type": "Service", "identifiers": [f"logs.{REGION}.amazonaws.com"]}],
                    "actions": KEY_ACTIONS,
                    "resources": ["*"],
                    "condition": [
                        {
                            "test": "ArnLike",
                            "variable": "kms:EncryptionContext:aws:logs:arn",
                            "values": [f"arn:aws:logs:{REGION}:{account_id}:log-group:*"],
                        }
                    ],
                },
                {
                    "sid": "AccountPrincipalsThroughPlatformServices",
                    "principals": [{"type": "AWS", "identifiers": [root]}],
                    "actions": [*KEY_ACTIONS, "kms:CreateGrant", "kms:ListGrants"],
                    "resources": ["*"],
                    "condition": [
                        {"test": "StringEquals", "variable": "kms:CallerAccount", "values": [account_id]},
                        {"test": "StringEquals", "variable": "kms:ViaService", "values": list(SERVICES_VIA)},
                    ],
                },
                {
                    # CloudWatch encrypts the notifications of this workspace's alarms for the alert topic, which
                    # is encrypted with this key (docs/operations.md); no other alarm may use the key.
                    "sid": "CloudWatchAlarmsOfThisWorkspaceNotify",
                    "principals": [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}],
                    "actions": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "resources": ["*"],
                    "condition": [
                        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [account_id]},
                        {
                            "test": "ArnLike",
                            "variable": "aws:SourceArn",
                            "values": [alarm_arn_pattern(naming, account_id)],
                        },
                    ],
                },
            ],
        )
        self.key = KmsKey(
            self,
            "key",
            description=f"Encrypts the trading platform's data at rest ({naming.environment_suffix})",
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window_days,
            policy=policy.json,
            tags={"Name": naming.name("kms-trading")},
        )
        self.alias = KmsAlias(self, "alias", name=kms_alias_name(naming), target_key_id=self.key.key_id)
