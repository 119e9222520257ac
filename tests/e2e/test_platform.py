"""The deployed trading platform on the local emulator, end to end: real Terraform and provider, the emulator with
every extension (execute-api, the Lambda runtime, MariaDB behind Aurora, the network), and awscurl as the client.

dev and prod are deployed side by side on a private emulator (a free port) and reused by every test, which run in
file order and build on each other. To stay near ten minutes on two cores, prod's destroy (final snapshot) and
redeploy (restore) run in a background thread started by one test and joined by a later one, while the dev tests
in between run; dev is destroyed in that window too. The last test kills the emulator with SIGKILL.
Besides the trades, prod carries a table of odd bytes written with the master secret: after the restore the new
cluster (a new secret) serves the trades and those rows byte for byte.
About 8 minutes on 2 cores (12 under heavy load), most of it the two deploys and prod's destroy and redeploy.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pymysql
import pytest

from python_stacks.config import StackConfig
from python_stacks.stacks import load_configs
from tests.support import local_rds
from tests.support.awscurl import Answer, awscurl
from tools.deploy import Deployment
from tools.emulator import Emulator, aws_client
from tools.smoke import SAMPLE_TRADE, api_address, how_to_call
from tools.synth import synth

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
WORKSPACES = ("dev", "prod")
REGION = "us-east-1"
MISSING_TOKEN = b'{"message":"Missing Authentication Token"}'
# Rows no trade carries (bytes 0x00 and 0xff, an emoji): the restore must keep them exactly, beside the trades.
ODD_ROWS = [(1, b"\x00\x01\xfe\xff", "prod \u20ac \U0001f4c8"), (2, b"", "second")]


class Platform:
    def __init__(self, emulator: Emulator, outdir: Path) -> None:
        self.emulator = emulator
        self.outdir = outdir
        env = {"TARGET": "local", "LOCAL_AWS_ENDPOINT": emulator.endpoint}
        self.configs: dict[str, StackConfig] = {c.workspace: c for c in load_configs(WORKSPACES, env)}
        self.deployments = {ws: Deployment(c, outdir) for ws, c in self.configs.items()}
        self.outputs: dict[str, dict[str, object]] = {}
        self.prod_trades: dict[int, bytes] = {}
        self.prod_secret: str = ""
        self.prod_cycle: Future[dict[str, object]] | None = None
        self.background = ThreadPoolExecutor(max_workers=1)

    def base_url(self, workspace: str) -> str:
        address = api_address(self.configs[workspace], self.outputs[workspace])
        assert address is not None
        return address.base_url

    def boto(self, service: str) -> Any:
        return aws_client(self.emulator.endpoint, service)

    def internal(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.emulator.endpoint}/_local_cloud/{path}", timeout=30) as response:
            return json.loads(response.read())

    def cluster(self, workspace: str) -> dict[str, Any]:
        (found,) = [c for c in self.internal("rds/clusters/") if c["identifier"] == f"aurora-{workspace}"]
        return found

    def master_secret(self, workspace: str) -> dict[str, str]:
        secret_id = self.cluster(workspace)["secret_arn"]
        return dict(json.loads(self.boto("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]))

    def master_connection(self, workspace: str, *, plaintext: bool = False) -> pymysql.Connection:
        """The master user (RDS-managed secret) on the cluster's server: TLS verified for the writer endpoint's
        name, as the functions connect, or ``plaintext``."""
        cluster = self.cluster(workspace)
        secret = self.master_secret(workspace)
        if plaintext:
            return pymysql.connect(
                host=cluster["address"],
                port=cluster["port"],
                user=secret["username"],
                password=secret["password"],
                connect_timeout=10,
                ssl_disabled=True,
            )
        return local_rds.connect(cluster, secret["username"], secret["password"])


def plain(
    url: str, *, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=90) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def eventually(check: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Polls until ``check`` holds (processes need a moment to exit); the caller asserts the result."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, lambda_zip: Path) -> Iterator[Platform]:
    emulator = Emulator.private()
    world = Platform(emulator, tmp_path_factory.mktemp("platform") / "root" / "cdktf.out")
    try:
        synth(list(world.configs.values()), world.outdir)
        world.deployments["dev"].ensure_account_settings()
        with ThreadPoolExecutor(max_workers=len(WORKSPACES)) as pool:
            deployed = pool.map(lambda ws: world.deployments[ws].deploy(synthesize=False), WORKSPACES)
            world.outputs.update(zip(WORKSPACES, deployed, strict=True))
        yield world
    finally:
        world.background.shutdown(wait=True)  # a prod cycle still running (a failed test) ends before the emulator
        emulator.stop()


# --------------------------------------------------------------------------------------------------------------------
# dev: the API, the functions and the database together
# --------------------------------------------------------------------------------------------------------------------


def test_a_signed_trade_goes_in_through_the_api_and_comes_back(platform: Platform) -> None:
    base = platform.base_url("dev")
    created = awscurl(
        f"{base}/trades", method="POST", data=json.dumps(SAMPLE_TRADE), headers={"Content-Type": "application/json"}
    )
    assert created.status == 201, created.body
    stored = created.json()
    assert {k: stored[k] for k in SAMPLE_TRADE} == SAMPLE_TRADE
    assert created.headers["Location"].endswith(f"/trades/{stored['id']}")
    assert {"x-amzn-RequestId", "x-amz-apigw-id", "X-Amzn-Trace-Id"} <= set(created.headers)

    read = awscurl(f"{base}/trades/{stored['id']}")
    assert (read.status, read.body) == (200, created.body)
    replay = awscurl(
        f"{base}/trades", method="POST", data=json.dumps(SAMPLE_TRADE), headers={"Content-Type": "application/json"}
    )
    assert (replay.status, replay.body) == (200, created.body), "the same order again: the stored trade"


def test_the_trades_posted_show_on_the_deployed_dashboard_as_cloudwatch_metrics(platform: Platform) -> None:
    """The previous test created one trade and replayed it once. The handler's EMF lines become CloudWatch metrics
    in the emulator, and the deployed dashboard's trade widget reads exactly those (namespace, name, dimensions)."""
    cloudwatch = platform.boto("cloudwatch")
    body = json.loads(cloudwatch.get_dashboard(DashboardName="dashboard-dev")["DashboardBody"])
    (widget,) = [w for w in body["widgets"] if w["properties"].get("title", "").startswith("Trades per minute")]
    sums: dict[str, float] = {}

    def read_sums() -> bool:
        now = time.time()
        for namespace, metric, *rest in widget["properties"]["metrics"]:
            pairs = rest[:-1]  # the last item is the line's options
            dimensions = [{"Name": n, "Value": v} for n, v in zip(pairs[::2], pairs[1::2], strict=True)]
            points = cloudwatch.get_metric_statistics(
                Namespace=namespace,
                MetricName=metric,
                Dimensions=dimensions,
                StartTime=now - 3600,
                EndTime=now + 60,
                Period=3600,
                Statistics=["Sum"],
            )["Datapoints"]
            sums[metric] = sum(p["Sum"] for p in points)
        return sums["TradesCreated"] >= 1 and sums["TradesReplayed"] >= 1

    eventually(read_sums, timeout=20)  # log lines reach CloudWatch a moment after the response, as on AWS
    assert widget["properties"]["metrics"][0][0] == "trading-dev"
    assert sums["TradesCreated"] >= 1 and sums["TradesReplayed"] >= 1, sums
    assert sums["TradeConflicts"] == 0, sums


