"""Find the final snapshots a workspace's Aurora cluster left behind (prod recreate, docs/prod-data-procedure.md)."""

from __future__ import annotations

from typing import Any

from python_stacks.config import StackConfig
from python_stacks.workspace import final_snapshot_prefix
from tools.emulator import aws_client


def rds_client(config: StackConfig) -> Any:
    if config.target.endpoint is not None:
        return aws_client(config.target.endpoint, "rds", config.settings.region)
    import boto3

    return boto3.client("rds", region_name=config.settings.region)


def newest_final_snapshot(config: StackConfig) -> str | None:
    client = rds_client(config)
    prefix = final_snapshot_prefix(config.naming)
    snapshots: list[dict[str, Any]] = []
    for page in client.get_paginator("describe_db_cluster_snapshots").paginate(SnapshotType="manual"):
        snapshots += [
            s
            for s in page["DBClusterSnapshots"]
            if s["DBClusterSnapshotIdentifier"].startswith(prefix) and s.get("Status") == "available"
        ]
    if not snapshots:
        return None
    newest: str = max(snapshots, key=lambda s: s["SnapshotCreateTime"])["DBClusterSnapshotIdentifier"]
    return newest
