"""The moto 5.2.5 internals that local_cloud's rds, rds_secrets and network modules hook or read.

Each test pins one assumption; when a moto upgrade breaks one, the failure names what to revisit in local_cloud
before the emulator silently stops backing clusters with a database (or lets every connection through). Some tests
pin a moto *bug* the extension works around: when moto fixes it, the test fails and the workaround can go.
"""

from __future__ import annotations

import inspect
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.awslambda import models as lambda_models
from moto.ec2 import models as ec2_models
from moto.ec2.models import security_groups as sg_models
from moto.rds import models as rds_models
from moto.secretsmanager import models as sm_models

from local_cloud import moto_fixes, rds, rds_secrets
from tests.support.moto import fresh_aws

REGION = "us-east-1"

# The hooked RDSBackend methods and the parameters the hooks pass on (local_cloud/rds.py).
HOOKED_SIGNATURES = {
    "create_db_cluster": ["self", "kwargs"],
    "create_db_cluster_snapshot": [
        "self",
        "db_cluster_identifier",
        "db_cluster_snapshot_identifier",
        "snapshot_type",
        "tags",
    ],
    "copy_db_cluster_snapshot": [
        "self",
        "source_db_cluster_snapshot_identifier",
        "target_db_cluster_snapshot_identifier",
        "kms_key_id",
        "copy_tags",
        "tags",
        "_",
    ],
    "restore_db_cluster_from_snapshot": ["self", "from_snapshot_id", "overrides"],
    "delete_db_cluster_snapshot": ["self", "db_snapshot_identifier"],
    "delete_db_cluster": ["self", "cluster_identifier", "snapshot_name"],
    "stop_db_cluster": ["self", "cluster_identifier"],
    "start_db_cluster": ["self", "cluster_identifier"],
    "modify_db_cluster": ["self", "kwargs"],
}


