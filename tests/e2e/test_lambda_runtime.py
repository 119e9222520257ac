"""The emulator's Lambda runtime, end to end: functions created with boto3 from ZIPs built here (and one from the
real shared ZIP) run in sandboxed workers of a private emulator, and answer, log and fail as Lambda does."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import textwrap
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.emulator import Emulator, aws_client

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PARAMETERS_SECRETS_LAYER = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:11"

# A handler that reports what it sees; the tests pick what they need from it.
PROBE = textwrap.dedent(
    """
    import json, os, sys, time
    STARTED = time.time()
    print("probe init")

    def handler(event, context):
        print("probe event " + json.dumps(event))
        action = event.get("action")
        if action == "raise":
            raise ValueError("boom")
        if action == "sleep":
            time.sleep(event["seconds"])
        if action == "allocate":
            hoard = bytearray(event["mb"] * 1024 * 1024)
            return {"allocated": len(hoard)}
        if action == "secret":
            import urllib.parse, urllib.request
            port = os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]
            request = urllib.request.Request(
                f"http://localhost:{port}/secretsmanager/get?secretId={urllib.parse.quote(event['arn'], safe='')}",
                headers={"X-Aws-Parameters-Secrets-Token": os.environ["AWS_SESSION_TOKEN"]},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                return {"port": int(port), "secret": json.loads(response.read())["SecretString"]}
        if action == "emf":
            print(json.dumps(event["document"]))
        if action == "aws":
            import boto3
            return {"buckets": [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]],
                    "boto3": boto3.__version__}
        if action == "files":
            found = {}
            for path in ("/var/task/new.txt", "/var/task/app.py", "/tmp/new.txt"):
                try:
                    with open(path, "a") as f:
                        f.write("x")
                    found[path] = "written"
                except OSError as exc:
                    found[path] = exc.strerror
            try:
                os.chmod("/var/task/app.py", 0o777)
                found["chmod"] = "changed"
            except OSError as exc:
                found["chmod"] = exc.strerror
            found["project_visible"] = os.path.exists(event["project_file"])
            return found
        return {
            "pid": os.getpid(),
            "uid": os.getuid(),
            "env": dict(os.environ),
            "cwd": os.getcwd(),
            "path": sys.path,
            "version": sys.version.split()[0],
            "invoked_arn": context.invoked_function_arn,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "memory_limit": context.memory_limit_in_mb,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id,
            "marker": os.environ.get("MARKER"),
            "started": STARTED,
        }
    """
)


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


class Lambdas:
    """boto3 clients of one private emulator, and a way to deploy small functions on it."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.client = aws_client(emulator.endpoint, "lambda")
        self.logs = aws_client(emulator.endpoint, "logs")
        self.cloudwatch = aws_client(emulator.endpoint, "cloudwatch")
        iam = aws_client(emulator.endpoint, "iam")
        name = f"lambda-test-{uuid.uuid4().hex[:8]}"
        self.role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    def deploy(self, source: str = PROBE, *, files: dict[str, str] | None = None, **settings: Any) -> str:
        name = f"fn-{uuid.uuid4().hex[:10]}"
        self.client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler=settings.pop("Handler", "app.handler"),
            Code={"ZipFile": zipped({"app.py": source, **(files or {})})},
            **settings,
        )
        return name

    def invoke(self, name: str, event: dict[str, Any] | None = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
        response = self.client.invoke(FunctionName=name, Payload=json.dumps(event or {}), **kwargs)
        return response, json.loads(response["Payload"].read() or b"null")

    def workers(self, name: str | None = None) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.emulator.endpoint}/_local_cloud/lambda/workers", timeout=10) as response:
            workers = json.load(response)["workers"]
        return [w for w in workers if name is None or w["function"] == name]

    def log_messages(self, name: str) -> list[str]:
        group = f"/aws/lambda/{name}"
        messages = []
        try:
            streams = self.logs.describe_log_streams(logGroupName=group)["logStreams"]
        except self.logs.exceptions.ResourceNotFoundException:
            return []  # nothing logged yet
        for stream in streams:
            events = self.logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]
            messages += [event["message"] for event in events]
        return messages


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def lambdas(emulator: Emulator) -> Lambdas:
    return Lambdas(emulator)


# --- running the function ------------------------------------------------------------------------------------------


