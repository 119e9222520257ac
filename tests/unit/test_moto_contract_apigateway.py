"""What local_cloud/apigateway*.py reads from moto (5.2.5), checked directly: these fail loudly when a moto upgrade
moves one of them, before the emulator misroutes or misreads a request.

One test per thing read: the API model (resources, methods, integrations, validators), deployments and the hook
point that snapshots them, stages and their method settings, custom domains and base path mappings, the account's
throttle settings and API keys, Lambda's invoke entry point and resource policy storage, IAM/STS keys, and the
dispatcher that must not see execute-api requests.
"""

from __future__ import annotations

import inspect
import json
import time
import weakref
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.apigateway import models as apigw
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.iam.models import iam_backends
from moto.moto_server import werkzeug_app
from moto.sts.models import sts_backends

from tests.support.apigateway_world import lambda_zip
from tests.support.moto import fresh_aws

REGION = "us-east-1"
ACCOUNT = "123456789012"
KEYS = {"region_name": REGION, "aws_access_key_id": "test", "aws_secret_access_key": "test"}


@pytest.fixture()
def aws() -> Iterator[dict[str, Any]]:
    with fresh_aws():
        clients = {s: boto3.client(s, **KEYS) for s in ("apigateway", "lambda", "iam", "sts")}
        yield clients


def _api(aws: dict[str, Any]) -> tuple[str, str, str]:
    """An API with /trades/{id} GET (AWS_IAM, required path parameter, validator, integration timeout)."""
    apigateway = aws["apigateway"]
    api_id = apigateway.create_rest_api(name="contract")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    trades = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="trades")["id"]
    by_id = apigateway.create_resource(restApiId=api_id, parentId=trades, pathPart="{id}")["id"]
    validator = apigateway.create_request_validator(
        restApiId=api_id, name="v", validateRequestBody=True, validateRequestParameters=True
    )["id"]
    apigateway.put_method(
        restApiId=api_id,
        resourceId=by_id,
        httpMethod="GET",
        authorizationType="AWS_IAM",
        requestParameters={"method.request.path.id": True},
        requestValidatorId=validator,
    )
    apigateway.put_integration(
        restApiId=api_id,
        resourceId=by_id,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri="arn:aws:apigateway:us-east-1:lambda:path/x",
        timeoutInMillis=1234,
    )
    return api_id, by_id, validator


def _backend() -> Any:
    return apigw.apigateway_backends[ACCOUNT][REGION]


def test_the_api_model_holds_resources_methods_integrations_and_validators(aws: dict[str, Any]) -> None:
    api_id, by_id, validator = _api(aws)
    api = _backend().apis[api_id]
    assert api.id == api_id
    # moto ignores binaryMediaTypes on CreateRestApi and stores a patch's value (docs/emulator.md: binary media
    # types deployed by Terraform do not reach the emulator, which then treats every body as text).
    assert api.binaryMediaTypes == []
    aws["apigateway"].update_rest_api(
        restApiId=api_id, patchOperations=[{"op": "add", "path": "/binaryMediaTypes/image~1png", "value": "image/png"}]
    )
    assert api.binaryMediaTypes == ["image/png"]
    assert api.disableExecuteApiEndpoint is False
    resource = api.resources[by_id]
    assert (resource.id, resource.get_path(), resource.path_part) == (by_id, "/trades/{id}", "{id}")
    method = resource.resource_methods["GET"]
    assert method.authorization_type == "AWS_IAM"
    assert method.api_key_required is False
    assert method.request_parameters == {"method.request.path.id": True}
    assert method.request_validator_id == validator
    integration = method.method_integration
    assert (integration.integration_type, integration.uri) == (
        "AWS_PROXY",
        "arn:aws:apigateway:us-east-1:lambda:path/x",
    )
    assert int(integration.timeout_in_millis) == 1234
    assert api.request_validators[validator].validate_request_parameters is True


def test_a_deployment_is_created_by_rest_api_create_deployment_and_can_be_held_weakly(aws: dict[str, Any]) -> None:
    # The snapshot hook wraps RestAPI.create_deployment(name, description, stage_variables) and keys the snapshot
    # by the Deployment object in a WeakKeyDictionary.
    assert list(inspect.signature(apigw.RestAPI.create_deployment).parameters) == [
        "self",
        "name",
        "description",
        "stage_variables",
    ]
    seen: list[Any] = []
    original = apigw.RestAPI.create_deployment

    def spy(self: Any, name: str, description: str, stage_variables: Any = None) -> Any:
        seen.append(original(self, name, description, stage_variables))
        return seen[-1]

    api_id, _, _ = _api(aws)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(apigw.RestAPI, "create_deployment", spy)
        deployment_id = aws["apigateway"].create_deployment(restApiId=api_id, stageName="dev")["id"]
    assert [d.id for d in seen] == [deployment_id]
    api = _backend().apis[api_id]
    assert api.deployments[deployment_id] is seen[0]
    assert weakref.ref(seen[0])() is seen[0], "weak-referenceable"
    assert {seen[0]: 1}[seen[0]] == 1, "hashable by identity"