def _params(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


@pytest.fixture()
def aws() -> Iterator[dict[str, Any]]:
    with fresh_aws():
        yield {
            service: boto3.client(service, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
            for service in ("rds", "secretsmanager", "ec2", "lambda", "iam")
        }


@pytest.fixture(autouse=True)
def _stock_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests look at moto as shipped, whatever another test in this process installed."""
    for name, method in rds.ORIGINALS.items():
        monkeypatch.setattr(rds_models.RDSBackend, name, method)
    monkeypatch.setattr(rds_models.MasterUserSecret, "_generate_secret_string", rds_secrets._generate_secret_string)
    monkeypatch.setattr(sm_models.SecretsManagerBackend, "rotate_secret", rds_secrets._rotate_secret)
    monkeypatch.setattr(rds_models.DBCluster, "get_cfg", moto_fixes._tolerant_get_cfg)


def _name() -> str:
    # Unique: a surrounding mock may keep moto's state, and moto names automated snapshots per cluster and minute.
    return f"aurora-{uuid.uuid4().hex[:8]}"


def _create(client: Any, name: str, **extra: Any) -> dict[str, Any]:
    return client.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-mysql",
        MasterUsername="trading_admin",
        ManageMasterUserPassword=True,
        DatabaseName="trading",
        **extra,
    )["DBCluster"]


def _backend() -> Any:
    return rds_models.rds_backends["123456789012"][REGION]


def test_the_hooked_rds_methods_keep_their_signatures() -> None:
    for name, expected in HOOKED_SIGNATURES.items():
        assert _params(rds.ORIGINALS[name]) == expected, f"RDSBackend.{name} changed: revisit local_cloud/rds.py"


def test_create_records_the_cluster_then_takes_an_automated_snapshot_named_per_minute(aws: dict[str, Any]) -> None:
    name = _name()
    _create(aws["rds"], name)
    cluster = _backend().clusters[name]
    automated = [s for s in _backend().cluster_snapshots.values() if s.db_cluster_identifier == name]
    assert [s.snapshot_type for s in automated] == ["automated"]
    minute = r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}"
    assert re.fullmatch(rf"rds:{name}-{minute}", automated[0].db_cluster_snapshot_identifier)
    # What rds.identity_of reads.
    for attribute in (
        "db_cluster_resource_id",
        "endpoint",
        "reader_endpoint",
        "master_username",
        "database_name",
        "manage_master_user_password",
        "account_id",
        "region",
        "engine",
        "port",
        "db_subnet_group_name",
        "vpc_security_group_ids",
        "publicly_accessible",
    ):
        assert hasattr(cluster, attribute), attribute
    assert cluster.port == 3306 and cluster.endpoint.endswith(".rds.amazonaws.com")
    assert cluster.master_user_secret.secret_arn == cluster.master_user_secret.secret.arn


def test_stock_moto_leaves_the_automated_snapshot_of_a_deleted_cluster(aws: dict[str, Any]) -> None:
    # Why rds.delete_db_cluster removes them: a recreate within the same minute hit DBClusterSnapshotAlreadyExists.
    name = _name()
    _create(aws["rds"], name)
    aws["rds"].delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
    left = aws["rds"].describe_db_cluster_snapshots(DBClusterIdentifier=name)["DBClusterSnapshots"]
    assert [s["SnapshotType"] for s in left] == ["automated"]


def test_delete_takes_the_final_snapshot_through_create_db_cluster_snapshot_while_the_cluster_exists(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def spy(
        self: Any, db_cluster_identifier: str, db_cluster_snapshot_identifier: str, *args: Any, **kwargs: Any
    ) -> Any:
        calls.append((db_cluster_identifier, db_cluster_snapshot_identifier, db_cluster_identifier in self.clusters))
        return rds.ORIGINALS["create_db_cluster_snapshot"](
            self, db_cluster_identifier, db_cluster_snapshot_identifier, *args, **kwargs
        )

    name = _name()
    _create(aws["rds"], name)
    monkeypatch.setattr(rds_models.RDSBackend, "create_db_cluster_snapshot", spy)
    aws["rds"].delete_db_cluster(
        DBClusterIdentifier=name, SkipFinalSnapshot=False, FinalDBSnapshotIdentifier=f"{name}-final"
    )
    assert calls == [(name, f"{name}-final", True)]
    snapshot = _backend().cluster_snapshots[f"{name}-final"]
    assert snapshot.snapshot_type == "manual" and snapshot.arn.endswith(f":cluster-snapshot:{name}-final")


def test_restore_creates_the_cluster_through_create_db_cluster_and_finds_snapshots_by_identifier(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _name()
    _create(aws["rds"], name)
    aws["rds"].create_db_cluster_snapshot(DBClusterIdentifier=name, DBClusterSnapshotIdentifier=f"{name}-snap")
    created = []

    def spy(self: Any, kwargs: dict[str, Any]) -> Any:
        cluster = rds.ORIGINALS["create_db_cluster"](self, kwargs)
        created.append(cluster)
        return cluster

    monkeypatch.setattr(rds_models.RDSBackend, "create_db_cluster", spy)
    restored = aws["rds"].restore_db_cluster_from_snapshot(
        DBClusterIdentifier=f"{name}-restored", SnapshotIdentifier=f"{name}-snap", Engine="aurora-mysql"
    )["DBCluster"]
    assert [c.db_cluster_identifier for c in created] == [f"{name}-restored"]
    # The restored cluster keeps the snapshot's master user and manages a new secret.
    assert created[0].master_username == "trading_admin" and created[0].manage_master_user_password
    assert restored["MasterUserSecret"]["SecretArn"] != ""
    found = _backend().describe_db_cluster_snapshots(db_cluster_identifier=None, db_snapshot_identifier=f"{name}-snap")
    assert [s.db_cluster_snapshot_identifier for s in found] == [f"{name}-snap"]
    assert _backend().get_db_cluster_snapshot(f"{name}-snap") is found[0]


def test_snapshot_deletion_and_copy_return_the_snapshot_objects(aws: dict[str, Any]) -> None:
    name = _name()
    _create(aws["rds"], name)
    aws["rds"].create_db_cluster_snapshot(DBClusterIdentifier=name, DBClusterSnapshotIdentifier=f"{name}-a")
    copy = _backend().copy_db_cluster_snapshot(f"{name}-a", f"{name}-b")
    assert copy.db_cluster_snapshot_identifier == f"{name}-b"
    assert copy.arn != _backend().cluster_snapshots[f"{name}-a"].arn
    deleted = _backend().delete_db_cluster_snapshot(f"{name}-a")
    assert deleted.db_cluster_snapshot_identifier == f"{name}-a" and f"{name}-a" not in _backend().cluster_snapshots


def test_modify_rewrites_its_kwargs_and_keeps_the_cluster_object(aws: dict[str, Any]) -> None:
    # rds.modify_db_cluster reads the identifier before calling moto, because moto overwrites it.
    name = _name()
    _create(aws["rds"], name)
    before = _backend().clusters[name]
    kwargs: dict[str, Any] = {"db_cluster_identifier": name, "backup_retention_period": 3}
    _backend().modify_db_cluster(kwargs)
    assert kwargs["db_cluster_identifier"] is None
    assert _backend().clusters[name] is before


def test_stock_moto_writes_a_constant_secret_and_rotation_through_secrets_manager_empties_it(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Why rds_secrets exists: moto ignores MasterUsername, and rotation leaves AWSCURRENT without a value.
    name = _name()
    cluster = _create(aws["rds"], name)
    arn = cluster["MasterUserSecret"]["SecretArn"]
    assert json.loads(aws["secretsmanager"].get_secret_value(SecretId=arn)["SecretString"]) == {
        "username": "admin",
        "password": "P@55w0rd!",
    }
    rotations = []
    original = rds_secrets._rotate_secret

    def spy(self: Any, secret_id: str, *args: Any, **kwargs: Any) -> Any:
        rotations.append((secret_id, kwargs.get("rotate_immediately")))
        return original(self, secret_id, *args, **kwargs)

    monkeypatch.setattr(sm_models.SecretsManagerBackend, "rotate_secret", spy)
    aws["rds"].modify_db_cluster(DBClusterIdentifier=name, RotateMasterUserPassword=True, ApplyImmediately=True)
    assert rotations == [(arn, True)]
    with pytest.raises(aws["secretsmanager"].exceptions.ClientError, match=r"find the specified secret value|no value"):
        aws["secretsmanager"].get_secret_value(SecretId=arn)


def test_the_secret_hooks_fit_moto(aws: dict[str, Any]) -> None:
    assert _params(rds_models.MasterUserSecret._generate_secret_string) == ["self"]
    assert _params(rds_models.MasterUserSecret.__init__) == ["self", "resource", "kms_key_id"]
    assert _params(rds_secrets._rotate_secret) == [
        "self",
        "secret_id",
        "client_request_token",
        "rotation_lambda_arn",
        "rotation_rules",
        "rotate_immediately",
    ]
    name = _name()
    cluster = _create(aws["rds"], name)
    secret = _backend().clusters[name].master_user_secret.secret
    assert isinstance(secret, sm_models.FakeSecret)
    assert secret.owning_service == "rds" and secret.arn == cluster["MasterUserSecret"]["SecretArn"]
    version = secret.versions[secret.default_version_id]
    assert version["version_stages"] == ["AWSCURRENT"] and "secret_string" in version


def test_with_the_hooks_the_secret_is_real_and_rotation_keeps_a_value(aws: dict[str, Any]) -> None:
    rotated: list[tuple[str, str]] = []
    rds_secrets.install(lambda arn, password: rotated.append((arn, password)))
    name = _name()
    cluster = _create(aws["rds"], name)
    arn = cluster["MasterUserSecret"]["SecretArn"]
    first = json.loads(aws["secretsmanager"].get_secret_value(SecretId=arn)["SecretString"])
    assert first["username"] == "trading_admin" and first["password"] != "P@55w0rd!" and len(first["password"]) == 28
    aws["rds"].modify_db_cluster(DBClusterIdentifier=name, RotateMasterUserPassword=True, ApplyImmediately=True)
    second = json.loads(aws["secretsmanager"].get_secret_value(SecretId=arn)["SecretString"])
    aws["secretsmanager"].rotate_secret(SecretId=arn)
    third = json.loads(aws["secretsmanager"].get_secret_value(SecretId=arn)["SecretString"])
    assert [password for _, password in rotated] == [second["password"], third["password"]]
    assert len({first["password"], second["password"], third["password"]}) == 3
    previous = aws["secretsmanager"].get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")
    assert json.loads(previous["SecretString"]) == second


def test_what_network_reads_from_ec2_lambda_and_rds(aws: dict[str, Any]) -> None:
    ec2 = aws["ec2"]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    client = ec2.create_security_group(GroupName=_name(), Description="client", VpcId=vpc)["GroupId"]
    database = ec2.create_security_group(GroupName=_name(), Description="db", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=database,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "UserIdGroupPairs": [{"GroupId": client}]},
            {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]},
        ],
    )
    backend = ec2_models.ec2_backends["123456789012"][REGION]
    group = backend.get_security_group_from_id(database)
    by_group, by_cidr = group.ingress_rules
    assert (by_group.ip_protocol, by_group.from_port, by_group.to_port) == ("tcp", 3306, 3306)
    assert by_group.source_group["GroupId"] == client and by_group.ip_range == {}
    assert by_cidr.ip_range["CidrIp"] == "10.9.0.0/16" and not by_cidr.source_group
    # A new group allows all egress with protocol "-1" and no ports.
    (egress,) = backend.get_security_group_from_id(client).egress_rules
    assert (egress.ip_protocol, egress.from_port, egress.ip_range["CidrIp"]) == ("-1", None, "0.0.0.0/0")
    assert backend.get_default_security_group(vpc).is_default
    assert isinstance(backend.get_subnet(subnet), ec2_models.subnets.Subnet)
    assert (backend.get_subnet(subnet).vpc_id, backend.get_subnet(subnet).cidr_block) == (vpc, "10.9.1.0/24")
    assert isinstance(group, sg_models.SecurityGroup) and backend.get_security_group_from_id("sg-0000") is None

    aws["rds"].create_db_subnet_group(DBSubnetGroupName="grp", DBSubnetGroupDescription="d", SubnetIds=[subnet])
    subnet_group = rds_models.rds_backends["123456789012"][REGION].subnet_groups["grp"]
    assert subnet_group.vpc_id == vpc and [s.id for s in subnet_group._subnets] == [subnet]

    role = aws["iam"].create_role(RoleName=_name(), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    name = _name()
    aws["lambda"].create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="h.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},  # an empty ZIP: moto stores the code, never runs it
        VpcConfig={"SubnetIds": [subnet], "SecurityGroupIds": [client]},
        Publish=True,
    )
    functions = lambda_models.lambda_backends["123456789012"][REGION]
    for qualifier in ("$LATEST", "1"):
        function = functions.get_function(name, qualifier)
        assert function._vpc_config["SubnetIds"] == [subnet] and function._vpc_config["SecurityGroupIds"] == [client]
    # moto reports a made-up VpcId for every function: network.py takes the VPC from the subnets instead.
    assert functions.get_function(name, "$LATEST").vpc_config["VpcId"] == "vpc-123abc"
