"""What the emulator's Lambda runtime relies on in moto 5.2.5: each test fails loudly when an upgrade changes it.

local_cloud/lambda_runtime.py replaces ``LambdaFunction.invoke`` / ``_invoke_lambda`` and wraps
``LambdaBackend.invoke``, ``LambdaBackend.delete_function`` and ``LambdaResponse.invoke``; lambda_pool.py reads a
function's attributes and its code bytes; lambda_api.py adds URL patterns and methods to moto's Lambda responses and
wraps ``layers_versions_by_arn``; lambda_logs.py writes into the logs and cloudwatch backends.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.awslambda import models as lambda_models
from moto.awslambda import responses as lambda_responses
from moto.awslambda import urls as lambda_urls
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.cloudwatch.models import cloudwatch_backends
from moto.logs.models import logs_backends

from local_cloud import lambda_api, lambda_logs
from local_cloud.lambda_config import FunctionConfig, TooManyRequestsException
from tests.support.moto import fresh_aws

ACCOUNT, REGION = "123456789012", "us-east-1"
CODE = "def handler(event, context):\n    return event\n"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", CODE)
    return buffer.getvalue()


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture()
def aws() -> Iterator[dict[str, Any]]:
    with fresh_aws():
        role = _client("iam").create_role(RoleName=f"r-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}")
        yield {"lambda": _client("lambda"), "s3": _client("s3"), "role": role["Role"]["Arn"]}


def _function(aws: dict[str, Any], **settings: Any) -> str:
    name = f"fn-{uuid.uuid4().hex[:8]}"
    code = settings.pop("Code", {"ZipFile": _zip()})
    aws["lambda"].create_function(
        FunctionName=name, Runtime="python3.12", Role=aws["role"], Handler="app.handler", Code=code, **settings
    )
    return name


def _backend() -> LambdaBackend:
    return lambda_models.lambda_backends[ACCOUNT][REGION]


# --- the invocation path -------------------------------------------------------------------------------------------


def test_the_signatures_the_hooks_replace() -> None:
    assert list(inspect.signature(LambdaFunction._invoke_lambda).parameters) == ["self", "event"]
    assert list(inspect.signature(LambdaFunction.invoke).parameters) == [
        "self",
        "body",
        "request_headers",
        "response_headers",
    ]
    assert list(inspect.signature(LambdaBackend.invoke).parameters) == [
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ]
    assert list(inspect.signature(LambdaBackend.delete_function).parameters) == ["self", "function_name", "qualifier"]
    assert list(inspect.signature(LambdaBackend.layers_versions_by_arn).parameters) == ["self", "layer_version_arn"]


def test_every_invoke_path_goes_through_function_invoke_and_invoke_lambda(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []

    def fake(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        calls.append((self.function_name, event))
        return json.dumps({"ran": self.function_name}), True, "log line"

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", fake)
    name = _function(aws)
    response = aws["lambda"].invoke(FunctionName=name, Payload=json.dumps({"a": 1}), LogType="Tail")
    assert json.loads(response["Payload"].read()) == {"ran": name}
    # moto's own invoke says "Handled" for every error: the runtime's invoke replaces it to say "Unhandled".
    assert response["FunctionError"] == "Handled"
    assert base64.b64decode(response["LogResult"]) == b"log line"
    event = aws["lambda"].invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202
    # The backend's invoke (execute-api's way in) resolves the function and calls LambdaFunction.invoke.
    headers: dict[str, str] = {}
    _backend().invoke(name, None, json.dumps({"b": 2}), {}, headers)
    assert calls == [(name, {"a": 1}), (name, {}), (name, {"b": 2})]


def test_moto_reads_the_invoke_qualifier_from_the_wrong_key(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upstream bug lambda_runtime's LambdaResponse.invoke wrapper fixes; drop the fix when this fails."""
    seen: list[str] = []

    def record(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        seen.append(str(self.version))
        return "{}", False, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", record)
    name = _function(aws)
    version = aws["lambda"].publish_version(FunctionName=name)["Version"]
    aws["lambda"].invoke(FunctionName=name, Qualifier=version, Payload=b"{}")
    aws["lambda"].invoke(FunctionName=name, Payload=json.dumps({"qualifier": version}))
    assert seen == ["$LATEST", version]
    source = inspect.getsource(lambda_responses.LambdaResponse.invoke)
    assert 'self._get_param("qualifier")' in source
    assert "self.backend.invoke(" in source


def test_code_bytes_are_the_zip_whether_inline_or_from_s3(aws: dict[str, Any]) -> None:
    code = _zip()
    inline = _function(aws)
    aws["s3"].create_bucket(Bucket=f"code-{uuid.uuid4().hex[:8]}")
    bucket = aws["s3"].list_buckets()["Buckets"][-1]["Name"]
    aws["s3"].put_object(Bucket=bucket, Key="lambda.zip", Body=code)
    from_s3 = _function(aws, Code={"S3Bucket": bucket, "S3Key": "lambda.zip"})
    for name in (inline, from_s3):
        fn = _backend().get_function(name)
        assert fn.code_bytes == code
        assert fn.code_sha_256 == base64.b64encode(hashlib.sha256(code).digest()).decode()


def test_the_function_attributes_a_worker_is_configured_from(aws: dict[str, Any]) -> None:
    name = _function(
        aws, MemorySize=512, Timeout=30, Environment={"Variables": {"A": "1"}}, EphemeralStorage={"Size": 1024}
    )
    aws["lambda"].put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    version = aws["lambda"].publish_version(FunctionName=name)["Version"]
    aws["lambda"].update_function_configuration(FunctionName=name, Environment={"Variables": {"A": "2"}})
    aws["lambda"].create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    latest, pinned = _backend().get_function(name), _backend().get_function(name, "live")
    assert (latest.version, pinned.version) == ("$LATEST", int(version))
    assert FunctionConfig.of(latest).env == (("A", "2"),)
    config = FunctionConfig.of(pinned)
    assert config == FunctionConfig(
        account_id=ACCOUNT,
        region=REGION,
        name=name,
        version=version,
        runtime="python3.12",
        package_type="Zip",
        handler="app.handler",
        memory_mb=512,
        timeout_s=30.0,
        tmp_mb=1024,
        env=(("A", "1"),),
        code_sha=latest.code_sha_256,
        layers=(),
        log_group=f"/aws/lambda/{name}",
    )
    assert latest.reserved_concurrency == 5  # kept on $LATEST only: the runtime reads it there
    assert pinned.function_arn.endswith(f":function:{name}:{version}")


def test_delete_function_takes_a_name_and_an_optional_qualifier(aws: dict[str, Any]) -> None:
    name = _function(aws)
    _backend().delete_function(name, None)
    with pytest.raises(Exception, match="Function not found"):
        _backend().get_function(name)


# --- what lambda_api adds -------------------------------------------------------------------------------------------


class _StubRuntime:
    """Records what the provisioned-concurrency API asks of the runtime."""

    def __init__(self) -> None:
        self.configs: dict[str, Any] = {}

    def provision(self, fn: Any, qualifier: str, requested: int) -> Any:
        config = _StubConfig(requested, str(fn.version))
        self.configs[qualifier] = config
        return config

    def provisioned_config(self, account_id: str, region: str, name: str, qualifier: str) -> Any:
        return self.configs.get(qualifier)

    def provisioned_configs(self, account_id: str, region: str, name: str) -> dict[str, Any]:
        return dict(self.configs)

    def deprovision(self, account_id: str, region: str, name: str, qualifier: str) -> bool:
        return self.configs.pop(qualifier, None) is not None


class _StubConfig:
    def __init__(self, requested: int, version: str) -> None:
        self.requested, self.version, self.status, self.reason = requested, version, "READY", None
        self.last_modified = "2026-01-01T00:00:00.000+0000"

    def allocated(self) -> int:
        return self.requested


@pytest.fixture()
def api_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[_StubRuntime]:
    # Undone after the test: other tests' moto must stay stock.
    monkeypatch.setattr(lambda_urls, "url_paths", dict(lambda_urls.url_paths))
    monkeypatch.setattr(LambdaBackend, "layers_versions_by_arn", LambdaBackend.layers_versions_by_arn)
    for name in lambda_api._RESPONSE_METHODS:
        monkeypatch.setattr(LambdaResponse, name, None, raising=False)
    monkeypatch.setattr(lambda_api, "_runtime", None)
    stub = _StubRuntime()
    lambda_api.install(stub)  # type: ignore[arg-type]
    yield stub


def test_moto_dispatches_the_added_provisioned_concurrency_routes(api_installed: _StubRuntime) -> None:
    with fresh_aws():
        role = _client("iam").create_role(RoleName=f"r-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}")
        aws = {"lambda": _client("lambda"), "role": role["Role"]["Arn"]}
        name = _function(aws)
        client = aws["lambda"]
        version = client.publish_version(FunctionName=name)["Version"]
        client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
        put = client.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=3
        )
        assert put["RequestedProvisionedConcurrentExecutions"] == 3 and put["Status"] == "READY"
        assert api_installed.configs["live"].version == version  # the alias resolved to its version
        got = client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
        assert got["AllocatedProvisionedConcurrentExecutions"] == 3
        listed = client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
        assert [c["FunctionArn"] for c in listed] == [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}:live"]
        with pytest.raises(client.exceptions.InvalidParameterValueException, match="unpublished"):
            client.put_provisioned_concurrency_config(
                FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
            )
        client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
        with pytest.raises(client.exceptions.ProvisionedConcurrencyConfigNotFoundException):
            client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")