def test_a_stage_names_its_deployment_variables_and_method_settings(aws: dict[str, Any]) -> None:
    api_id, _, _ = _api(aws)
    apigateway = aws["apigateway"]
    deployment = apigateway.create_deployment(restApiId=api_id)["id"]
    apigateway.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployment, variables={"a": "b"})
    # What the provider sends for aws_api_gateway_method_settings with method_path "*/*".
    apigateway.update_stage(
        restApiId=api_id,
        stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "50"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "100"},
            {"op": "replace", "path": "/~1trades~1{id}/GET/throttling/burstLimit", "value": "7"},
        ],
    )
    stage = _backend().apis[api_id].stages["dev"]
    assert (stage.name, stage.deployment_id, stage.variables) == ("dev", deployment, {"a": "b"})
    assert stage.method_settings["*/*"]["throttlingRateLimit"] == 50.0
    assert stage.method_settings["*/*"]["throttlingBurstLimit"] == 100
    assert stage.method_settings["~1trades~1{id}/GET"]["throttlingBurstLimit"] == 7
    other = apigateway.create_deployment(restApiId=api_id)["id"]
    apigateway.update_stage(
        restApiId=api_id, stageName="dev", patchOperations=[{"op": "replace", "path": "/deploymentId", "value": other}]
    )
    assert stage.deployment_id == other


def test_custom_domains_and_base_path_mappings(aws: dict[str, Any]) -> None:
    api_id, _, _ = _api(aws)
    apigateway = aws["apigateway"]
    apigateway.create_deployment(restApiId=api_id, stageName="dev")
    for domain, base_path in (("api.example.com", None), ("v.example.com", "v1")):
        apigateway.create_domain_name(domainName=domain, regionalCertificateArn="arn:aws:acm:us-east-1:1:c/x")
        apigateway.create_base_path_mapping(
            domainName=domain, restApiId=api_id, stage="dev", **({"basePath": base_path} if base_path else {})
        )
    backend = _backend()
    assert "api.example.com" in backend.domain_names
    empty = backend.base_path_mappings["api.example.com"]["(none)"]
    assert (empty.rest_api_id, empty.stage) == (api_id, "dev")
    assert backend.base_path_mappings["v.example.com"]["v1"].rest_api_id == api_id


def test_backends_are_iterated_by_account_and_region(aws: dict[str, Any]) -> None:
    _api(aws)
    assert (ACCOUNT, REGION) in {(a, r) for a, r, _ in apigw.apigateway_backends.iter_backends()}


def test_account_throttle_settings_and_api_keys(aws: dict[str, Any]) -> None:
    backend = _backend()
    assert backend.account.throttle_settings == {"burstLimit": 5000, "rateLimit": 10000.0}
    key = aws["apigateway"].create_api_key(name="k", value="a" * 20, enabled=True)
    stored = backend.keys[key["id"]]
    assert (stored.value, stored.enabled) == ("a" * 20, True)


def test_moto_serves_no_execute_api_and_its_dispatcher_sends_execute_api_signatures_to_iot() -> None:
    # Why the front exists and must come first (local_cloud/front.py).
    assert werkzeug_app.SIGNING_ALIASES["execute-api"] == "iot"
    dispatcher = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
    environ = {
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/execute-api/aws4_request, "
        "SignedHeaders=host, Signature=0",
        "PATH_INFO": "/dev/trades",
    }
    assert dispatcher.infer_service_region_host(environ, "/dev/trades") == "iot.us-east-1.amazonaws.com"


def test_the_werkzeug_server_keeps_the_raw_request_target() -> None:
    # SigV4 is verified over the path as sent (percent-encoded); PATH_INFO is decoded.
    source = inspect.getsource(werkzeug_app.MotoRequestHandler.__mro__[1].make_environ)
    assert '"REQUEST_URI": _wsgi_encoding_dance(self.path)' in source


