"""The network decides, as on AWS: may this Lambda function open a TCP connection to this database endpoint?

``GET /_local_cloud/network/resolve?function=<name>&qualifier=<version>&host=<h>&port=<p>`` (asked by
``worker_network`` inside each Lambda worker, contract 5) answers from the state deployed in moto, at the time of
the connection, so a deleted or narrowed rule shows up at the next connect:

- 404 ``{"reason"}``: the host is no emulated database endpoint (the worker resolves it normally);
- 200 ``{"address", "port"}``: allowed, connect to the cluster's local server there;
- 403 ``{"reason"}``: the network drops the packets (the worker's connect times out, as on AWS).

What is evaluated, as AWS evaluates it:
- the function's VPC configuration: its subnets and security groups; a function outside any VPC reaches only a
  publicly accessible cluster whose group admits ``0.0.0.0/0``;
- the cluster's DB subnet group (its VPC and subnets) and its VPC security groups (the VPC's default group when
  it names none);
- same VPC (peering and transit gateways are not emulated);
- egress: a rule of one of the function's groups allows TCP to the port towards one of the cluster's groups, or
  towards a CIDR that covers every subnet of the cluster's subnet group (the writer may sit in any of them and moves
  there on failover);
- ingress: a rule of one of the cluster's groups allows TCP on the port from one of the function's groups, or from a
  CIDR that covers every subnet of the function (its network interfaces may sit in any of them);
- the port the cluster listens on, and that the cluster runs (a stopped cluster accepts nothing).
Not evaluated: network ACLs (moto's defaults allow everything), route tables (a VPC's local route always exists),
prefix lists, IPv6 rules, IAM database authentication.

Security groups are stateful, so replies need no rule. Depends on the ``rds`` extension for the clusters.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from local_cloud import rds
from local_cloud.front import Environ, StartResponse

if TYPE_CHECKING:
    from local_cloud.server import Context

EVERYWHERE = ipaddress.ip_network("0.0.0.0/0")


@dataclass(frozen=True)
class Decision:
    status: int
    body: dict[str, Any]

    @classmethod
    def blocked(cls, reason: str) -> Decision:
        return cls(403, {"reason": reason})


def resolve(function: str, qualifier: str | None, host: str, port: int) -> Decision:
    state = rds.state()
    server = state.servers.by_host(host) if state is not None else None
    if state is None or server is None:
        return Decision(404, {"reason": f"{host} is no emulated database endpoint"})
    cluster = state.cluster_of(server)
    if cluster is None:
        return Decision(404, {"reason": f"{host} belongs to no cluster any more"})
    if not server.running:
        return Decision.blocked(f"cluster {cluster.db_cluster_identifier} is not running")
    if port != cluster.port:
        return Decision.blocked(f"cluster {cluster.db_cluster_identifier} listens on port {cluster.port}, not {port}")
    reason = _network_refusal(function, qualifier, cluster, port)
    if reason is not None:
        return Decision.blocked(reason)
    return Decision(200, {"address": server.spec.host, "port": server.spec.port})


def _network_refusal(function_name: str, qualifier: str | None, cluster: Any, port: int) -> str | None:
    """Why the network drops the connection, or None when it passes."""
    from moto.awslambda.models import lambda_backends
    from moto.ec2.models import ec2_backends
    from moto.rds.models import rds_backends

    account, region = cluster.account_id, cluster.region
    ec2 = ec2_backends[account][region]
    try:
        function = lambda_backends[account][region].get_function(function_name, qualifier)
    except Exception:  # moto raises its own not-found types
        return f"function {function_name}:{qualifier} does not exist in {region}"
    label = f"function {function_name}"
    subnet_group = rds_backends[account][region].subnet_groups.get(cluster.db_subnet_group_name)
    if subnet_group is None:
        return f"DB subnet group {cluster.db_subnet_group_name} of cluster {cluster.db_cluster_identifier} is gone"
    cluster_vpc = subnet_group.vpc_id
    cluster_cidrs = [ipaddress.ip_network(subnet.cidr_block) for subnet in subnet_group._subnets]
    cluster_groups = _groups(ec2, cluster.vpc_security_group_ids, cluster_vpc)
    if not cluster_groups:
        return f"cluster {cluster.db_cluster_identifier} has no security group"

    vpc_config = function._vpc_config or {}
    subnet_ids: Sequence[str] = vpc_config.get("SubnetIds") or []
    if not subnet_ids:
        # Outside a VPC the function has only a public address of AWS's: just a public cluster open to all admits it.
        if cluster.publicly_accessible and _admits(cluster_groups, port, set(), [EVERYWHERE]):
            return None
        return (
            f"{label} is not attached to a VPC and cluster {cluster.db_cluster_identifier} is not reachable "
            "from outside it"
        )
    try:
        subnets = [ec2.get_subnet(subnet_id) for subnet_id in subnet_ids]
    except Exception:
        return f"a subnet of {label} ({', '.join(subnet_ids)}) no longer exists"
    function_vpcs = {subnet.vpc_id for subnet in subnets}
    if function_vpcs != {cluster_vpc}:
        return (
            f"{label} is in {', '.join(sorted(function_vpcs))}, cluster {cluster.db_cluster_identifier} "
            f"in {cluster_vpc}"
        )
    function_cidrs = [ipaddress.ip_network(subnet.cidr_block) for subnet in subnets]
    function_groups = _groups(ec2, vpc_config.get("SecurityGroupIds") or [], cluster_vpc)
    if not function_groups:
        return f"{label} has no security group"

    function_ids = {group.id for group in function_groups}
    cluster_ids = {group.id for group in cluster_groups}
    if not _sends(function_groups, port, cluster_ids, cluster_cidrs):
        return (
            f"no egress rule of {', '.join(sorted(function_ids))} ({label}) allows tcp/{port} to "
            f"{', '.join(sorted(cluster_ids))} or to all of {', '.join(map(str, cluster_cidrs))}"
        )
    if not _admits(cluster_groups, port, function_ids, function_cidrs):
        return (
            f"no ingress rule of {', '.join(sorted(cluster_ids))} (cluster {cluster.db_cluster_identifier}) "
            f"allows tcp/{port} from {', '.join(sorted(function_ids))} or from all of "
            f"{', '.join(map(str, function_cidrs))}"
        )
    return None


def _groups(ec2: Any, group_ids: Iterable[str], vpc_id: str) -> list[Any]:
    """The security groups that still exist; none named means the VPC's default group, as on AWS."""
    ids = list(group_ids)
    if not ids:
        default = ec2.get_default_security_group(vpc_id)
        return [default] if default is not None else []
    return [group for group in (ec2.get_security_group_from_id(group_id) for group_id in ids) if group is not None]


