"""The deployed network decides who reaches a cluster: the emulator's resolve answers, and a worker's connection.

A VPC shaped like the stack's (functions in their own subnets and security group, the cluster in a DB subnet group
behind a group that admits the functions' group on 3306), built with boto3 on a private emulator. moto's Lambda
stores a function (and its VPC configuration) without running anything, which is all the decision needs.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_cloud import tls
from tests.support import local_rds
from tools.emulator import Emulator, aws_client

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PORT = 3306


@dataclass(frozen=True)
class Deployed:
    emulator: Emulator
    vpc: str
    function: str
    lambda_group: str
    database_group: str
    endpoint: str
    reader_endpoint: str
    credentials: dict[str, str]

    def client(self, service: str) -> Any:
        return aws_client(self.emulator.endpoint, service)

    def functions_admitted(self, admitted: bool) -> None:
        """Add or revoke the cluster group's ingress rule from the functions' group (the stack's rule)."""
        ec2 = self.client("ec2")
        change = ec2.authorize_security_group_ingress if admitted else ec2.revoke_security_group_ingress
        change(GroupId=self.database_group, IpPermissions=_by_group(self.lambda_group))


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def _mysql_rule(**peer: Any) -> list[dict[str, Any]]:
    return [{"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT, **peer}]


def _by_group(group: str) -> list[dict[str, Any]]:
    return _mysql_rule(UserIdGroupPairs=[{"GroupId": group}])


def _by_cidr(cidr: str) -> list[dict[str, Any]]:
    return _mysql_rule(IpRanges=[{"CidrIp": cidr}])


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    emulator = Emulator.private()
    try:
        ec2, rds = aws_client(emulator.endpoint, "ec2"), aws_client(emulator.endpoint, "rds")
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnet = {
            cidr: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
            for cidr in ("10.20.1.0/24", "10.20.2.0/24", "10.20.11.0/24", "10.20.12.0/24")
        }
        lambda_group = ec2.create_security_group(GroupName="lambda", Description="functions", VpcId=vpc)["GroupId"]
        database_group = ec2.create_security_group(GroupName="aurora", Description="cluster", VpcId=vpc)["GroupId"]
        # As the stack does: the functions' group sends only to the database's group, which admits only them.
        everywhere = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        ec2.revoke_security_group_egress(GroupId=lambda_group, IpPermissions=everywhere)
        ec2.authorize_security_group_egress(GroupId=lambda_group, IpPermissions=_by_group(database_group))
        ec2.authorize_security_group_ingress(GroupId=database_group, IpPermissions=_by_group(lambda_group))
        rds.create_db_subnet_group(
            DBSubnetGroupName="aurora",
            DBSubnetGroupDescription="cluster",
            SubnetIds=[subnet["10.20.1.0/24"], subnet["10.20.2.0/24"]],
        )
        cluster = rds.create_db_cluster(
            DBClusterIdentifier="aurora-net",
            Engine="aurora-mysql",
            MasterUsername="trading_admin",
            ManageMasterUserPassword=True,
            DatabaseName="trading",
            DBSubnetGroupName="aurora",
            VpcSecurityGroupIds=[database_group],
        )["DBCluster"]
        secret = aws_client(emulator.endpoint, "secretsmanager").get_secret_value(
            SecretId=cluster["MasterUserSecret"]["SecretArn"]
        )
        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        role = aws_client(emulator.endpoint, "iam").create_role(RoleName="fn", AssumeRolePolicyDocument=trust)
        role = role["Role"]["Arn"]
        aws_client(emulator.endpoint, "lambda").create_function(
            FunctionName="trading-api",
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": _zip()},
            Publish=True,
            VpcConfig={
                "SubnetIds": [subnet["10.20.11.0/24"], subnet["10.20.12.0/24"]],
                "SecurityGroupIds": [lambda_group],
            },
        )
        yield Deployed(
            emulator,
            vpc,
            "trading-api",
            lambda_group,
            database_group,
            cluster["Endpoint"],
            cluster["ReaderEndpoint"],
            json.loads(secret["SecretString"]),
        )
    finally:
        emulator.stop()


def resolve(
    deployed: Deployed, host: str | None = None, *, function: str | None = None, qualifier: str = "1", port: int = PORT
) -> tuple[int, dict[str, Any]]:
    query = urllib.parse.urlencode(
        {
            "function": function or deployed.function,
            "qualifier": qualifier,
            "host": host or deployed.endpoint,
            "port": port,
        }
    )
    try:
        with urllib.request.urlopen(
            f"{deployed.emulator.endpoint}/_local_cloud/network/resolve?{query}", timeout=10
        ) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_the_deployed_rules_let_the_function_reach_both_endpoints(deployed: Deployed) -> None:
    local = local_rds.cluster(deployed.emulator.endpoint, "aurora-net")
    for host in (deployed.endpoint, deployed.reader_endpoint, deployed.endpoint.upper() + "."):
        for qualifier in ("1", "$LATEST"):
            expected = (200, {"address": "127.0.0.1", "port": local["port"]})
            assert resolve(deployed, host, qualifier=qualifier) == expected


def test_unknown_hosts_are_left_to_dns_and_other_ports_or_functions_are_dropped(deployed: Deployed) -> None:
    assert resolve(deployed, "nothing.cluster-x.us-east-1.rds.amazonaws.com")[0] == 404
    status, body = resolve(deployed, port=5432)
    assert status == 403 and "listens on port 3306" in body["reason"]
    status, body = resolve(deployed, function="no-such-function")
    assert status == 403 and "does not exist" in body["reason"]


def test_a_revoked_ingress_rule_drops_the_next_connection_and_a_restored_one_lets_it_through(
    deployed: Deployed,
) -> None:
    deployed.functions_admitted(False)
    try:
        status, body = resolve(deployed)
        assert status == 403 and "no ingress rule" in body["reason"] and deployed.lambda_group in body["reason"]
    finally:
        deployed.functions_admitted(True)
    assert resolve(deployed)[0] == 200


def test_a_revoked_egress_rule_drops_it_too(deployed: Deployed) -> None:
    ec2 = deployed.client("ec2")
    ec2.revoke_security_group_egress(GroupId=deployed.lambda_group, IpPermissions=_by_group(deployed.database_group))
    try:
        status, body = resolve(deployed)
        assert status == 403 and "no egress rule" in body["reason"]
    finally:
        ec2.authorize_security_group_egress(
            GroupId=deployed.lambda_group, IpPermissions=_by_group(deployed.database_group)
        )


def test_cidr_rules_must_cover_every_subnet_of_the_peer(deployed: Deployed) -> None:
    ec2 = deployed.client("ec2")
    deployed.functions_admitted(False)
    try:
        ec2.authorize_security_group_ingress(GroupId=deployed.database_group, IpPermissions=_by_cidr("10.20.11.0/24"))
        assert resolve(deployed)[0] == 403, "one of the function's two subnets is not admitted"
        ec2.authorize_security_group_ingress(GroupId=deployed.database_group, IpPermissions=_by_cidr("10.20.8.0/21"))
        assert resolve(deployed)[0] == 200, "10.20.8.0/21 holds 10.20.11.0/24 and 10.20.12.0/24"
    finally:
        for cidr in ("10.20.11.0/24", "10.20.8.0/21"):
            ec2.revoke_security_group_ingress(GroupId=deployed.database_group, IpPermissions=_by_cidr(cidr))
        deployed.functions_admitted(True)


def test_a_function_in_another_vpc_or_in_none_is_dropped(deployed: Deployed) -> None:
    ec2, functions = deployed.client("ec2"), deployed.client("lambda")
    other_vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    other_subnet = ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    other_group = ec2.create_security_group(GroupName="other", Description="elsewhere", VpcId=other_vpc)["GroupId"]
    role = functions.get_function(FunctionName=deployed.function)["Configuration"]["Role"]
    name = f"elsewhere-{uuid.uuid4().hex[:6]}"
    functions.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
        VpcConfig={"SubnetIds": [other_subnet], "SecurityGroupIds": [other_group]},
    )
    status, body = resolve(deployed, function=name, qualifier="$LATEST")
    assert status == 403 and other_vpc in body["reason"] and deployed.vpc in body["reason"]
    functions.create_function(
        FunctionName=f"{name}-public",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
    )
    status, body = resolve(deployed, function=f"{name}-public", qualifier="$LATEST")
    assert status == 403 and "not attached to a VPC" in body["reason"]


# What a Lambda worker does: worker_network imported on its own (not as part of the project), then pymysql with
# TLS verify_identity against the endpoint name, exactly as the handlers connect.
_WORKER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    import worker_network
    worker_network.install()
    import pymysql
    try:
        connection = pymysql.connect(host=sys.argv[2], port=3306, user=sys.argv[3], password=sys.argv[4],
                                     database="trading", ssl_ca=sys.argv[5], ssl_verify_cert=True,
                                     ssl_verify_identity=True, connect_timeout=1)
    except pymysql.err.OperationalError as error:
        print(f"error {error.args[0]} {error.args[1]}")
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT DATABASE(), @@require_secure_transport")
            print("ok", *cursor.fetchone())
    """
)


def _worker_connects(deployed: Deployed) -> str:
    env = {
        "AWS_ENDPOINT_URL": deployed.emulator.endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": deployed.function,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            _WORKER,
            str(ROOT / "local_cloud"),
            deployed.endpoint,
            deployed.credentials["username"],
            deployed.credentials["password"],
            str(tls.ca_path()),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_a_worker_reaches_the_cluster_through_tls_and_times_out_once_the_rule_is_gone(deployed: Deployed) -> None:
    assert _worker_connects(deployed) == "ok trading 1"
    deployed.functions_admitted(False)
    try:
        # As on AWS: error 2003 after the client's connect timeout, not a refusal.
        timed_out = f"error 2003 Can't connect to MySQL server on '{deployed.endpoint}' (timed out)"
        assert _worker_connects(deployed) == timed_out
    finally:
        deployed.functions_admitted(True)
    assert _worker_connects(deployed) == "ok trading 1"
