"""The Lambda functions: every one from the same shared ZIP, in the VPC, least-privilege, logged and traced."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, Fn, TerraformAsset, TerraformHclModule
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionLoggingConfig,
    LambdaFunctionTracingConfig,
    LambdaFunctionVpcConfig,
)
from cdktf_cdktf_provider_aws.lambda_invocation import LambdaInvocation
from cdktf_cdktf_provider_aws.lambda_provisioned_concurrency_config import LambdaProvisionedConcurrencyConfig
from cdktf_cdktf_provider_aws.s3_object import S3Object
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from constructs import Construct

from python_stacks.artifact import lambda_zip_path
from python_stacks.config import StackConfig
from python_stacks.constants import (
    LAMBDA_MEMORY_MB,
    LAMBDA_RUNTIME,
    LAMBDA_TIMEOUT_S,
    MIGRATION_RESERVED_CONCURRENCY,
    PARAMETERS_AND_SECRETS_EXTENSION_LAYER_ARN,
    PARAMETERS_AND_SECRETS_EXTENSION_PORT,
    REGION,
    SECRETS_MANAGER_TTL_SECONDS,
)
from python_stacks.database import DATABASE_NAME
from python_stacks.functions import FUNCTIONS, MIGRATE, TRADES_API, FunctionSpec
from python_stacks.network_access import LambdaNetworkAccess
from tools.package import CA_BUNDLE_PATH

# Where Lambda unpacks the ZIP (read-only); the CA bundle ships inside it.
LAMBDA_TASK_ROOT = "/var/task"
# The alias API Gateway invokes: every deploy publishes a version of the API function and moves the alias to it, so
# requests only ever reach a complete, published version (and prod's provisioned concurrency sits on the alias).
LIVE_ALIAS = "live"


def database_tls_environment(zip_path: Path) -> dict[str, str]:
    """``verify_identity`` against the RDS CA bundle the ZIP carries, else ``required`` (encrypted, unverified).

    ``make package --ca-bundle <pem>`` puts the bundle at ``CA_BUNDLE_PATH`` (docs/deploy.md says where to get it).
    """
    with zipfile.ZipFile(zip_path) as archive:
        shipped = CA_BUNDLE_PATH in archive.namelist()
    if shipped:
        return {"DB_TLS": "verify_identity", "DB_TLS_CA_BUNDLE": f"{LAMBDA_TASK_ROOT}/{CA_BUNDLE_PATH}"}
    return {"DB_TLS": "required"}


@dataclass(frozen=True)
class FunctionInputs:
    """What the functions need from the rest of the stack."""

    kms_key_arn: str
    account_id: str
    bucket_id: str
    private_subnet_ids: list[str]
    # The VPC module: its NAT gateways and private routes carry the functions' traffic to AWS APIs.
    vpc: TerraformHclModule
    network: LambdaNetworkAccess
    database: TerraformHclModule
    # The API's own database user's credentials: created empty here, filled by the migration (docs/decisions/0011).
    app_secret: SecretsmanagerSecret
    log_groups: dict[str, CloudwatchLogGroup]


class Functions(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, inputs: FunctionInputs) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._inputs = inputs
        zip_path = lambda_zip_path()
        self._tls = database_tls_environment(zip_path)
        zip_asset = TerraformAsset(self, "shared-zip", path=str(zip_path), type=AssetType.FILE)
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
        api = self.by_type[TRADES_API.resource_type]
        self.api_alias = LambdaAlias(
            self,
            f"{TRADES_API.resource_type}-{LIVE_ALIAS}",
            name=LIVE_ALIAS,
            description="The published version API Gateway invokes",
            function_name=api.function_name,
            function_version=api.version,
        )
        provisioned = config.settings.compute.api_provisioned_concurrency
        if provisioned:
            LambdaProvisionedConcurrencyConfig(
                self,
                f"{TRADES_API.resource_type}-{LIVE_ALIAS}-provisioned",
                function_name=self.api_alias.function_name,
                qualifier=self.api_alias.name,
                provisioned_concurrent_executions=provisioned,
            )
        self._run_migration(zip_asset.asset_hash)

    @property
    def _master_secret_arn(self) -> str:
        return self._inputs.database.get_string("cluster_master_user_secret_arn")

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        """The variables of CONTRACTS.md contract 1 (handlers/README.md): each function gets only what it uses."""
        database = self._inputs.database
        common = {
            "DB_WRITER_HOST": database.get_string("cluster_endpoint"),
            "DB_PORT": Fn.tostring(database.get_number("cluster_port")),
            "DB_NAME": DATABASE_NAME,
            **self._tls,
            "POWERTOOLS_SERVICE_NAME": spec.resource_type,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if spec is TRADES_API:
            return {
                # The API logs in as its own least-privilege user, never as the master user.
                "DB_SECRET_ARN": self._inputs.app_secret.arn,
                "DB_READER_HOST": database.get_string("cluster_reader_endpoint"),
                **common,
                "POWERTOOLS_METRICS_NAMESPACE": self._config.naming.name("trading"),
                # Read by the Parameters and Secrets extension (and by the handler for the port).
                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(PARAMETERS_AND_SECRETS_EXTENSION_PORT),
                "SECRETS_MANAGER_TTL": str(SECRETS_MANAGER_TTL_SECONDS),
            }
        return {
            # The migration alone holds the master secret: it creates the API's user and stores its password.
            "DB_SECRET_ARN": self._master_secret_arn,
            "DB_APP_SECRET_ARN": self._inputs.app_secret.arn,
            **common,
        }

    def _secret_statements(self, spec: FunctionSpec) -> list[dict[str, object]]:
        """Least privilege on the database secrets and the key that encrypts them."""
        app_secret, key = self._inputs.app_secret.arn, self._inputs.kms_key_arn
        if spec is TRADES_API:
            return [
                {"sid": "AppUserSecret", "actions": ["secretsmanager:GetSecretValue"], "resources": [app_secret]},
                {"sid": "PlatformKey", "actions": ["kms:Decrypt"], "resources": [key]},
            ]
        return [
            {
                "sid": "MasterUserSecret",
                "actions": ["secretsmanager:GetSecretValue"],
                "resources": [self._master_secret_arn],
            },
            {
                "sid": "AppUserSecret",
                "actions": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
                "resources": [app_secret],
            },
            # PutSecretValue under a customer key needs a data key from it; reading needs Decrypt.
            {"sid": "PlatformKey", "actions": ["kms:Decrypt", "kms:GenerateDataKey"], "resources": [key]},
        ]

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
                *self._secret_statements(spec),
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
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            logging_config=LambdaFunctionLoggingConfig(log_format="JSON", log_group=log_group.name),
            reserved_concurrent_executions=self._reserved_concurrency(spec),
            # A new version per code or configuration change of the API, for its alias; the migration is invoked
            # unqualified (at its latest configuration) and needs none.
            publish=spec is TRADES_API,
            # The API reads its secret through AWS's extension (off boto3's cold path); the migration uses boto3.
            layers=[PARAMETERS_AND_SECRETS_EXTENSION_LAYER_ARN] if spec is TRADES_API else None,
            tags={"Name": name},
            # The log group and the role's permissions exist before the first invocation can log.
            depends_on=[log_group, policy],
        )

    def _reserved_concurrency(self, spec: FunctionSpec) -> int:
        # Only the API carries the workspace's figure; every reservation leaves less of the account's budget.
        if spec is TRADES_API:
            return self._config.settings.compute.api_reserved_concurrency
        return MIGRATION_RESERVED_CONCURRENCY

    def _run_migration(self, code_hash: str) -> None:
        # Re-runs whenever the shared ZIP changes: migrations are idempotent, and any new code may carry a new
        # schema version (docs/decisions/0006-compute-and-api.md).
        LambdaInvocation(
            self,
            "migrate-schema",
            function_name=self.by_type[MIGRATE.resource_type].function_name,
            input=json.dumps({"source": "terraform", "action": "migrate"}),
            triggers={"code": code_hash},
            # The function reaches Secrets Manager through the NAT routes (module.vpc) and the database and AWS APIs
            # through its egress rules; without these edges it works only because Aurora is slow to create.
            depends_on=[self._inputs.database, self._inputs.vpc, *self._inputs.network.egress_rules],
        )
