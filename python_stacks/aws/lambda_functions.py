"""The Lambda functions: every one from the same shared ZIP, in the VPC, least-privilege, logged and traced.

``LambdaFunctions`` owns everything a function needs: the ZIP's S3 object, each function's role, log group and
security group, the API's live alias and the deploy-time migration. Its log groups and security group keep the
construct ids they had as stack-level constructs (``log-group-<type>``, ``lambda-network``): their Terraform
addresses derive from those paths, so deployed state stays where it is.
"""

from __future__ import annotations

import json
from typing import Any

from cdktf import AssetType, Fn, TerraformAsset
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
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.security_group_rule import SecurityGroupRule
from constructs import Construct

from python_stacks.aws.database import DATABASE_NAME, Aurora
from python_stacks.aws.lambda_package import (
    FUNCTIONS,
    MIGRATE,
    TRADES_API,
    FunctionSpec,
    database_tls_environment,
    lambda_zip_path,
    trade_metrics_namespace,
)
from python_stacks.aws.logs import encrypted_log_group
from python_stacks.aws.network import Vpc
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
from python_stacks.workspace import Naming

MYSQL_PORT = 3306
HTTPS_PORT = 443
# The alias API Gateway invokes: every deploy publishes a version of the API function and moves the alias to it, so
# requests only ever reach a complete, published version (and prod's provisioned concurrency sits on the alias).
LIVE_ALIAS = "live"


class LambdaSecurityGroup(Construct):
    """The functions' security group: reach the database and AWS APIs, nothing else."""

    def __init__(self, scope: Construct, construct_id: str, *, naming: Naming, vpc_id: str) -> None:
        super().__init__(scope, construct_id)
        name = naming.name("security-group-lambda")
        self.security_group = SecurityGroup(
            self,
            "functions",
            name=name,
            description="Trading Lambda functions: egress to Aurora and HTTPS only",
            vpc_id=vpc_id,
            tags={"Name": name},
        )
        # The rules a function needs before it can reach AWS APIs and the database: a deploy-time invocation
        # (the migration) waits for all of them.
        self.egress_rules: list[SecurityGroupRule] = []
        # No "quarantine" group for destroy: Lambda releases its interfaces late whatever group they are moved to,
        # and the provider already waits for them before deleting this group and the subnets (docs/decisions/0010).
        # Secrets Manager, KMS and X-Ray are reached over HTTPS through the NAT gateway (docs/decisions/0006).
        self._egress(
            "egress-https",
            HTTPS_PORT,
            "AWS APIs (Secrets Manager, KMS, X-Ray) over HTTPS",
            cidr_blocks=["0.0.0.0/0"],
        )

    def allow_database(self, database_security_group_id: str) -> None:
        """Egress to the cluster's own security group on the MySQL port."""
        self._egress("egress-mysql", MYSQL_PORT, "Aurora MySQL", source_security_group_id=database_security_group_id)

    def _egress(self, construct_id: str, port: int, description: str, **destination: Any) -> None:
        self.egress_rules.append(
            SecurityGroupRule(
                self,
                construct_id,
                type="egress",
                security_group_id=self.security_group.id,
                protocol="tcp",
                from_port=port,
                to_port=port,
                description=description,
                **destination,
            )
        )


class LambdaFunctions(Construct):
    """Every function of ``FUNCTIONS``, its code object, role, log group and security group, and the migration run."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        kms_key_arn: str,
        account_id: str,
        bucket_id: str,
        vpc: Vpc,
        database: Aurora,
        app_secret: SecretsmanagerSecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._kms_key_arn = kms_key_arn
        self._account_id = account_id
        self._vpc = vpc
        self._database = database
        # The API's own database user's credentials: created empty, filled by the migration (docs/decisions/0011).
        self._app_secret = app_secret
        naming = config.naming
        # Created before any function exists, so Lambda never auto-creates an unencrypted, unexpiring group. In the
        # stack's scope (their construct ids predate this construct, see the module docstring).
        self.log_groups: dict[str, CloudwatchLogGroup] = {
            spec.resource_type: encrypted_log_group(
                scope,
                f"log-group-{spec.resource_type}",
                name=naming.log_group("lambda", spec.resource_type),
                kms_key_arn=kms_key_arn,
            )
            for spec in FUNCTIONS
        }
        self.network = LambdaSecurityGroup(scope, "lambda-network", naming=naming, vpc_id=vpc.vpc_id)
        self.network.allow_database(database.security_group_id)
        database.allow_clients({"lambda": self.network.security_group.id})

        zip_path = lambda_zip_path()
        self._tls = database_tls_environment(zip_path)
        zip_asset = TerraformAsset(self, "shared-zip", path=str(zip_path), type=AssetType.FILE)
        # One upload serves every function; the key carries the content hash, so new code means a new object
        # and source_code_hash makes every function pick it up.
        self.code = S3Object(
            self,
            "code",
            bucket=bucket_id,
            key=f"lambda/{zip_asset.asset_hash}.zip",
            source=zip_asset.path,
            source_hash=Fn.filemd5(zip_asset.path),
            server_side_encryption="aws:kms",
            kms_key_id=kms_key_arn,
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
        return self._database.master_user_secret_arn

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        """The variables of CONTRACTS.md contract 1 (handlers/README.md): each function gets only what it uses."""
        database = self._database
        common = {
            "DB_WRITER_HOST": database.writer_endpoint,
            "DB_PORT": Fn.tostring(database.port),
            "DB_NAME": DATABASE_NAME,
            **self._tls,
            "POWERTOOLS_SERVICE_NAME": spec.resource_type,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if spec is TRADES_API:
            return {
                # The API logs in as its own least-privilege user, never as the master user.
                "DB_SECRET_ARN": self._app_secret.arn,
                "DB_READER_HOST": database.reader_endpoint,
                **common,
                "POWERTOOLS_METRICS_NAMESPACE": trade_metrics_namespace(self._config.naming),
                # Read by the Parameters and Secrets extension (and by the handler for the port).
                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(PARAMETERS_AND_SECRETS_EXTENSION_PORT),
                "SECRETS_MANAGER_TTL": str(SECRETS_MANAGER_TTL_SECONDS),
            }
        return {
            # The migration alone holds the master secret: it creates the API's user and stores its password.
            "DB_SECRET_ARN": self._master_secret_arn,
            "DB_APP_SECRET_ARN": self._app_secret.arn,
            **common,
        }

    def _secret_statements(self, spec: FunctionSpec) -> list[dict[str, object]]:
        """Least privilege on the database secrets and the key that encrypts them."""
        app_secret, key = self._app_secret.arn, self._kms_key_arn
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
        account = self._account_id
        network_interface_arns = [
            f"arn:aws:ec2:{REGION}:{account}:{kind}/*" for kind in ("network-interface", "subnet", "security-group")
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
        naming = self._config.naming
        log_group = self.log_groups[spec.resource_type]
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
            kms_key_arn=self._kms_key_arn,
            environment=LambdaFunctionEnvironment(variables=self._environment(spec)),
            vpc_config=LambdaFunctionVpcConfig(
                subnet_ids=self._vpc.private_subnet_ids,
                security_group_ids=[self.network.security_group.id],
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
            depends_on=[self._database.module, self._vpc.module, *self.network.egress_rules],
        )
