"""tools/preflight.py against a private emulator and a DNS server on loopback, with passing and failing setups.

The emulator answers STS, EC2 (zones, addresses, VPCs, account attributes), Service Quotas (VPC), Route 53, S3 and
DynamoDB as AWS does; public DNS is a small real DNS server (UDP, dnspython) that answers NS queries as the setup
says. Stock moto (5.2.5) has no Lambda GetAccountSettings: that one check is tested on its arithmetic, and against
the emulator once the emulator answers it.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset
import pytest

from python_stacks.config import StackConfig, load_config
from tools import preflight
from tools.emulator import Emulator, aws_client

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "trading.example.com"


class LoopbackDns:
    """A DNS server on 127.0.0.1 that answers NS queries from ``records`` (NXDOMAIN otherwise)."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._socket.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                data, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            servers = self.records.get(question.name.to_text().rstrip(".").lower())
            if servers:
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "NS", *[f"{s}." for s in servers]))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self._socket.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._socket.close()


@pytest.fixture(scope="module")
def cloud() -> Iterator[Emulator]:
    # Private: the failing setups fill quotas that other tests' deployments would run into.
    server = Emulator.private()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def fresh(cloud: Emulator) -> Emulator:
    cloud.reset()
    return cloud


@pytest.fixture(scope="module")
def public_dns() -> Iterator[LoopbackDns]:
    server = LoopbackDns()
    try:
        yield server
    finally:
        server.stop()


def zone(cloud: Emulator, name: str = DOMAIN) -> tuple[str, list[str]]:
    route53 = aws_client(cloud.endpoint, "route53")
    created = route53.create_hosted_zone(Name=name, CallerReference=f"{name}-{os.urandom(4).hex()}")
    return created["HostedZone"]["Id"].rsplit("/", 1)[-1], created["DelegationSet"]["NameServers"]


def state_bucket(cloud: Emulator, versioned: bool = True) -> str:
    s3 = aws_client(cloud.endpoint, "s3")
    s3.create_bucket(Bucket="tf-state-preflight")
    if versioned:
        s3.put_bucket_versioning(Bucket="tf-state-preflight", VersioningConfiguration={"Status": "Enabled"})
    return "tf-state-preflight"


def config(cloud: Emulator, zone_id: str | None, **extra: str) -> StackConfig:
    # The local target's client factory points every call at the emulator; everything else is as for AWS.
    env = {"TARGET": "local", "LOCAL_AWS_ENDPOINT": cloud.endpoint, "TRADING_DOMAIN": DOMAIN, **extra}
    if zone_id:
        env["TRADING_HOSTED_ZONE_ID"] = zone_id
    return load_config("dev", env)


S3_BACKEND = {"TF_BACKEND": "s3", "TF_STATE_BUCKET": "tf-state-preflight", "TF_STATE_KMS_KEY_ID": "alias/tf-state"}


def findings(cfg: StackConfig, dns_server: LoopbackDns) -> dict[str, preflight.Finding]:
    resolver = preflight.DnsResolver(dns_server.address)
    found = preflight.preflight(cfg, preflight.client_factory(cfg), resolver, {})
    return {f.check: f for f in found}


