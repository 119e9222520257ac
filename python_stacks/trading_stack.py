"""The application stack of one workspace: composition only. Each concern lives in its own module."""

from __future__ import annotations

from cdktf import TerraformLocal, TerraformOutput
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_kms_alias import DataAwsKmsAlias
from constructs import Construct

from python_stacks.base import TradingStackBase
from python_stacks.config import StackConfig
from python_stacks.encryption import kms_alias_name
from python_stacks.functions import FUNCTIONS
from python_stacks.log_groups import encrypted_log_group
from python_stacks.modules import hcl_module
from python_stacks.storage import ArtifactsBucket


def trading_stack_id(config: StackConfig) -> str:
    return config.naming.name("trading")


class TradingStack(TradingStackBase):
    def __init__(self, scope: Construct, config: StackConfig) -> None:
        super().__init__(scope, trading_stack_id(config), config)
        naming, network = config.naming, config.settings.network

        # The region settings of this workspace, visible in one place of the synthesized configuration.
        TerraformLocal(self, "region", config.settings.region)
        azs = TerraformLocal(self, "azs", list(network.azs))
        vpc_cidr = TerraformLocal(self, "vpc_cidr", network.vpc_cidr)
        public_subnets = TerraformLocal(self, "public_subnets", list(network.public_subnets))
        private_subnets = TerraformLocal(self, "private_subnets", list(network.private_subnets))

        account_id = DataAwsCallerIdentity(self, "account").account_id
        # The key belongs to the data-protection stack, deployed first; the alias name is the contract.
        key = DataAwsKmsAlias(self, "kms", name=kms_alias_name(naming))
        kms_key_arn = key.target_key_arn

        artifacts = ArtifactsBucket(
            self,
            "artifacts",
            naming=naming,
            account_id=account_id,
            kms_key_arn=kms_key_arn,
            tls_only_policy=not config.target.concessions.omit_tls_only_bucket_policy,
        )
        # Created before any function exists, so Lambda never auto-creates an unencrypted, unexpiring group.
        function_log_groups = {
            spec.resource_type: encrypted_log_group(
                self,
                f"log-group-{spec.resource_type}",
                name=naming.log_group("lambda", spec.resource_type),
                kms_key_arn=kms_key_arn,
            )
            for spec in FUNCTIONS
        }
        vpc = hcl_module(
            self,
            "vpc",
            module="vpc",
            variables={
                "environment_suffix": naming.environment_suffix,
                "cidr": vpc_cidr.as_string,
                "azs": azs.as_list,
                "public_subnets": public_subnets.as_list,
                "private_subnets": private_subnets.as_list,
                "single_nat_gateway": network.single_nat_gateway,
                "kms_key_arn": kms_key_arn,
            },
        )

        TerraformOutput(self, "vpc_id", value=vpc.get_string("vpc_id"), description="ID of the VPC.")
        TerraformOutput(
            self, "private_subnet_ids", value=vpc.get("private_subnets"), description="Private subnet IDs."
        )
        TerraformOutput(
            self, "public_subnet_ids", value=vpc.get("public_subnets"), description="Public subnet IDs."
        )
        TerraformOutput(self, "kms_key_arn", value=kms_key_arn, description="ARN of the platform KMS key.")
        TerraformOutput(self, "kms_key_alias", value=key.name, description="Alias of the platform KMS key.")
        TerraformOutput(
            self, "artifacts_bucket", value=artifacts.bucket.bucket, description="Name of the artifacts bucket."
        )
