"""Preflight for a real AWS account: what the first deploy of a workspace would run into, checked before Terraform.

Usage: ``TARGET=aws python -m tools.preflight --workspace dev`` (``make preflight WORKSPACE=dev``); ``make deploy``
runs it before every real deployment. Each check prints one line; a failure says what to do. Exit 1 on any failure.

- credentials: STS answers, with the account and the caller.
- region: the workspace's availability zones are available to this account in us-east-1.
- hosted zone: TRADING_HOSTED_ZONE_ID exists, serves the API's host name, and public DNS delegates its name to this
  zone's name servers (otherwise ACM's DNS validation never completes and the apply waits 75 minutes).
- Lambda concurrency: after what the workspace reserves, the account keeps the 100 unreserved executions AWS
  requires (otherwise PutFunctionConcurrency fails mid-apply).
- Elastic IPs and VPCs: the quotas leave room for the NAT gateways and the VPC the workspace adds.
- state backend: a team shares the S3 backend (bucket reachable and versioned, lock table present); local state on a
  real account is refused unless PREFLIGHT_ALLOW_LOCAL_STATE=1 (one person, one machine).

With ``TARGET=local`` the same checks run against the emulator (the tests do that); ``TRADING_DNS_RESOLVER=host:port``
asks another DNS resolver than the system's for the delegation check (e.g. a public one behind split-horizon DNS).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from python_stacks import UserError
from python_stacks.aws.lambda_package import MIGRATE, TRADES_API
from python_stacks.config import StackConfig
from python_stacks.constants import MIGRATION_RESERVED_CONCURRENCY
from python_stacks.stacks import load_configs

# AWS refuses a reservation that leaves fewer unreserved executions than this in the account.
UNRESERVED_MINIMUM = 100
# Service Quotas codes (what the messages tell the user to request).
LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"  # AWS Lambda: Concurrent executions
ELASTIC_IP_QUOTA = "L-0263D0A3"  # Amazon EC2: EC2-VPC Elastic IPs
VPC_QUOTA = "L-F678F1CE"  # Amazon VPC: VPCs per Region
ALLOW_LOCAL_STATE = "PREFLIGHT_ALLOW_LOCAL_STATE"
DNS_RESOLVER = "TRADING_DNS_RESOLVER"


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    message: str

    def __str__(self) -> str:
        return f"preflight: {'ok  ' if self.ok else 'FAIL'} {self.check}: {self.message}"


class Resolver(Protocol):
    def name_servers(self, name: str) -> set[str]:
        """The NS set public DNS answers for ``name`` (lower case, no trailing dot); empty if none."""
        ...


class DnsResolver:
    """Asks the system's resolver (or ``host:port``) with dnspython."""

    def __init__(self, server: str | None = None) -> None:
        import dns.resolver

        self._resolver = dns.resolver.Resolver(configure=server is None)
        if server is not None:
            host, _, port = server.rpartition(":")
            self._resolver.nameservers = [host or server]
            self._resolver.port = int(port) if host and port else 53
        self._resolver.lifetime = 5.0

    def name_servers(self, name: str) -> set[str]:
        import dns.exception
        import dns.resolver

        try:
            answer = self._resolver.resolve(name, "NS")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return set()
        except dns.exception.Timeout as exc:
            raise PreflightError(f"DNS did not answer for {name} NS: {exc}") from None
        return {_dns_name(str(record.target)) for record in answer}


class PreflightError(RuntimeError):
    pass


ClientFactory = Callable[[str], Any]


def _dns_name(name: str) -> str:
    return name.lower().rstrip(".")


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(exc).__name__))


# --- the checks --------------------------------------------------------------------------------------------------


def check_credentials(config: StackConfig, client: ClientFactory) -> Finding:
    identity = client("sts").get_caller_identity()
    return Finding("credentials", True, f"account {identity['Account']} as {identity['Arn']}")


def check_region(config: StackConfig, client: ClientFactory) -> Finding:
    azs = list(config.settings.network.azs)
    zones = client("ec2").describe_availability_zones(Filters=[{"Name": "zone-name", "Values": azs}])[
        "AvailabilityZones"
    ]
    available = {z["ZoneName"] for z in zones if z.get("State") == "available"}
    missing = [az for az in azs if az not in available]
    if missing:
        return Finding(
            "region",
            False,
            f"{', '.join(missing)} not available to this account in {config.settings.region}: the {config.workspace} "
            "workspace places subnets there; choose available AZs in python_stacks/workspace.py",
        )
    return Finding("region", True, f"{config.settings.region}, {', '.join(azs)} available")


