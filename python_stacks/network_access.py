"""Security groups of the Lambda functions: reach the database and AWS APIs, nothing else."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.security_group_rule import SecurityGroupRule
from constructs import Construct

from python_stacks.naming import Naming

MYSQL_PORT = 3306
HTTPS_PORT = 443


class LambdaNetworkAccess(Construct):
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
        # No "quarantine" group for destroy: Lambda releases its interfaces late whatever group they are moved to,
        # and the provider already waits for them before deleting this group and the subnets (docs/decisions/0010).
        # Secrets Manager, KMS and X-Ray are reached over HTTPS through the NAT gateway (docs/decisions/0006).
        https = SecurityGroupRule(
            self,
            "egress-https",
            type="egress",
            security_group_id=self.security_group.id,
            protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            cidr_blocks=["0.0.0.0/0"],
            description="AWS APIs (Secrets Manager, KMS, X-Ray) over HTTPS",
        )
        # The rules a function needs before it can reach AWS APIs and the database: a deploy-time invocation
        # (the migration) waits for all of them.
        self.egress_rules: list[SecurityGroupRule] = [https]

    def allow_database(self, database_security_group_id: str) -> None:
        mysql = SecurityGroupRule(
            self,
            "egress-mysql",
            type="egress",
            security_group_id=self.security_group.id,
            protocol="tcp",
            from_port=MYSQL_PORT,
            to_port=MYSQL_PORT,
            source_security_group_id=database_security_group_id,
            description="Aurora MySQL",
        )
        self.egress_rules.append(mysql)