def _sends(groups: Iterable[Any], port: int, peer_groups: set[str], peer_cidrs: Sequence[Any]) -> bool:
    return any(_matches(rule, port, peer_groups, peer_cidrs) for group in groups for rule in group.egress_rules)


def _admits(groups: Iterable[Any], port: int, peer_groups: set[str], peer_cidrs: Sequence[Any]) -> bool:
    return any(_matches(rule, port, peer_groups, peer_cidrs) for group in groups for rule in group.ingress_rules)


def _matches(rule: Any, port: int, peer_groups: set[str], peer_cidrs: Sequence[Any]) -> bool:
    """Does this rule cover TCP to/from ``port`` for the peer (one of its groups, or a CIDR around all its subnets)?"""
    if rule.ip_protocol not in ("tcp", "-1"):
        return False
    if rule.ip_protocol == "tcp" and not (rule.from_port <= port <= rule.to_port):
        return False
    if rule.source_group and rule.source_group.get("GroupId") in peer_groups:
        return True
    cidr = rule.ip_range.get("CidrIp") if rule.ip_range else None
    if cidr and peer_cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        return all(peer.subnet_of(network) for peer in peer_cidrs)
    return False


def _resolve_route(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    query = {key: values[0] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if environ.get("PATH_INFO", "").rstrip("/") != "/_local_cloud/network/resolve":
        decision = Decision(404, {"reason": "unknown path"})
    elif not query.get("function") or not query.get("host") or not query.get("port", "").isdigit():
        decision = Decision(400, {"reason": "function, host and port are required"})
    else:
        decision = resolve(query["function"], query.get("qualifier"), query["host"], int(query["port"]))
    body = json.dumps(decision.body).encode()
    status = {200: "200 OK", 400: "400 Bad Request", 403: "403 Forbidden", 404: "404 Not Found"}[decision.status]
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def install(ctx: Context) -> None:
    if rds.state() is None:
        # Not an error (LOCAL_CLOUD_EXTENSIONS may leave rds out on purpose), but every answer will be 404.
        print("local_cloud: network without rds: no endpoint resolves to an emulated database", flush=True)
    ctx.front.add_internal("network", _resolve_route)