def test_the_awscurl_lines_make_deploy_prints_work_as_printed(platform: Platform) -> None:
    lines = how_to_call(platform.configs["dev"], platform.outputs["dev"])
    post = next(line.strip() for line in lines if " -X POST " in line)
    done = subprocess.run(shlex.split(post), cwd=ROOT, capture_output=True, timeout=120, check=True)
    stored = json.loads(done.stdout)
    assert {k: stored[k] for k in SAMPLE_TRADE} == SAMPLE_TRADE  # the sample order, stored by the test before
    get = next(line.strip() for line in lines if line.strip().endswith("/trades/1"))
    done = subprocess.run(
        shlex.split(get.replace("/trades/1", f"/trades/{stored['id']}")),
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == stored


def test_the_stage_url_and_the_custom_domain_serve_the_same_api(platform: Platform) -> None:
    invoke_url = urlparse(str(platform.outputs["dev"]["api_invoke_url"]))
    domain = urlparse(str(platform.outputs["dev"]["api_custom_domain_url"])).hostname
    endpoint = platform.emulator.endpoint
    by_stage = awscurl(f"{endpoint}{invoke_url.path}/trades/1", headers={"Host": str(invoke_url.hostname)})
    by_domain = awscurl(f"{endpoint}/trades/1", headers={"Host": str(domain)})
    assert by_stage.status == by_domain.status == 200
    assert by_stage.body == by_domain.body


def test_unsigned_and_wrongly_signed_trade_requests_are_refused(platform: Platform) -> None:
    base = platform.base_url("dev")
    body = json.dumps(dict(SAMPLE_TRADE, client_order_id="refused-1")).encode()
    assert plain(f"{base}/trades", method="POST", data=body, headers={"Content-Type": "application/json"}) == (
        403,
        MISSING_TOKEN,
    )
    assert plain(f"{base}/trades/1") == (403, MISSING_TOKEN)
    wrong: Answer = awscurl(
        f"{base}/trades",
        method="POST",
        data=body.decode(),
        secret_key="not-the-secret",
        headers={"Content-Type": "application/json"},
    )
    assert wrong.status == 403
    assert wrong.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    unknown = awscurl(f"{base}/trades/1", access_key="AKIAUNKNOWN000000000")
    assert (unknown.status, unknown.json()) == (
        403,
        {"message": "The security token included in the request is invalid."},
    )
    with platform.master_connection("dev") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM trading.trades WHERE client_order_id = 'refused-1'")
        assert cursor.fetchone() == (0,), "a refused request never reached the function"


def test_health_is_open_and_reports_writer_and_reader(platform: Platform) -> None:
    status, body = plain(f"{platform.base_url('dev')}/health")
    assert status == 200, body
    health = json.loads(body)
    assert health["status"] == "ok"
    assert (health["database"]["writer"], health["database"]["reader"]) == ("ok", "ok")


def test_the_migration_ran_during_deploy(platform: Platform) -> None:
    # The deploy invoked the migration function (aws_lambda_invocation): its log group has the invocation...
    logs = platform.boto("logs")
    reports = logs.filter_log_events(logGroupName="/aws/lambda/migrate-dev", filterPattern="REPORT")["events"]
    assert reports, "the migration function ran"
    # ... and the schema it creates is in the database, read with the RDS-managed master secret.
    with platform.master_connection("dev") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT MAX(version), COUNT(*) FROM trading.schema_version")
        version, applied = cursor.fetchone()
        assert version >= 1 and applied == version
        cursor.execute("SHOW TABLES FROM trading")
        assert {"schema_version", "trades"} <= {row[0] for row in cursor.fetchall()}


def test_the_database_endpoints_really_use_tls(platform: Platform) -> None:
    with pytest.raises(pymysql.err.OperationalError) as refused:
        platform.master_connection("dev", plaintext=True).close()
    assert refused.value.args[0] in (3159, 1045), refused.value  # require_secure_transport (or refused login)
    with platform.master_connection("dev") as connection, connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cursor.fetchone()[1] in ("TLSv1.2", "TLSv1.3")
        cursor.execute("SELECT @@require_secure_transport")
        assert cursor.fetchone() == (1,)


# --------------------------------------------------------------------------------------------------------------------
# prod: trades survive destroy (final snapshot) and deploy (restore); the cycle runs in the background
# --------------------------------------------------------------------------------------------------------------------


def _prod_cycle(platform: Platform) -> dict[str, object]:
    prod = platform.deployments["prod"]
    prod.destroy(with_data=False, synthesize=False)
    return prod.deploy(synthesize=False)


def test_prod_takes_trades_then_is_destroyed_and_redeployed_in_the_background(platform: Platform) -> None:
    base = platform.base_url("prod")
    for index in range(3):
        order = dict(SAMPLE_TRADE, client_order_id=f"prod-{index}", quantity=index + 1)
        created = awscurl(
            f"{base}/trades", method="POST", data=json.dumps(order), headers={"Content-Type": "application/json"}
        )
        assert created.status == 201, created.body
        read = awscurl(f"{base}/trades/{created.json()['id']}")
        assert read.status == 200
        platform.prod_trades[created.json()["id"]] = read.body
    with platform.master_connection("prod") as connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE trading.kept (id INT PRIMARY KEY, raw VARBINARY(16), note VARCHAR(40) CHARACTER SET utf8mb4)"
        )
        cursor.executemany("INSERT INTO trading.kept VALUES (%s, %s, %s)", ODD_ROWS)
        connection.commit()
    platform.prod_secret = platform.master_secret("prod")["password"]
    platform.prod_cycle = platform.background.submit(_prod_cycle, platform)