def check_hosted_zone(config: StackConfig, client: ClientFactory, resolver: Resolver) -> Finding:
    zone_id = config.hosted_zone_id
    if zone_id is None:
        return Finding("hosted zone", True, "none named: the local target creates its own zone")
    route53 = client("route53")
    try:
        answer = route53.get_hosted_zone(Id=zone_id)
    except Exception as exc:
        return Finding(
            "hosted zone",
            False,
            f"TRADING_HOSTED_ZONE_ID={zone_id}: {_error_code(exc)}: name an existing public zone of TRADING_DOMAIN",
        )
    name = _dns_name(answer["HostedZone"]["Name"])
    host = config.api_domain_name
    if not (host == name or host.endswith(f".{name}")):
        return Finding(
            "hosted zone", False, f"{zone_id} is {name}, which does not serve {host}: name the zone of TRADING_DOMAIN"
        )
    if answer["HostedZone"].get("Config", {}).get("PrivateZone"):
        return Finding("hosted zone", False, f"{zone_id} ({name}) is private: ACM validates through public DNS")
    own = {_dns_name(ns) for ns in answer.get("DelegationSet", {}).get("NameServers", [])}
    public = resolver.name_servers(name)
    if not public:
        return Finding(
            "hosted zone",
            False,
            f"public DNS has no NS records for {name}: delegate it (NS record in the parent zone, or the registrar's "
            f"name servers) to {', '.join(sorted(own))}",
        )
    if not public & own:
        return Finding(
            "hosted zone",
            False,
            f"{name} is delegated to {', '.join(sorted(public))}, not to this zone's {', '.join(sorted(own))}: "
            "update the delegation (NS record in the parent zone, or the registrar), or name the zone it points to",
        )
    return Finding("hosted zone", True, f"{name} ({zone_id}) serves {host}, delegated to its name servers")


def _function_reservation(lambda_: Any, name: str) -> int:
    try:
        return int(lambda_.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") or 0)
    except Exception as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return 0
        raise


def workspace_reservation(config: StackConfig) -> int:
    """What the workspace reserves in total (python_stacks/aws/lambda_functions.py reserves exactly this)."""
    return config.settings.compute.api_reserved_concurrency + MIGRATION_RESERVED_CONCURRENCY


def concurrency_finding(limit: int, unreserved: int, already_ours: int, reserves: int) -> Finding:
    """The finding for the account's figures. ``unreserved`` already lacks what the workspace's own functions
    reserve today (``already_ours``); a redeploy replaces those reservations, so they count as free."""
    left = unreserved + already_ours - reserves
    if left >= UNRESERVED_MINIMUM:
        return Finding("lambda concurrency", True, f"limit {limit}, {left} left unreserved after reserving {reserves}")
    needed = limit - left + UNRESERVED_MINIMUM
    return Finding(
        "lambda concurrency",
        False,
        f"the workspace reserves {reserves} of the account's {limit} concurrent executions and AWS keeps "
        f"{UNRESERVED_MINIMUM} unreserved ({left} would be left): request at least {needed} (Service Quotas, AWS "
        f"Lambda, Concurrent executions, {LAMBDA_CONCURRENCY_QUOTA})",
    )


def check_lambda_concurrency(config: StackConfig, client: ClientFactory) -> Finding:
    lambda_ = client("lambda")
    limits = lambda_.get_account_settings()["AccountLimit"]
    ours = sum(_function_reservation(lambda_, config.naming.name(spec.resource_type)) for spec in (TRADES_API, MIGRATE))
    return concurrency_finding(
        int(limits["ConcurrentExecutions"]),
        int(limits["UnreservedConcurrentExecutions"]),
        ours,
        workspace_reservation(config),
    )


def _quota(client: ClientFactory, service: str, code: str) -> int:
    quotas = client("service-quotas")
    try:
        return int(quotas.get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]["Value"])
    except Exception as exc:
        if _error_code(exc) != "NoSuchResourceException":
            raise
        return int(quotas.get_aws_default_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]["Value"])


def _tagged(resources: list[dict[str, Any]], prefix: str, suffix: str) -> int:
    return sum(
        1
        for r in resources
        for tag in r.get("Tags", [])
        if tag["Key"] == "Name" and tag["Value"].startswith(prefix) and tag["Value"].endswith(f"-{suffix}")
    )


def check_network_quotas(config: StackConfig, client: ClientFactory) -> Finding:
    ec2, suffix, network = client("ec2"), config.naming.environment_suffix, config.settings.network
    attributes = ec2.describe_account_attributes(AttributeNames=["vpc-max-elastic-ips"])["AccountAttributes"]
    (eip_limit,) = [
        int(a["AttributeValues"][0]["AttributeValue"])
        for a in attributes
        if a["AttributeName"] == "vpc-max-elastic-ips"
    ]
    addresses = ec2.describe_addresses()["Addresses"]
    nat_count = 1 if network.single_nat_gateway else len(network.azs)
    # Names as tf_modules/vpc gives them: a redeploy reuses what the workspace already holds.
    new_eips = max(0, nat_count - _tagged(addresses, "eip-nat-", suffix))
    vpcs = ec2.describe_vpcs()["Vpcs"]
    new_vpcs = 0 if _tagged(vpcs, "vpc-", suffix) else 1
    vpc_limit = _quota(client, "vpc", VPC_QUOTA)
    problems = []
    if len(addresses) + new_eips > eip_limit:
        problems.append(
            f"Elastic IPs: {len(addresses)} of {eip_limit} in use, the workspace adds {new_eips} for its NAT gateways: "
            f"release unused ones or request {len(addresses) + new_eips} (Service Quotas, EC2-VPC Elastic IPs, "
            f"{ELASTIC_IP_QUOTA})"
        )
    if len(vpcs) + new_vpcs > vpc_limit:
        problems.append(
            f"VPCs: {len(vpcs)} of {vpc_limit} in us-east-1, the workspace adds {new_vpcs}: delete unused ones or "
            f"request {len(vpcs) + new_vpcs} (Service Quotas, VPCs per Region, {VPC_QUOTA})"
        )
    if problems:
        return Finding("network quotas", False, "; ".join(problems))
    return Finding(
        "network quotas",
        True,
        f"Elastic IPs {len(addresses)}+{new_eips} of {eip_limit}, VPCs {len(vpcs)}+{new_vpcs} of {vpc_limit}",
    )


