"""The artifacts bucket: where the shared Lambda ZIP is uploaded; KMS-encrypted, private, expiring, destroyable."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from python_stacks.constants import S3_EXPIRATION_DAYS
from python_stacks.workspace import Naming


def artifacts_bucket_name(naming: Naming, account_id: str) -> str:
    # Bucket names are global: the account id qualifies the resource type so every account gets its own.
    return naming.name(f"trading-artifacts-{account_id}")


class ArtifactsBucket(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        naming: Naming,
        account_id: str,
        kms_key_arn: str,
        tls_only_policy: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        name = artifacts_bucket_name(naming, account_id)
        self.bucket = S3Bucket(self, "bucket", bucket=name, force_destroy=True, tags={"Name": name})
        bucket_id = self.bucket.id
        S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
                        )
                    ),
                    bucket_key_enabled=True,
                )
            ],
        )
        versioning = S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket_id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-after-90-days",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter()],
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=S3_EXPIRATION_DAYS)],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=S3_EXPIRATION_DAYS
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=S3_EXPIRATION_DAYS
                        )
                    ],
                ),
                # Expiring a current version leaves a delete marker; once its old version expires too, the marker
                # is all that is left. S3 removes such markers itself only when they reach the rule's 90 days
                # again; this rule removes them as soon as they are the only version. S3 refuses
                # expired_object_delete_marker in a rule that also sets days, hence a rule of its own.
                S3BucketLifecycleConfigurationRule(
                    id="remove-expired-delete-markers",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter()],
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(expired_object_delete_marker=True)],
                ),
            ],
            # The provider requires versioning to be configured before rules on noncurrent versions.
            depends_on=[versioning],
        )
        if tls_only_policy:
            S3BucketPolicy(self, "policy", bucket=bucket_id, policy=self._tls_only_policy().json)

    def _tls_only_policy(self) -> DataAwsIamPolicyDocument:
        return DataAwsIamPolicyDocument(
            self,
            "tls-only",
            statement=[
                {
                    "sid": "DenyInsecureTransport",
                    "effect": "Deny",
                    "principals": [{"type": "*", "identifiers": ["*"]}],
                    "actions": ["s3:*"],
                    "resources": [self.bucket.arn, f"{self.bucket.arn}/*"],
                    "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
                }
            ],
        )
