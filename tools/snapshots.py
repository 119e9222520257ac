"""Find the final snapshots a workspace's Aurora cluster left behind (prod recreate, docs/prod-data-procedure.md)."""

from __future__ import annotations

from typing import Any

from python_stacks.config import StackConfig


def rds_client(config: StackConfig) -> Any:
    import boto3

    if config.target.is_local:
        return boto3.client(
            "rds",
            region_name=config.settings.region,
            endpoint_url=config.target.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
    return boto3.client("rds", region_name=config.settings.region)


def final_snapshot_prefix(config: StackConfig) -> str:
    # Must match tf_modules/aurora: aurora-final-<suffix>-<YYYYMMDDhhmmss>.
    return f"aurora-final-{config.naming.environment_suffix}-"


def newest_final_snapshot(config: StackConfig) -> str | None:
    client = rds_client(config)
    prefix = final_snapshot_prefix(config)
    snapshots: list[dict[str, Any]] = []
    for page in client.get_paginator("describe_db_cluster_snapshots").paginate(SnapshotType="manual"):
        snapshots += [
            s for s in page["DBClusterSnapshots"]
            if s["DBClusterSnapshotIdentifier"].startswith(prefix) and s.get("Status") == "available"
        ]
    if not snapshots:
        return None
    return max(snapshots, key=lambda s: s["SnapshotCreateTime"])["DBClusterSnapshotIdentifier"]
