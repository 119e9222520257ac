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
        # Lambda's network interfaces are handed to this empty group on destroy, so deleting the functions' group
        # is never blocked by interfaces AWS releases late (replace_security_groups_on_destroy).
        quarantine = naming.name("security-group-lambda-quarantine")
        self.quarantine_group = SecurityGroup(
            self,
            "quarantine",
            name=quarantine,
            description="Holds released Lambda network interfaces during destroy; no rules",
            vpc_id=vpc_id,
            tags={"Name": quarantine},
        )
        # Secrets Manager, KMS and X-Ray are reached over HTTPS through the NAT gateway (docs/decisions/0006).
        SecurityGroupRule(
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

    def allow_database(self, database_security_group_id: str) -> None:
        SecurityGroupRule(
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
