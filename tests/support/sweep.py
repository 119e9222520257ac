"""Everything of one environment suffix that is still in the emulator, found with boto3, service by service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.emulator import aws_client

REGION = "us-east-1"


def _client(endpoint: str, service: str) -> Any:
    return aws_client(endpoint, service, REGION)


def _tag_name(tags: list[dict[str, str]] | None) -> str:
    return next((t["Value"] for t in tags or [] if t["Key"] == "Name"), "")


def _alarm_names(endpoint: str) -> list[str]:
    pages = (
        _client(endpoint, "cloudwatch")
        .get_paginator("describe_alarms")
        .paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    )
    return [a["AlarmName"] for page in pages for kind in ("MetricAlarms", "CompositeAlarms") for a in page[kind]]


def _topic_names(endpoint: str) -> list[str]:
    pages = _client(endpoint, "sns").get_paginator("list_topics").paginate()
    return [t["TopicArn"].rsplit(":", 1)[-1] for page in pages for t in page["Topics"]]


def _dashboard_names(endpoint: str) -> list[str]:
    pages = _client(endpoint, "cloudwatch").get_paginator("list_dashboards").paginate()
    return [d["DashboardName"] for page in pages for d in page["DashboardEntries"]]


def leftovers(endpoint: str, suffix: str) -> dict[str, list[str]]:
    """Names of the resources of ``suffix`` per kind; an empty dict means nothing of it remains."""
    ec2, rds = _client(endpoint, "ec2"), _client(endpoint, "rds")
    mine: Callable[[str], bool] = lambda name: name.endswith(f"-{suffix}") or f"-{suffix}-" in name  # noqa: E731

    found: dict[str, list[str]] = {
        "vpcs": [_tag_name(v.get("Tags")) for v in ec2.describe_vpcs()["Vpcs"]],
        "subnets": [_tag_name(s.get("Tags")) for s in ec2.describe_subnets()["Subnets"]],
        "nat_gateways": [
            _tag_name(n.get("Tags")) for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"
        ],
        "elastic_ips": [_tag_name(a.get("Tags")) for a in ec2.describe_addresses()["Addresses"]],
        "security_groups": [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]]
        + [_tag_name(g.get("Tags")) for g in ec2.describe_security_groups()["SecurityGroups"]],
        "buckets": [b["Name"] for b in _client(endpoint, "s3").list_buckets()["Buckets"]],
        "functions": [f["FunctionName"] for f in _client(endpoint, "lambda").list_functions()["Functions"]],
        "rest_apis": [a["name"] for a in _client(endpoint, "apigateway").get_rest_apis()["items"]],
        "domains": [d["domainName"] for d in _client(endpoint, "apigateway").get_domain_names()["items"]],
        "zones": [z["Name"].rstrip(".") for z in _client(endpoint, "route53").list_hosted_zones()["HostedZones"]],
        "certificates": [
            c["DomainName"] for c in _client(endpoint, "acm").list_certificates()["CertificateSummaryList"]
        ],
        "clusters": [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]],
        "instances": [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]],
        "subnet_groups": [g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]],
        "log_groups": [g["logGroupName"] for g in _client(endpoint, "logs").describe_log_groups()["logGroups"]],
        "roles": [r["RoleName"] for r in _client(endpoint, "iam").list_roles()["Roles"]],
        "secrets": [s["Name"] for s in _client(endpoint, "secretsmanager").list_secrets()["SecretList"]],
        "kms_aliases": [a["AliasName"] for a in _client(endpoint, "kms").list_aliases()["Aliases"]],
        "alarms": _alarm_names(endpoint),
        "topics": _topic_names(endpoint),
        "dashboards": _dashboard_names(endpoint),
    }
    # Domain names (api.<workspace>.<domain>) and RDS-managed secrets carry the suffix differently.
    dns_mine: Callable[[str], bool] = lambda name: f".{suffix}." in f".{name}."  # noqa: E731
    result = {}
    for kind, names in found.items():
        if kind in ("domains", "zones", "certificates"):
            matching = sorted({n for n in names if dns_mine(n)})
        else:
            matching = sorted({n for n in names if n and mine(n)})
        if matching:
            result[kind] = matching
    return result


def kms_keys_pending_deletion(endpoint: str) -> int:
    kms = _client(endpoint, "kms")
    states = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] for k in kms.list_keys()["Keys"]]
    return states.count("PendingDeletion")


def final_snapshots(endpoint: str, suffix: str) -> list[str]:
    snapshots = _client(endpoint, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    return sorted(
        s["DBClusterSnapshotIdentifier"]
        for s in snapshots
        if s["DBClusterSnapshotIdentifier"].startswith(f"aurora-final-{suffix}-")
    )