# --------------------------------------------------------------------------------------------------------------------
# Failing functions: a small extra function and API created with boto3
# --------------------------------------------------------------------------------------------------------------------

PROBE = textwrap.dedent(
    """
    import json, os, time
    INVOCATIONS = 0

    def handler(event, context):
        global INVOCATIONS
        INVOCATIONS += 1
        if event["path"] == "/sleep":
            time.sleep(600)
        if event["path"] == "/raise":
            raise RuntimeError("boom")
        return {"statusCode": 200, "body": json.dumps({"pid": os.getpid(), "invocations": INVOCATIONS})}
    """
)


@pytest.fixture(scope="module")
def probe_api(platform: Platform) -> str:
    """``ANY /{proxy+}`` to a function with a 4 s timeout, behind an integration that waits 2 s (of 29 s allowed)."""
    iam, lam, apigateway = (platform.boto(s) for s in ("iam", "lambda", "apigateway"))
    name = f"e2e-probe-{uuid.uuid4().hex[:6]}"
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
                ],
            }
        ),
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("probe.py", PROBE)
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="probe.handler",
        Timeout=4,
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    api_id = apigateway.create_rest_api(name=name)["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    proxy = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")["id"]
    apigateway.put_method(restApiId=api_id, resourceId=proxy, httpMethod="ANY", authorizationType="NONE")
    apigateway.put_integration(
        restApiId=api_id,
        resourceId=proxy,
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        timeoutInMillis=2000,
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations",
    )
    apigateway.create_deployment(restApiId=api_id, stageName="e2e")
    lam.add_permission(
        FunctionName=name,
        StatementId="apigateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:123456789012:{api_id}/*/*",
    )
    return f"{platform.emulator.endpoint}/restapis/{api_id}/e2e/_user_request_"