def check_state_backend(config: StackConfig, client: ClientFactory, env: Mapping[str, str]) -> Finding:
    s3_state = config.backend.s3
    if s3_state is None:
        if config.target.is_local or env.get(ALLOW_LOCAL_STATE) == "1":
            return Finding("state backend", True, "local state under .state/ on this machine only")
        return Finding(
            "state backend",
            False,
            "state is local (.state/ on this machine): a team, a second machine or CI would not see it. Create the "
            'shared backend once (make state-bootstrap), then eval "$(make state-env)" (docs/team-state.md); or '
            f"set {ALLOW_LOCAL_STATE}=1 to deploy alone from this machine",
        )
    s3 = client("s3")
    try:
        versioning = s3.get_bucket_versioning(Bucket=s3_state.bucket).get("Status")
    except Exception as exc:
        return Finding(
            "state backend",
            False,
            f"bucket {s3_state.bucket}: {_error_code(exc)}: run `make state-bootstrap` or fix TF_STATE_BUCKET",
        )
    if versioning != "Enabled":
        return Finding(
            "state backend",
            False,
            f"bucket {s3_state.bucket} is not versioned: a bad apply could not be "
            "rolled back; enable versioning (bootstrap/state-backend does)",
        )
    if s3_state.dynamodb_table:
        try:
            client("dynamodb").describe_table(TableName=s3_state.dynamodb_table)
        except Exception as exc:
            return Finding(
                "state backend",
                False,
                f"lock table {s3_state.dynamodb_table}: {_error_code(exc)}: "
                "`make state-bootstrap CREATE_LOCK_TABLE=true`",
            )
    return Finding("state backend", True, f"s3://{s3_state.bucket} (versioned, lock: {s3_state.lock})")


# --- running them ------------------------------------------------------------------------------------------------


def preflight(
    config: StackConfig, client: ClientFactory, resolver: Resolver, env: Mapping[str, str] | None = None
) -> list[Finding]:
    """Every check; a check that cannot run (missing permission, API error) is a failure saying so."""
    env = os.environ if env is None else env
    checks: list[tuple[str, Callable[[], Finding]]] = [
        ("credentials", lambda: check_credentials(config, client)),
        ("region", lambda: check_region(config, client)),
        ("hosted zone", lambda: check_hosted_zone(config, client, resolver)),
        ("lambda concurrency", lambda: check_lambda_concurrency(config, client)),
        ("network quotas", lambda: check_network_quotas(config, client)),
        ("state backend", lambda: check_state_backend(config, client, env)),
    ]
    findings = []
    for name, check in checks:
        try:
            findings.append(check())
        except Exception as exc:
            findings.append(Finding(name, False, f"could not check: {_error_code(exc)}: {exc}"))
        if name == "credentials" and not findings[-1].ok:
            break  # without credentials every other call fails the same way
    return findings


def client_factory(config: StackConfig) -> ClientFactory:
    """boto3 clients for the target: the caller's credential chain in us-east-1, or the emulator."""
    if config.target.is_local:
        from tools.emulator import aws_client

        endpoint = config.target.endpoint
        assert endpoint is not None
        return lambda service: aws_client(endpoint, service, config.settings.region)
    import boto3

    session = boto3.session.Session(region_name=config.settings.region)
    client: Callable[[str], Any] = session.client
    return client


def run(config: StackConfig, env: Mapping[str, str] | None = None, resolver: Resolver | None = None) -> bool:
    """Print every finding; True when all passed."""
    env = os.environ if env is None else env
    findings = preflight(config, client_factory(config), resolver or DnsResolver(env.get(DNS_RESOLVER)), env)
    for finding in findings:
        print(finding, file=sys.stdout if finding.ok else sys.stderr, flush=True)
    return all(f.ok for f in findings)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default=os.environ.get("WORKSPACE") or os.environ.get("TF_WORKSPACE") or "dev")
    args = parser.parse_args(argv)
    try:
        (config,) = load_configs([args.workspace])
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"preflight: workspace {config.workspace} ({config.target.name})", flush=True)
    return 0 if run(config) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