def test_create_function_reads_a_layer_version_through_layers_versions_by_arn(api_installed: _StubRuntime) -> None:
    published = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12"
    with fresh_aws():
        role = _client("iam").create_role(RoleName=f"r-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}")
        aws = {"lambda": _client("lambda"), "role": role["Role"]["Arn"]}
        name = _function(aws, Layers=[published])
        layers = aws["lambda"].get_function(FunctionName=name)["Configuration"]["Layers"]
        assert layers == [{"Arn": published, "CodeSize": 0}]
        with pytest.raises(Exception, match="LayerVersion does not exist"):
            _function(aws, Layers=["arn:aws:lambda:us-east-1:999999999999:layer:Other:1"])


def test_moto_rejects_the_published_layer_without_the_hook(aws: dict[str, Any]) -> None:
    with pytest.raises(Exception, match="LayerVersion does not exist"):
        layer = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12"
        _function(aws, Layers=[layer])


def test_a_throttle_is_a_429_rest_error() -> None:
    error = TooManyRequestsException()
    assert error.code == 429 and json.loads(error.description)["__type"] == "TooManyRequestsException"


# --- logs and metrics backends -------------------------------------------------------------------------------------


def test_the_logs_backend_methods_the_runtime_writes_with() -> None:
    with fresh_aws():
        backend = logs_backends[ACCOUNT][REGION]
        group, stream = f"/aws/lambda/fn-{uuid.uuid4().hex[:8]}", lambda_logs.stream_name("$LATEST")
        backend.ensure_log_group(group)
        backend.ensure_log_stream(group, stream)
        backend.put_log_events(group, stream, [{"timestamp": lambda_logs.now_ms(), "message": "hello"}])
        assert group in backend.groups
        events = _client("logs").get_log_events(logGroupName=group, logStreamName=stream)["events"]
        assert [e["message"] for e in events] == ["hello"]


def test_the_cloudwatch_backend_takes_metric_data_with_naive_utc_timestamps() -> None:
    namespace = f"ns-{uuid.uuid4().hex[:8]}"
    with fresh_aws():
        now = datetime.now(UTC).replace(tzinfo=None)
        cloudwatch_backends[ACCOUNT][REGION].put_metric_data(
            namespace,
            [
                {
                    "MetricName": "TradesCreated",
                    "Values": [1.0, 2.0],
                    "Unit": "Count",
                    "Timestamp": now,
                    "Dimensions": [{"Name": "service", "Value": "trades-api"}],
                }
            ],
        )
        stats = _client("cloudwatch").get_metric_statistics(
            Namespace=namespace,
            MetricName="TradesCreated",
            Dimensions=[{"Name": "service", "Value": "trades-api"}],
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5),
            Period=60,
            Statistics=["Sum"],
        )
        assert sum(point["Sum"] for point in stats["Datapoints"]) == 3.0
