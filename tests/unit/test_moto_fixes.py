"""The moto fix in local_cloud/moto_fixes.py: the upstream bug exists, and the fix repairs it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.rds import models as rds_models

from local_cloud import moto_fixes
from tests.support.moto import fresh_aws


@pytest.fixture()
def rds() -> Iterator[tuple[Any, str]]:
    # Unique names: an outer mock_aws (the handler tests') may keep moto's state for the whole session, and moto
    # names an automated snapshot per cluster and minute.
    name = f"aurora-{uuid.uuid4().hex[:8]}"
    with fresh_aws():
        client = boto3.client("rds", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        client.create_db_cluster(
            DBClusterIdentifier=name,
            Engine="aurora-mysql",
            MasterUsername="admin",
            ManageMasterUserPassword=True,
            StorageEncrypted=True,
        )
        client.delete_db_cluster(
            DBClusterIdentifier=name, SkipFinalSnapshot=False, FinalDBSnapshotIdentifier=f"{name}-final"
        )
        yield client, name


def _restore(rds: tuple[Any, str]) -> dict[str, Any]:
    client, name = rds
    # Another identifier: moto names an automated snapshot per cluster and minute, which a same-minute recreate hits.
    return client.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=f"{name}-restored", SnapshotIdentifier=f"{name}-final", Engine="aurora-mysql"
    )["DBCluster"]


def test_stock_moto_cannot_restore_a_managed_password_cluster(
    rds: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rds_models.DBCluster, "get_cfg", moto_fixes._get_cfg)
    with pytest.raises(Exception, match="_master_user_password"):
        _restore(rds)


def test_patched_moto_restores_it_and_the_secret_is_managed_again(
    rds: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rds_models.DBCluster, "get_cfg", moto_fixes._tolerant_get_cfg)
    cluster = _restore(rds)
    assert cluster["DBClusterIdentifier"] == f"{rds[1]}-restored"
    assert cluster["MasterUserSecret"]["SecretArn"].startswith("arn:aws:secretsmanager:us-east-1:")


def _function(client: Any, name: str, **extra: Any) -> dict[str, Any]:
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("x.py", "def handler(event, context):\n    return event\n")
    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    role = iam.create_role(RoleName=f"role-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="x.handler",
        Code={"ZipFile": code.getvalue()},
        **extra,
    )


def test_stock_moto_drops_a_functions_logging_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda.models import LambdaFunction

    from local_cloud import lambda_logging_config as fix

    monkeypatch.setattr(LambdaFunction, "__init__", fix._init)
    monkeypatch.setattr(LambdaFunction, "get_configuration", fix._get_configuration)
    with fresh_aws():
        client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        created = _function(client, f"fn-{uuid.uuid4().hex[:8]}", LoggingConfig={"LogFormat": "JSON"})
        assert "LoggingConfig" not in created


def test_the_fix_stores_returns_and_updates_it_as_lambda_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda.models import LambdaFunction

    from local_cloud import lambda_logging_config as fix

    for method in ("__init__", "update_configuration", "get_configuration"):
        monkeypatch.setattr(LambdaFunction, method, getattr(fix, method.strip("_")))
    name = f"fn-{uuid.uuid4().hex[:8]}"
    with fresh_aws():
        client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        created = _function(client, name, LoggingConfig={"LogFormat": "JSON", "LogGroup": f"/custom/{name}"})
        assert created["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": f"/custom/{name}"}
        client.update_function_configuration(FunctionName=name, LoggingConfig={"LogFormat": "Text"})
        assert client.get_function_configuration(FunctionName=name)["LoggingConfig"] == {
            "LogFormat": "Text",
            "LogGroup": f"/custom/{name}",
        }
        plain = _function(client, f"{name}-plain")
        assert plain["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}-plain"}
