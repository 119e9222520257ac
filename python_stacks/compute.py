"""The Lambda functions: every one from the same shared ZIP, in the VPC, least-privilege, logged and traced."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf import AssetType, Fn, TerraformAsset, TerraformHclModule
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionLoggingConfig,
    LambdaFunctionTracingConfig,
    LambdaFunctionVpcConfig,
)
from cdktf_cdktf_provider_aws.lambda_invocation import LambdaInvocation
from cdktf_cdktf_provider_aws.s3_object import S3Object
from constructs import Construct

from python_stacks.artifact import lambda_zip_path
from python_stacks.config import StackConfig
from python_stacks.constants import LAMBDA_MEMORY_MB, LAMBDA_RUNTIME, LAMBDA_TIMEOUT_S, REGION
from python_stacks.database import DATABASE_NAME
from python_stacks.functions import FUNCTIONS, MIGRATE, FunctionSpec
from python_stacks.network_access import LambdaNetworkAccess


@dataclass(frozen=True)
class FunctionInputs:
    """What the functions need from the rest of the stack."""

    kms_key_arn: str
    account_id: str
    bucket_id: str
    private_subnet_ids: list[str]
    network: LambdaNetworkAccess
    database: TerraformHclModule
    log_groups: dict[str, CloudwatchLogGroup]


class Functions(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, inputs: FunctionInputs) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._inputs = inputs
        zip_asset = TerraformAsset(self, "shared-zip", path=str(lambda_zip_path()), type=AssetType.FILE)
        # One upload serves every function; the key carries the content hash, so new code means a new object
        # and source_code_hash makes every function pick it up.
        self.code = S3Object(
            self,
            "code",
            bucket=inputs.bucket_id,
            key=f"lambda/{zip_asset.asset_hash}.zip",
            source=zip_asset.path,
            source_hash=Fn.filemd5(zip_asset.path),
            server_side_encryption="aws:kms",
            kms_key_id=inputs.kms_key_arn,
        )
        self.code_hash = Fn.filebase64sha256(zip_asset.path)
        self.by_type = {spec.resource_type: self._function(spec) for spec in FUNCTIONS}
        self._run_migration(zip_asset.asset_hash)

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        database = self._inputs.database
        return {
            "DB_SECRET_ARN": database.get_string("cluster_master_user_secret_arn"),
            "DB_WRITER_HOST": database.get_string("cluster_endpoint"),
            "DB_READER_HOST": database.get_string("cluster_reader_endpoint"),
            "DB_PORT": Fn.tostring(database.get_number("cluster_port")),
            "DB_NAME": DATABASE_NAME,
            "DB_TLS": "required",
            "POWERTOOLS_SERVICE_NAME": spec.resource_type,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }

    def _role(self, spec: FunctionSpec, log_group: CloudwatchLogGroup) -> tuple[IamRole, IamRolePolicy]:
        name = self._config.naming.name(f"role-{spec.resource_type}")
        role = IamRole(
            self,
            f"{spec.resource_type}-role",
            name=name,
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags={"Name": name},
        )
        account = self._inputs.account_id
        network_interface_arns = [
            f"arn:aws:ec2:{REGION}:{account}:{kind}/*"
            for kind in ("network-interface", "subnet", "security-group")
        ]
        # A policy document data source, not json.dumps: the references stay structured, which the HCL export of
        # cdktf needs (it cannot escape quotes around ${...} inside a JSON string).
        document = DataAwsIamPolicyDocument(
            self,
            f"{spec.resource_type}-policy-document",
            statement=[
                {
                    "sid": "OwnLogGroup",
                    "actions": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "resources": [f"{log_group.arn}:*"],
                },
                {
                    "sid": "DatabaseSecret",
                    "actions": ["secretsmanager:GetSecretValue"],
                    "resources": [self._inputs.database.get_string("cluster_master_user_secret_arn")],
                },
                {"sid": "PlatformKey", "actions": ["kms:Decrypt"], "resources": [self._inputs.kms_key_arn]},
                {
                    "sid": "VpcNetworkInterfaces",
                    "actions": [
                        "ec2:CreateNetworkInterface",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    "resources": network_interface_arns,
                },
                {
                    # These EC2 and X-Ray calls support no resource-level permissions: AWS requires "*".
                    "sid": "DescribeInterfacesAndTrace",
                    "actions": [
                        "ec2:DescribeNetworkInterfaces",
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                    ],
                    "resources": ["*"],
                },
            ],
        )
        policy = IamRolePolicy(
            self,
            f"{spec.resource_type}-policy",
            name=self._config.naming.name(f"policy-{spec.resource_type}"),
            role=role.id,
            policy=document.json,
        )
        return role, policy

    def _function(self, spec: FunctionSpec) -> LambdaFunction:
        inputs, naming = self._inputs, self._config.naming
        log_group = inputs.log_groups[spec.resource_type]
        role, policy = self._role(spec, log_group)
        name = naming.name(spec.resource_type)
        return LambdaFunction(
            self,
            spec.resource_type,
            function_name=name,
            description=spec.description,
            role=role.arn,
            runtime=LAMBDA_RUNTIME,
            handler=spec.handler,
            architectures=["x86_64"],
            memory_size=LAMBDA_MEMORY_MB,
            timeout=LAMBDA_TIMEOUT_S,
            s3_bucket=self.code.bucket,
            s3_key=self.code.key,
            source_code_hash=self.code_hash,
            kms_key_arn=inputs.kms_key_arn,
            environment=LambdaFunctionEnvironment(variables=self._environment(spec)),
            vpc_config=LambdaFunctionVpcConfig(
                subnet_ids=inputs.private_subnet_ids,
                security_group_ids=[inputs.network.security_group.id],
            ),
            replace_security_groups_on_destroy=True,
            replacement_security_group_ids=[inputs.network.quarantine_group.id],
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            logging_config=LambdaFunctionLoggingConfig(log_format="JSON", log_group=log_group.name),
            reserved_concurrent_executions=self._config.settings.compute.reserved_concurrency,
            tags={"Name": name},
            # The log group and the role's permissions exist before the first invocation can log.
            depends_on=[log_group, policy],
        )

    def _run_migration(self, code_hash: str) -> None:
        # Re-runs whenever the shared ZIP changes: migrations are idempotent, and any new code may carry a new
        # schema version (docs/decisions/0006-compute-and-api.md).
        LambdaInvocation(
            self,
            "migrate-schema",
            function_name=self.by_type[MIGRATE.resource_type].function_name,
            input=json.dumps({"source": "terraform", "action": "migrate"}),
            triggers={"code": code_hash},
            depends_on=[self._inputs.database],
        )