def test_a_ready_account_passes(fresh: Emulator, public_dns: LoopbackDns) -> None:
    zone_id, servers = zone(fresh)
    public_dns.records[DOMAIN] = servers
    state_bucket(fresh)
    found = findings(config(fresh, zone_id, **S3_BACKEND), public_dns)
    assert list(found) == [
        "credentials",
        "region",
        "hosted zone",
        "lambda concurrency",
        "network quotas",
        "state backend",
    ]
    assert found["credentials"].message == "account 123456789012 as arn:aws:sts::123456789012:user/moto"
    assert found["region"].message == "us-east-1, us-east-1a, us-east-1b available"
    assert found["hosted zone"].message == (
        f"{DOMAIN} ({zone_id}) serves api.dev.{DOMAIN}, delegated to its name servers"
    )
    assert found["network quotas"].message == "Elastic IPs 0+1 of 5, VPCs 1+1 of 5"
    assert found["state backend"].message == "s3://tf-state-preflight (versioned, lock: lockfile)"
    lambda_ = found.pop("lambda concurrency")
    assert all(f.ok for f in found.values()), [str(f) for f in found.values()]
    # Stock moto lacks GetAccountSettings: then the check says it could not run, which fails the preflight.
    assert lambda_.ok or lambda_.message.startswith("could not check:")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("no such zone", "TRADING_HOSTED_ZONE_ID=Z0NOSUCHZONE: NoSuchHostedZone: name an existing public zone"),
        ("zone of another domain", "is other.example.net, which does not serve api.dev.trading.example.com"),
        ("not delegated", "public DNS has no NS records for trading.example.com: delegate it"),
        ("delegated elsewhere", "trading.example.com is delegated to ns1.old-provider.net, ns2.old-provider.net, not"),
    ],
)
def test_a_zone_acm_could_never_validate_in_fails(
    fresh: Emulator, public_dns: LoopbackDns, setup: str, expected: str
) -> None:
    zone_id, servers = zone(fresh)
    public_dns.records.clear()
    if setup == "no such zone":
        zone_id = "Z0NOSUCHZONE"
    elif setup == "zone of another domain":
        zone_id, servers = zone(fresh, "other.example.net")
        public_dns.records["other.example.net"] = servers
    elif setup == "delegated elsewhere":
        public_dns.records[DOMAIN] = ["ns1.old-provider.net", "ns2.old-provider.net"]
    finding = preflight.check_hosted_zone(
        config(fresh, zone_id),
        preflight.client_factory(config(fresh, zone_id)),
        preflight.DnsResolver(public_dns.address),
    )
    assert not finding.ok
    assert expected in finding.message, finding.message


def test_unavailable_availability_zones_fail(fresh: Emulator) -> None:
    cfg = config(fresh, None)
    network = dataclasses.replace(cfg.settings.network, azs=("us-east-1a", "us-east-1q"))
    cfg = dataclasses.replace(cfg, settings=dataclasses.replace(cfg.settings, network=network))
    finding = preflight.check_region(cfg, preflight.client_factory(cfg))
    assert not finding.ok
    assert finding.message.startswith("us-east-1q not available to this account in us-east-1")


def test_full_elastic_ip_and_vpc_quotas_fail(fresh: Emulator) -> None:
    ec2 = aws_client(fresh.endpoint, "ec2")
    for _ in range(5):
        ec2.allocate_address(Domain="vpc")
    for i in range(4):
        ec2.create_vpc(CidrBlock=f"10.{200 + i}.0.0/16")
    cfg = config(fresh, None)
    finding = preflight.check_network_quotas(cfg, preflight.client_factory(cfg))
    assert not finding.ok
    assert finding.message == (
        "Elastic IPs: 5 of 5 in use, the workspace adds 1 for its NAT gateways: release unused ones or request 6 "
        "(Service Quotas, EC2-VPC Elastic IPs, L-0263D0A3); VPCs: 5 of 5 in us-east-1, the workspace adds 1: delete "
        "unused ones or request 6 (Service Quotas, VPCs per Region, L-F678F1CE)"
    )


def test_a_redeploy_counts_what_the_workspace_already_holds(fresh: Emulator) -> None:
    ec2 = aws_client(fresh.endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "vpc-dev"}])
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_tags(Resources=[eip], Tags=[{"Key": "Name", "Value": "eip-nat-us-east-1a-dev"}])
    cfg = config(fresh, None)
    finding = preflight.check_network_quotas(cfg, preflight.client_factory(cfg))
    assert finding.message == "Elastic IPs 1+0 of 5, VPCs 2+0 of 5"


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("local state", "state is local (.state/ on this machine)"),
        ("no bucket", "bucket tf-state-preflight: NoSuchBucket: run `make state-bootstrap`"),
        ("unversioned bucket", "bucket tf-state-preflight is not versioned"),
        ("no lock table", "lock table tf-locks: ResourceNotFoundException"),
    ],
)
def test_a_state_backend_a_team_cannot_share_fails(fresh: Emulator, setup: str, expected: str) -> None:
    env = dict(S3_BACKEND)
    if setup == "unversioned bucket":
        state_bucket(fresh, versioned=False)
    elif setup == "no lock table":
        state_bucket(fresh)
        env.update(TF_STATE_LOCK="dynamodb", TF_STATE_LOCK_TABLE="tf-locks")
    if setup == "local state":
        # As TARGET=aws would see it (the local target always keeps local state).
        cfg = dataclasses.replace(
            config(fresh, None), target=dataclasses.replace(config(fresh, None).target, endpoint=None)
        )
        finding = preflight.check_state_backend(cfg, preflight.client_factory(config(fresh, None)), {})
        assert preflight.check_state_backend(
            cfg, preflight.client_factory(config(fresh, None)), {preflight.ALLOW_LOCAL_STATE: "1"}
        ).ok
    else:
        cfg = config(fresh, None, **env)
        finding = preflight.check_state_backend(cfg, preflight.client_factory(cfg), {})
    assert not finding.ok
    assert expected in finding.message, finding.message