def test_lambda_invoke_takes_a_qualifier_and_flags_function_errors(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # LambdaBackend.invoke's signature is pinned once, in test_moto_contract_lambda.py.
    role = aws["iam"].create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = aws["lambda"].create_function(
        FunctionName="fn", Runtime="python3.12", Role=role, Handler="h.h", Code={"ZipFile": lambda_zip()}
    )["FunctionArn"]
    version = aws["lambda"].publish_version(FunctionName="fn")["Version"]
    aws["lambda"].create_alias(FunctionName="fn", Name="live", FunctionVersion=version)
    calls: list[tuple[str, Any]] = []

    def invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
        calls.append((str(fn.version), event))
        return '{"errorMessage": "x"}', True, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", invoke_lambda)
    response_headers: dict[str, Any] = {}
    payload = lambda_backends[ACCOUNT][REGION].invoke(arn, "live", json.dumps({"a": 1}), {}, response_headers)
    assert calls == [(version, {"a": 1})], "the alias's version runs, with the event decoded"
    assert json.loads(payload) == {"errorMessage": "x"}
    assert "x-amz-function-error" in {k.lower() for k in response_headers}


def test_lambda_keeps_the_resource_policy_as_statements(aws: dict[str, Any]) -> None:
    role = aws["iam"].create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = aws["lambda"].create_function(
        FunctionName="fn", Runtime="python3.12", Role=role, Handler="h.h", Code={"ZipFile": lambda_zip()}
    )["FunctionArn"]
    version = aws["lambda"].publish_version(FunctionName="fn")["Version"]
    aws["lambda"].create_alias(FunctionName="fn", Name="live", FunctionVersion=version)
    source = "arn:aws:execute-api:us-east-1:123456789012:abc/*/*"
    for qualifier in (None, "live"):
        aws["lambda"].add_permission(
            FunctionName="fn",
            StatementId=f"s-{qualifier}",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=source,
            **({"Qualifier": qualifier} if qualifier else {}),
        )
    backend = lambda_backends[ACCOUNT][REGION]
    statements = backend.get_function("fn").policy.statements
    assert statements[0] == {
        "Action": "lambda:InvokeFunction",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Effect": "Allow",
        "Resource": arn,
        "Sid": "s-None",
        "Condition": {"ArnLike": {"AWS:SourceArn": source}},
    }
    # A qualified permission names the alias in its Resource; the published version shares the function's policy
    # object, so local_cloud.apigateway_lambda filters statements by Resource.
    qualified = backend.get_function("fn", "live").policy.statements
    assert {s["Resource"] for s in [*statements, *qualified]} == {arn, f"{arn}:live"}


def test_iam_and_sts_keep_the_keys_the_emulator_verifies(aws: dict[str, Any]) -> None:
    aws["iam"].create_user(UserName="u")
    key = aws["iam"].create_access_key(UserName="u")["AccessKey"]
    stored = iam_backends[ACCOUNT]["aws"].access_keys[key["AccessKeyId"]]
    assert (stored.secret_access_key, stored.status, stored.user_name) == (key["SecretAccessKey"], "Active", "u")
    role = aws["iam"].create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    issued = aws["sts"].assume_role(RoleArn=role, RoleSessionName="session")["Credentials"]
    temporary = iam_backends[ACCOUNT]["aws"].access_keys[issued["AccessKeyId"]]
    assert (temporary.secret_access_key, temporary.user_name) == (issued["SecretAccessKey"], None)
    sts = sts_backends[ACCOUNT]["aws"]
    assert sts.get_assumed_role_from_access_key(issued["AccessKeyId"]).session_token == issued["SessionToken"]
    _user_id, arn, account = sts.get_caller_identity(key["AccessKeyId"], REGION)
    assert (arn, account) == (f"arn:aws:iam::{ACCOUNT}:user/u", ACCOUNT)
    assert list(iam_backends.iter_backends())


def test_a_stage_keeps_access_log_settings_and_the_metrics_switch(aws: dict[str, Any]) -> None:
    api_id, _, _ = _api(aws)
    apigateway = aws["apigateway"]
    apigateway.create_deployment(restApiId=api_id, stageName="dev")
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/x"
    # What the provider sends for access_log_settings and for metrics_enabled in aws_api_gateway_method_settings.
    apigateway.update_stage(
        restApiId=api_id,
        stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
            {"op": "replace", "path": "/accessLogSettings/format", "value": '{"id":"$context.requestId"}'},
            {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
        ],
    )
    stage = _backend().apis[api_id].stages["dev"]
    assert stage.access_log_settings == {"destinationArn": arn, "format": '{"id":"$context.requestId"}'}
    assert stage.method_settings["*/*"]["metricsEnabled"] is True


def test_cloudwatch_and_logs_take_what_execute_api_records(aws: dict[str, Any]) -> None:
    from datetime import datetime

    from moto.cloudwatch.models import cloudwatch_backends
    from moto.logs.models import logs_backends

    assert list(inspect.signature(cloudwatch_backends[ACCOUNT][REGION].put_metric_data).parameters) == [
        "namespace",
        "metric_data",
    ]
    cloudwatch_backends[ACCOUNT][REGION].put_metric_data(
        "AWS/ApiGateway",
        [
            {
                "MetricName": "Count",
                "Value": 1.0,
                "Unit": "Count",
                "Timestamp": datetime.utcnow(),
                "Dimensions": [{"Name": "ApiName", "Value": "a"}],
            }
        ],
    )
    assert boto3.client("cloudwatch", **KEYS).list_metrics(Namespace="AWS/ApiGateway")["Metrics"]
    logs = logs_backends[ACCOUNT][REGION]
    logs.ensure_log_group("/aws/apigateway/x")
    logs.ensure_log_stream("/aws/apigateway/x", "api_dev")
    logs.put_log_events("/aws/apigateway/x", "api_dev", [{"timestamp": int(time.time() * 1000), "message": "line"}])
    events = boto3.client("logs", **KEYS).filter_log_events(logGroupName="/aws/apigateway/x")["events"]
    assert [e["message"] for e in events] == ["line"]