def test_a_function_past_the_integration_timeout_is_504_and_the_next_request_gets_a_fresh_worker(
    platform: Platform, probe_api: str
) -> None:
    status, body = plain(f"{probe_api}/hello")
    assert status == 200, body
    first = json.loads(body)["pid"]
    assert plain(f"{probe_api}/sleep") == (504, b'{"message": "Endpoint request timed out"}')
    # The function's own timeout (4 s) kills the worker that is still sleeping.
    assert eventually(lambda: not alive(first), timeout=60), f"worker {first} was not killed at the function timeout"
    status, body = plain(f"{probe_api}/hello")
    assert status == 200, body
    fresh = json.loads(body)
    assert fresh["pid"] != first and fresh["invocations"] == 1, fresh


def test_a_function_that_raises_is_502(platform: Platform, probe_api: str) -> None:
    assert plain(f"{probe_api}/raise") == (502, b'{"message": "Internal server error"}')


# --------------------------------------------------------------------------------------------------------------------
# The network decides: the database's ingress rule from the functions removed
# --------------------------------------------------------------------------------------------------------------------


def test_without_the_database_ingress_rule_requests_fail_503_and_health_reports_the_writer_down(
    platform: Platform,
) -> None:
    ec2, lam, rds = platform.boto("ec2"), platform.boto("lambda"), platform.boto("rds")
    function = lam.get_function_configuration(FunctionName="trades-api-dev")
    function_groups = set(function["VpcConfig"]["SecurityGroupIds"])
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier="aurora-dev")["DBClusters"]
    database_groups = [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]]
    # moto matches a revoke on the rule's description too (AWS ignores it): revoke the pair as described.
    rules = {
        (
            group["GroupId"],
            permission["IpProtocol"],
            permission["FromPort"],
            permission["ToPort"],
            pair["GroupId"],
            pair.get("Description"),
        )
        for group in ec2.describe_security_groups(GroupIds=database_groups)["SecurityGroups"]
        for permission in group["IpPermissions"]
        for pair in permission.get("UserIdGroupPairs", [])
        if pair["GroupId"] in function_groups
    }
    assert rules, "the database admits the functions' security group"
    revoked = [
        (
            group,
            {
                "IpProtocol": protocol,
                "FromPort": low,
                "ToPort": high,
                "UserIdGroupPairs": [{"GroupId": source, **({"Description": note} if note else {})}],
            },
        )
        for group, protocol, low, high, source, note in sorted(rules, key=str)
    ]
    for group_id, rule in revoked:
        ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[rule])

    # Established connections survive a rule change (security groups track connections); a new execution
    # environment must connect anew. The API invokes the `live` alias: a new version with a changed environment
    # behind it gets fresh workers.
    variables = dict(function["Environment"]["Variables"], E2E_FRESH_WORKER="1")
    lam.update_function_configuration(FunctionName="trades-api-dev", Environment={"Variables": variables})
    lam.get_waiter("function_updated_v2").wait(FunctionName="trades-api-dev")
    version = lam.publish_version(FunctionName="trades-api-dev")["Version"]
    lam.update_alias(FunctionName="trades-api-dev", Name="live", FunctionVersion=version)
    base = platform.base_url("dev")
    order = json.dumps(dict(SAMPLE_TRADE, client_order_id="no-network-1"))
    refused = awscurl(f"{base}/trades", method="POST", data=order, headers={"Content-Type": "application/json"})
    assert refused.status == 503, refused.body
    assert refused.json()["error"] == "service_unavailable"
    status, body = plain(f"{base}/health")
    assert status == 503, body
    # handlers/README.md: the 503's details name each database endpoint that is down.
    assert "writer: unavailable" in json.loads(body).get("details", []), body

    for group_id, rule in revoked:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[rule])
    status, body = plain(f"{base}/health")
    assert status == 200, body