@pytest.mark.parametrize(
    ("limit", "unreserved", "ours", "reserves", "ok", "message"),
    [
        (1000, 1000, 0, 11, True, "limit 1000, 989 left unreserved after reserving 11"),
        (1000, 900, 11, 11, True, "limit 1000, 900 left unreserved after reserving 11"),  # a redeploy
        (
            10,
            10,
            0,
            11,
            False,
            "the workspace reserves 11 of the account's 10 concurrent executions and AWS keeps 100 unreserved (-1 "
            "would be left): request at least 111 (Service Quotas, AWS Lambda, Concurrent executions, L-B99A9384)",
        ),
        (
            1000,
            150,
            0,
            101,
            False,
            "the workspace reserves 101 of the account's 1000 concurrent executions and AWS keeps 100 unreserved (49 "
            "would be left): request at least 1051 (Service Quotas, AWS Lambda, Concurrent executions, L-B99A9384)",
        ),
    ],
)
def test_lambda_concurrency_keeps_the_100_aws_requires(
    limit: int, unreserved: int, ours: int, reserves: int, ok: bool, message: str
) -> None:
    finding = preflight.concurrency_finding(limit, unreserved, ours, reserves)
    assert (finding.ok, finding.message) == (ok, message)


def test_the_workspace_reserves_what_the_stack_reserves(synth) -> None:  # type: ignore[no-untyped-def]
    for workspace in ("dev", "staging", "prod"):
        functions = synth.trading(workspace).resources("aws_lambda_function").values()
        total = sum(f["reserved_concurrent_executions"] for f in functions)
        assert preflight.workspace_reservation(load_config(workspace, {})) == total


def test_lambda_concurrency_against_the_emulator(fresh: Emulator) -> None:
    cfg = config(fresh, None)
    client = preflight.client_factory(cfg)
    assert preflight.check_lambda_concurrency(cfg, client).ok
    # Another team's function reserves most of the account: the workspace's reservation would leave < 100.
    lambda_ = client("lambda")
    iam = client("iam")
    role = iam.create_role(RoleName="role-other-team", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_.create_function(
        FunctionName="other-team", Runtime="python3.12", Role=role, Handler="x.handler", Code={"ZipFile": _tiny_zip()}
    )
    lambda_.put_function_concurrency(FunctionName="other-team", ReservedConcurrentExecutions=895)
    finding = preflight.check_lambda_concurrency(cfg, client)
    assert not finding.ok
    assert finding.message.startswith("the workspace reserves 11 of the account's 1000 concurrent executions")


def _tiny_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def test_no_credentials_stop_the_preflight_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_", "TRADING_", "TARGET"))}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        TARGET="aws",
        TRADING_DOMAIN=DOMAIN,
        TRADING_HOSTED_ZONE_ID="Z0123456789ABC",
    )
    result = subprocess.run(
        [sys.executable, "-m", "tools.preflight", "--workspace", "dev"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "preflight: FAIL credentials: could not check: NoCredentialsError: Unable to locate credentials"
    ]
    # make deploy runs the same preflight first, and stops before synthesizing anything.
    deploy = subprocess.run(
        [sys.executable, "-m", "tools.deploy", "deploy", "--workspace", "dev", "--outdir", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert deploy.returncode == 1
    assert "preflight: FAIL credentials" in deploy.stderr
    assert "error: preflight failed for a real deployment of dev" in deploy.stderr
    assert not (tmp_path / "out").exists()