def test_a_synchronous_invocation_runs_the_zip_with_lambdas_context(lambdas: Lambdas) -> None:
    name = lambdas.deploy(MemorySize=256, Timeout=7)
    response, first = lambdas.invoke(name, {"n": 1})
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert first["version"].startswith("3.12.")
    assert first["function_name"] == name and first["function_version"] == "$LATEST"
    assert first["memory_limit"] == "256"
    assert first["invoked_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert 0 < first["remaining_ms"] <= 7000
    assert first["cwd"] == "/var/task" and first["path"][0] == "/var/task"
    assert first["uid"] != 0
    tail = base64.b64decode(lambdas.invoke(name, {"n": 2}, LogType="Tail")[0]["LogResult"]).decode()
    assert 'probe event {"n": 2}' in tail and tail.rstrip().splitlines()[-1].startswith("REPORT RequestId: ")


def test_the_environment_is_lambdas_and_leaks_nothing_from_the_emulator(lambdas: Lambdas) -> None:
    name = lambdas.deploy(Environment={"Variables": {"MARKER": "m1", "AWS_ENDPOINT_URL_S3": "kept"}})
    _, seen = lambdas.invoke(name)
    env = seen["env"]
    standard = {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "LANG",
        "TZ",
        "PATH",
        "LD_LIBRARY_PATH",
        "PYTHONPATH",
        "AWS_ENDPOINT_URL",
    }
    python_adds = {"LC_CTYPE"}  # CPython's locale coercion when the C library lacks LANG's locale
    assert set(env) - python_adds == standard | {"MARKER", "AWS_ENDPOINT_URL_S3"}
    assert env["MARKER"] == "m1" and env["AWS_ENDPOINT_URL_S3"] == "kept"
    assert env["AWS_ENDPOINT_URL"] == lambdas.emulator.endpoint
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12" and env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand" and env["LAMBDA_TASK_ROOT"] == "/var/task"
    assert env["AWS_ACCESS_KEY_ID"] == "test" and env["AWS_SECRET_ACCESS_KEY"] == "test"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"


def test_boto3_is_the_runtimes_and_reaches_the_emulator(lambdas: Lambdas) -> None:
    aws_client(lambdas.emulator.endpoint, "s3").create_bucket(Bucket="seen-from-a-worker")
    _, seen = lambdas.invoke(lambdas.deploy(), {"action": "aws"})
    assert seen["boto3"] == "1.44.8"
    assert "seen-from-a-worker" in seen["buckets"]


def test_the_code_directory_is_read_only_even_for_chmod_and_only_tmp_is_writable(lambdas: Lambdas) -> None:
    _, found = lambdas.invoke(lambdas.deploy(), {"action": "files", "project_file": str(ROOT / "Makefile")})
    # The mount refuses every write (EROFS, even to root); the unprivileged user is refused first where modes apply.
    assert found["/var/task/new.txt"] == "Read-only file system"
    assert found["/var/task/app.py"] in ("Read-only file system", "Permission denied")
    assert found["chmod"] in ("Read-only file system", "Operation not permitted")
    assert found["/tmp/new.txt"] == "written"
    assert found["project_visible"] is False


def test_warm_workers_are_reused_and_a_changed_configuration_gets_a_fresh_one(lambdas: Lambdas) -> None:
    name = lambdas.deploy(Environment={"Variables": {"MARKER": "a"}})
    first, second = lambdas.invoke(name)[1], lambdas.invoke(name)[1]
    assert first["pid"] == second["pid"] and first["started"] == second["started"]
    lambdas.client.update_function_configuration(FunctionName=name, Environment={"Variables": {"MARKER": "b"}})
    changed = lambdas.invoke(name)[1]
    assert changed["marker"] == "b" and changed["pid"] != first["pid"]
    assert wait_for(lambda: not alive(first["pid"])), "the old configuration's idle worker was stopped"
    lambdas.client.update_function_code(FunctionName=name, ZipFile=zipped({"app.py": PROBE + "\nNEW_CODE = 1\n"}))
    assert lambdas.invoke(name)[1]["pid"] != changed["pid"]


def test_versions_and_aliases_run_their_own_code_and_configuration(lambdas: Lambdas) -> None:
    name = lambdas.deploy(Environment={"Variables": {"MARKER": "v1"}})
    version = lambdas.client.publish_version(FunctionName=name)["Version"]
    lambdas.client.update_function_configuration(FunctionName=name, Environment={"Variables": {"MARKER": "latest"}})
    lambdas.client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    assert lambdas.invoke(name)[1]["marker"] == "latest"
    response, pinned = lambdas.invoke(name, Qualifier=version)
    assert pinned["marker"] == "v1" and pinned["function_version"] == version
    assert response["ExecutedVersion"] == version
    _, aliased = lambdas.invoke(name, Qualifier="live")
    assert aliased["marker"] == "v1" and aliased["invoked_arn"].endswith(f":function:{name}:live")
    _, by_arn = lambdas.invoke(f"arn:aws:lambda:us-east-1:123456789012:function:{name}:live")
    assert by_arn["marker"] == "v1"


# --- errors in AWS's shape -----------------------------------------------------------------------------------------


def test_an_exception_is_an_unhandled_function_error_and_the_worker_stays(lambdas: Lambdas) -> None:
    name = lambdas.deploy()
    pid = lambdas.invoke(name)[1]["pid"]
    response, error = lambdas.invoke(name, {"action": "raise"})
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "boom"
    assert isinstance(error["stackTrace"], list) and error["stackTrace"]
    assert lambdas.invoke(name)[1]["pid"] == pid
    assert any(m.startswith("[ERROR] ValueError: boom") for m in lambdas.log_messages(name))


def test_an_error_at_import_fails_init_and_each_invocation_retries_on_a_fresh_worker(lambdas: Lambdas) -> None:
    source = "class ConfigError(Exception):\n    pass\nraise ConfigError('DB_SECRET_ARN is missing')\n"
    name = lambdas.deploy(source)
    for _ in range(2):
        response, error = lambdas.invoke(name)
        assert response["FunctionError"] == "Unhandled"
        assert error["errorType"] == "ConfigError" and error["errorMessage"] == "DB_SECRET_ARN is missing"
    assert lambdas.workers(name) == []
    messages = lambdas.log_messages(name)
    assert sum(m.startswith("INIT_REPORT Init Duration:") and "Status: error" in m for m in messages) == 2
    missing = lambdas.deploy(Handler="nowhere.handler")
    assert lambdas.invoke(missing)[1]["errorType"] == "Runtime.ImportModuleError"


def test_a_timeout_kills_the_worker_with_awss_error_and_the_next_invocation_gets_a_fresh_one(lambdas: Lambdas) -> None:
    name = lambdas.deploy(Timeout=1)
    pid = lambdas.invoke(name)[1]["pid"]
    response, error = lambdas.invoke(name, {"action": "sleep", "seconds": 10})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert not alive(pid)
    assert lambdas.invoke(name)[1]["pid"] != pid
    messages = lambdas.log_messages(name)
    assert any(m.endswith("Task timed out after 1.00 seconds") for m in messages)
    assert any(m.startswith("REPORT") and "Status: timeout" in m for m in messages)


def test_memory_beyond_memorysize_is_an_out_of_memory_error_on_a_discarded_worker(lambdas: Lambdas) -> None:
    name = lambdas.deploy(MemorySize=128)
    pid = lambdas.invoke(name)[1]["pid"]
    assert lambdas.invoke(name, {"action": "allocate", "mb": 32})[1] == {"allocated": 32 * 1024 * 1024}
    response, error = lambdas.invoke(name, {"action": "allocate", "mb": 256})
    assert response["FunctionError"] == "Unhandled" and error["errorType"] == "Runtime.OutOfMemory"
    assert not alive(pid)
    assert lambdas.invoke(name)[1]["pid"] != pid


def test_a_runtime_that_exits_is_a_runtime_exit_error(lambdas: Lambdas) -> None:
    name = lambdas.deploy("import os\ndef handler(event, context):\n    os._exit(3)\n")
    response, error = lambdas.invoke(name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError" and error["errorMessage"].endswith("exit status 3")


def test_a_payload_that_is_not_json_is_refused_like_lambda_does(lambdas: Lambdas) -> None:
    with pytest.raises(ClientError) as refused:
        lambdas.client.invoke(FunctionName=lambdas.deploy(), Payload=b"{not json")
    assert refused.value.response["Error"]["Code"] == "InvalidRequestContentException"


# --- concurrency, asynchronous invocations -------------------------------------------------------------------------


def test_reserved_concurrency_is_the_cap_and_beyond_it_lambda_throttles(lambdas: Lambdas) -> None:
    name = lambdas.deploy(Timeout=30)
    lambdas.client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    lambdas.invoke(name)  # warm
    slow = threading.Thread(target=lambdas.invoke, args=(name, {"action": "sleep", "seconds": 3}))
    slow.start()
    try:
        assert wait_for(lambda: any(not w["idle"] for w in lambdas.workers(name)))
        with pytest.raises(ClientError) as throttled:
            lambdas.invoke(name)
        assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    finally:
        slow.join()
    lambdas.client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError, match="TooManyRequestsException"):
        lambdas.invoke(name)


def test_an_event_invocation_is_accepted_at_once_and_runs_in_the_background(lambdas: Lambdas) -> None:
    name = lambdas.deploy()
    marker = uuid.uuid4().hex
    response = lambdas.client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"m": marker}))
    assert response["StatusCode"] == 202
    assert wait_for(lambda: any(marker in m for m in lambdas.log_messages(name) if m.startswith("probe event")))


