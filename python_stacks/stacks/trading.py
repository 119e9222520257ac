"""The application stack of one workspace: composition only. Each concern lives in its own module."""

from __future__ import annotations

from cdktf import Fn, TerraformLocal, TerraformOutput
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_kms_alias import DataAwsKmsAlias
from constructs import Construct

from python_stacks.aws.api import Api
from python_stacks.aws.database import Aurora, app_user_secret
from python_stacks.aws.dns import Dns
from python_stacks.aws.keys import kms_alias_name
from python_stacks.aws.lambda_functions import LambdaFunctions
from python_stacks.aws.lambda_package import FUNCTIONS
from python_stacks.aws.network import Vpc
from python_stacks.aws.operations import Operations
from python_stacks.aws.storage import ArtifactsBucket
from python_stacks.config import StackConfig
from python_stacks.stacks.workspace_stack import WorkspaceStack
from python_stacks.workspace import trading_stack_id


class TradingStack(WorkspaceStack):
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
        vpc = Vpc(
            self,
            "vpc",
            environment_suffix=naming.environment_suffix,
            cidr=vpc_cidr.as_string,
            azs=azs.as_list,
            public_subnets=public_subnets.as_list,
            private_subnets=private_subnets.as_list,
            single_nat_gateway=network.single_nat_gateway,
            kms_key_arn=kms_key_arn,
        )
        database = Aurora(self, "aurora", config=config, vpc=vpc, azs=azs.as_list, kms_key_arn=kms_key_arn)
        # Each function with its code, role, log group and security group; the latter is let into the database.
        functions = LambdaFunctions(
            self,
            "functions",
            config=config,
            kms_key_arn=kms_key_arn,
            account_id=account_id,
            bucket_id=artifacts.bucket.id,
            vpc=vpc,
            database=database,
            app_secret=app_user_secret(self, naming=naming, kms_key_arn=kms_key_arn),
        )
        dns = Dns(self, "dns", config=config)
        api = Api(
            self,
            "api",
            config=config,
            alias=functions.api_alias,
            kms_key_arn=kms_key_arn,
            zone_id=dns.zone_id,
        )
        dns.alias_api(api)
        # Alert topic, alarms (Aurora's inside tf_modules/aurora), the paging composite and the dashboard.
        operations = Operations(
            self,
            "operations",
            config=config,
            account_id=account_id,
            kms_key_arn=kms_key_arn,
            api=api,
            functions=functions.by_type,
            database=database,
        )

        outputs = {
            "api_invoke_url": (api.stage_invoke_url, "Invoke URL of the API Gateway stage."),
            "api_custom_domain_url": (api.custom_domain_url, "URL of the API's custom domain."),
            "db_writer_endpoint": (database.writer_endpoint, "Aurora writer (cluster) endpoint."),
            "db_reader_endpoint": (database.reader_endpoint, "Aurora reader endpoint."),
            "db_port": (database.port, "Aurora MySQL port."),
            "db_secret_arn": (
                database.master_user_secret_arn,
                "ARN of the RDS-managed master secret (no password is ever output).",
            ),
            "db_cluster_identifier": (database.cluster_identifier, "Aurora cluster identifier."),
            "db_final_snapshot_identifier": (
                database.final_snapshot_identifier,
                "Final snapshot the cluster takes on destroy (only in workspaces that take one).",
            ),
            "function_names": (
                Fn.tolist([functions.by_type[spec.resource_type].function_name for spec in FUNCTIONS]),
                "Names of the Lambda functions (all from the shared ZIP).",
            ),
            "lambda_code_key": (functions.code.key, "S3 key of the shared Lambda ZIP."),
            "vpc_id": (vpc.vpc_id, "ID of the VPC."),
            "private_subnet_ids": (vpc.private_subnets, "Private subnet IDs (Aurora and Lambda)."),
            "public_subnet_ids": (vpc.public_subnets, "Public subnet IDs (NAT gateways)."),
            "kms_key_arn": (kms_key_arn, "ARN of the platform KMS key."),
            "kms_key_alias": (key.name, "Alias of the platform KMS key."),
            "artifacts_bucket": (artifacts.bucket.bucket, "Name of the artifacts bucket."),
            "alert_topic_arn": (operations.topic.arn, "SNS topic every alarm notifies (docs/operations.md)."),
            "dashboard_name": (operations.dashboard.dashboard_name, "CloudWatch dashboard of the workspace."),
        }
        if config.settings.database.skip_final_snapshot:
            # The module's value is null where no final snapshot is taken, and a null output makes the cdktf CLI fail
            # after a successful apply: no output at all there (tests/unit/test_outputs.py).
            del outputs["db_final_snapshot_identifier"]
        for name, (value, description) in outputs.items():
            TerraformOutput(self, name, value=value, description=description)
