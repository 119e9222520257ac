"""The moto fix in local_cloud/moto_fixes.py: the upstream bug exists, and the fix repairs it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.rds import models as rds_models

from local_cloud import moto_fixes


@pytest.fixture()
def rds() -> Iterator[tuple[Any, str]]:
    # Unique names: an outer mock_aws (the handler tests') may keep moto's state for the whole session, and moto
    # names an automated snapshot per cluster and minute.
    name = f"aurora-{uuid.uuid4().hex[:8]}"
    with mock_aws():
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


def test_stock_moto_cannot_restore_a_managed_password_cluster(rds: tuple[Any, str], monkeypatch: pytest.MonkeyPatch) -> None:
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