# --- logs and metrics ----------------------------------------------------------------------------------------------


def test_platform_lines_and_the_functions_output_land_in_its_log_group(lambdas: Lambdas) -> None:
    name = lambdas.deploy()
    request_id = lambdas.invoke(name)[1]["request_id"]
    group = f"/aws/lambda/{name}"
    (stream,) = lambdas.logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert stream["logStreamName"].split("/")[3].startswith("[$LATEST]")
    messages = lambdas.log_messages(name)
    assert messages[0].startswith("INIT_START") and messages[1] == "probe init"
    assert messages[2] == f"START RequestId: {request_id} Version: $LATEST"
    assert messages[4] == f"END RequestId: {request_id}"
    report = messages[5].split("\t")
    assert report[0] == f"REPORT RequestId: {request_id}"
    assert [part.split(":")[0] for part in report[1:]] == [
        "Duration",
        "Billed Duration",
        "Memory Size",
        "Max Memory Used",
        "Init Duration",
    ]


def test_emf_lines_become_cloudwatch_metrics(lambdas: Lambdas) -> None:
    namespace = f"trading-test-{uuid.uuid4().hex[:6]}"
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": "TradesCreated", "Unit": "Count"}],
                }
            ],
        },
        "service": "trades-api",
        "TradesCreated": [1.0, 2.0],
    }
    name = lambdas.deploy()
    lambdas.invoke(name, {"action": "emf", "document": document})
    (metric,) = lambdas.cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    assert metric["MetricName"] == "TradesCreated"
    assert metric["Dimensions"] == [{"Name": "service", "Value": "trades-api"}]
    lambda_metrics = lambdas.cloudwatch.list_metrics(
        Namespace="AWS/Lambda", Dimensions=[{"Name": "FunctionName", "Value": name}]
    )["Metrics"]
    assert {"Invocations", "Errors", "Duration", "ConcurrentExecutions"} <= {m["MetricName"] for m in lambda_metrics}