# --------------------------------------------------------------------------------------------------------------------
# Teardown as the user does it, and the emulator's hygiene
# --------------------------------------------------------------------------------------------------------------------


def test_dev_destroyed_leaves_no_database_server_or_data_directory(platform: Platform) -> None:
    cluster = platform.cluster("dev")
    pid, data_directory = cluster["pid"], Path(cluster["data_directory"])
    assert alive(pid) and data_directory.is_dir()
    platform.deployments["dev"].destroy(with_data=True, synthesize=False)
    assert "aurora-dev" not in {c["identifier"] for c in platform.internal("rds/clusters/")}
    assert eventually(lambda: not alive(pid), timeout=30), f"mariadbd {pid} of dev still runs"
    assert not data_directory.exists()
    assert not [c for c in platform.internal("status/")["children"] if "aurora-dev" in c["name"]]
    assert not [s for s in local_rds.snapshots(platform.emulator.endpoint) if "-dev-" in s["identifier"]]


def test_prod_serves_the_same_trades_byte_for_byte_after_destroy_and_restore(platform: Platform) -> None:
    assert platform.prod_cycle is not None
    final = str(platform.outputs["prod"]["db_final_snapshot_identifier"])  # what the destroy was to leave
    platform.outputs["prod"] = platform.prod_cycle.result(timeout=1800)
    base = platform.base_url("prod")
    for trade_id, before in platform.prod_trades.items():
        after = awscurl(f"{base}/trades/{trade_id}")
        assert (after.status, after.body) == (200, before)
    assert final in {s["identifier"] for s in local_rds.snapshots(platform.emulator.endpoint)}
    assert platform.master_secret("prod")["password"] != platform.prod_secret, "the new cluster has a new secret"
    with platform.master_connection("prod") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id, raw, note FROM trading.kept ORDER BY id")
        assert [tuple(row) for row in cursor.fetchall()] == ODD_ROWS


def test_the_emulator_killed_with_sigkill_leaves_no_orphan_process(platform: Platform) -> None:
    status = platform.internal("status/")
    children = {child["pid"]: child["name"] for child in status["children"]}
    assert any(name.startswith("mariadbd") for name in children.values())
    assert any(name.startswith("lambda:") for name in children.values())
    data_directories = [Path(c["data_directory"]) for c in platform.internal("rds/clusters/")]
    os.kill(status["pid"], signal.SIGKILL)
    assert eventually(lambda: not any(alive(pid) for pid in children), timeout=60), {
        pid: name for pid, name in children.items() if alive(pid)
    }
    assert eventually(lambda: not any(d.exists() for d in data_directories), timeout=60)