# --- provisioned concurrency and AWS-published layers --------------------------------------------------------------


def test_provisioned_concurrency_prewarms_workers_of_the_alias_version(lambdas: Lambdas) -> None:
    client = lambdas.client
    name = lambdas.deploy()
    version = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    with pytest.raises(ClientError, match="unpublished function versions"):
        client.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    put = client.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=2
    )
    assert put["RequestedProvisionedConcurrentExecutions"] == 2

    def current() -> dict[str, Any]:
        return client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")

    assert wait_for(lambda: current()["Status"] == "READY")
    config = current()
    assert config["AllocatedProvisionedConcurrentExecutions"] == 2
    workers = lambdas.workers(name)
    assert len(workers) == 2 and all(w["provisioned"] and w["version"] == version for w in workers)
    _, seen = lambdas.invoke(name, Qualifier="live")
    assert seen["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    assert seen["pid"] in {w["pid"] for w in workers}
    listed = client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in listed] == ["live"]
    client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    with pytest.raises(ClientError) as gone:
        client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    assert gone.value.response["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"
    assert wait_for(lambda: all(not alive(w["pid"]) for w in workers))


TERRAFORM_PROVISIONED = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
variable "endpoint" { type = string }
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    iam    = var.endpoint
    lambda = var.endpoint
    sts    = var.endpoint
  }
}
resource "aws_iam_role" "this" {
  name               = "tf-provisioned"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" } }]
  })
}
resource "aws_lambda_function" "this" {
  function_name    = "tf-provisioned"
  role             = aws_iam_role.this.arn
  runtime          = "python3.12"
  handler          = "app.handler"
  filename         = "${path.module}/code.zip"
  source_code_hash = filebase64sha256("${path.module}/code.zip")
  publish          = true
}
resource "aws_lambda_alias" "live" {
  name             = "live"
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}
resource "aws_lambda_provisioned_concurrency_config" "live" {
  function_name                     = aws_lambda_alias.live.function_name
  qualifier                         = aws_lambda_alias.live.name
  provisioned_concurrent_executions = 2
}
resource "aws_lambda_invocation" "probe" {
  function_name = aws_lambda_function.this.function_name
  qualifier     = aws_lambda_alias.live.name
  input         = jsonencode({ from = "terraform" })
  depends_on    = [aws_lambda_provisioned_concurrency_config.live]
}
output "result" { value = aws_lambda_invocation.probe.result }
"""


def test_terraform_provisions_concurrency_and_invokes_through_the_alias(tmp_path: Path) -> None:
    from tools.tf import terraform_binary, terraform_env

    server = Emulator.private()
    try:
        (tmp_path / "main.tf").write_text(TERRAFORM_PROVISIONED)
        (tmp_path / "code.zip").write_bytes(zipped({"app.py": PROBE}))
        env = terraform_env()
        variables = ["-var", f"endpoint={server.endpoint}"]

        def terraform(*args: str) -> str:
            command = [terraform_binary(), *args]
            done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            return done.stdout

        terraform("init", "-input=false")
        terraform("apply", "-auto-approve", "-input=false", *variables)
        result = json.loads(json.loads(terraform("output", "-json"))["result"]["value"])
        assert result["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
        assert result["invoked_arn"].endswith(":function:tf-provisioned:live")
        workers = Lambdas(server).workers("tf-provisioned")
        assert len(workers) == 2 and all(w["provisioned"] and w["version"] == "1" for w in workers)
        terraform("destroy", "-auto-approve", "-input=false", *variables)
        assert wait_for(lambda: all(not alive(w["pid"]) for w in workers))
    finally:
        server.stop()


def test_awss_parameters_and_secrets_layer_is_accepted_and_serves_the_extensions_api(lambdas: Lambdas) -> None:
    secret = aws_client(lambdas.emulator.endpoint, "secretsmanager").create_secret(
        Name=f"app-{uuid.uuid4().hex[:6]}", SecretString='{"username": "trades_api"}'
    )
    name = lambdas.deploy(Layers=[PARAMETERS_SECRETS_LAYER])
    layers = lambdas.client.get_function(FunctionName=name)["Configuration"]["Layers"]
    assert [layer["Arn"] for layer in layers] == [PARAMETERS_SECRETS_LAYER]
    _, answer = lambdas.invoke(name, {"action": "secret", "arn": secret["ARN"]})
    assert answer["secret"] == '{"username": "trades_api"}'
    assert answer["port"] != 2773  # a free port of this environment's own extension
    lambdas.client.delete_function(FunctionName=name)

    def closed() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", answer["port"])) != 0

    assert wait_for(closed), "the extension stopped with its execution environment"
    with pytest.raises(ClientError):
        lambdas.deploy(Layers=["arn:aws:lambda:us-east-1:999999999999:layer:SomethingElse:1"])


# --- the real shared ZIP -------------------------------------------------------------------------------------------


def test_the_shared_zip_runs_and_a_missing_setting_is_a_config_error_at_init(
    lambdas: Lambdas, lambda_zip: Path
) -> None:
    name = f"api-{uuid.uuid4().hex[:8]}"
    lambdas.client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambdas.role,
        Handler="handlers.api.handler",
        Code={"ZipFile": lambda_zip.read_bytes()},
        MemorySize=512,
        Timeout=30,
    )
    response, error = lambdas.invoke(name, {"httpMethod": "GET", "path": "/health"})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ConfigError" and "DB_SECRET_ARN" in error["errorMessage"]


# --- process hygiene -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["SIGKILL", "SIGTERM", "reset"])
def test_a_stopped_or_killed_emulator_leaves_no_worker_and_no_run_directory(ending: str) -> None:
    server = Emulator.private()
    try:
        lambdas = Lambdas(server)
        pids = {lambdas.invoke(lambdas.deploy())[1]["pid"] for _ in range(2)}
        pids |= {w["pid"] for w in lambdas.workers()}
        server_pid = server.pid()
        assert server_pid is not None and pids and all(alive(pid) for pid in pids)
        run_dirs = list(server.state_dir.glob(f"run-{server_pid}"))
        assert run_dirs
        if ending == "reset":  # moto's state goes, and with it every worker; the emulator runs on
            server.reset()
            assert wait_for(lambda: all(not alive(pid) for pid in pids)), "workers outlived moto's state"
            assert alive(server_pid) and Lambdas(server).workers() == []
            return
        if ending == "SIGKILL":
            os.kill(server_pid, signal.SIGKILL)
        else:
            assert server.stop()  # what make emulator-stop does: SIGTERM, then wait
        assert wait_for(lambda: all(not alive(pid) for pid in pids)), "workers outlived the emulator"
        assert wait_for(lambda: not run_dirs[0].exists()), "the run directory was left behind"
    finally:
        server.stop()
