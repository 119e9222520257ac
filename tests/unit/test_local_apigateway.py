"""execute-api in the emulator (local_cloud/apigateway*.py): routing, deployments, the proxy event, response mapping,
permissions, timeouts and throttling, against moto's own API Gateway and Lambda backends (in process).

Signing and refusals have their own module (test_local_apigateway_auth.py); the real server, socket and awscurl are
in test_local_apigateway_server.py.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_cloud.apigateway_routing import DEFAULT_TIMEOUT_MS, deployment_spec
from tests.support.apigateway_world import (
    ACCOUNT,
    DOMAIN,
    REGION,
    STAGE,
    VERSIONED_DOMAIN,
    World,
    add_route,
    event_of,
    invoke_uri,
    json_of,
    world,  # noqa: F401  (the fixture)
)

MISSING_TOKEN = b'{"message":"Missing Authentication Token"}'
FORBIDDEN = b'{"message":"Forbidden"}'
BAD_GATEWAY = b'{"message": "Internal server error"}'


# --------------------------------------------------------------------------------------------------------------------
# Ways in and routing
# --------------------------------------------------------------------------------------------------------------------


def test_the_three_ways_in_reach_the_same_method_and_report_their_own_paths(world: World) -> None:
    by_user_request = event_of(world.get("/health"))
    by_host = event_of(world.client.get(f"/{STAGE}/health", headers={"Host": world.execute_api_host}))
    by_domain = event_of(world.client.get("/health", headers={"Host": DOMAIN}))
    by_base_path = event_of(world.client.get("/v1/health", headers={"Host": VERSIONED_DOMAIN}))
    for event in (by_user_request, by_host, by_domain, by_base_path):
        assert event["resource"] == "/health"
        assert event["requestContext"]["resourceId"] == world.resources["/health"]
        assert event["requestContext"]["stage"] == STAGE
    execute_api = f"{world.api_id}.execute-api.{REGION}.amazonaws.com"
    assert (by_user_request["path"], by_user_request["requestContext"]["path"]) == ("/health", "/dev/health")
    assert by_user_request["requestContext"]["domainName"] == execute_api
    assert (by_host["path"], by_host["requestContext"]["path"]) == ("/health", "/dev/health")
    assert by_host["requestContext"]["domainName"] == execute_api
    assert (by_domain["path"], by_domain["requestContext"]["path"]) == ("/health", "/health")
    assert by_domain["requestContext"]["domainName"] == DOMAIN
    # A custom domain's base path stays in the event's path (handlers strip it: API_BASE_PATH).
    assert (by_base_path["path"], by_base_path["requestContext"]["path"]) == ("/v1/health", "/v1/health")
    assert by_base_path["requestContext"]["domainPrefix"] == "api"


def test_literal_beats_parameter_beats_greedy_and_any_takes_every_method(world: World) -> None:
    assert event_of(world.get("/trades/latest"))["resource"] == "/trades/latest"
    assert world.get("/trades/41").status_code == 403, "GET /trades/{id} is AWS_IAM: unsigned means no token"
    proxied = event_of(world.client.delete(world.user_request_url("/files/a/b%20c/d.txt")))
    assert proxied["resource"] == "/files/{proxy+}"
    assert proxied["httpMethod"] == "DELETE"
    assert proxied["pathParameters"] == {"proxy": "a/b c/d.txt"}
    # A trailing slash is the same resource, and the event keeps the path as sent.
    slashed = event_of(world.get("/health/"))
    assert (slashed["resource"], slashed["path"]) == ("/health", "/health/")


@pytest.mark.parametrize("path", ["/nothing", "/trades/1/2", "/files", "/"])
def test_an_unknown_route_is_missing_authentication_token(world: World, path: str) -> None:
    response = world.get(path)
    assert (response.status_code, response.get_data()) == (403, MISSING_TOKEN)
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_a_known_resource_without_the_method_is_missing_authentication_token(world: World) -> None:
    response = world.client.put(world.user_request_url("/health"))
    assert (response.status_code, response.get_data()) == (403, MISSING_TOKEN)


def test_unknown_stage_api_or_base_path_is_forbidden(world: World) -> None:
    assert world.client.get(world.user_request_url("/health", stage="prod")).get_data() == FORBIDDEN
    assert world.client.get("/restapis/nosuchapi/dev/_user_request_/health").get_data() == FORBIDDEN
    assert world.client.get("/", headers={"Host": world.execute_api_host}).get_data() == FORBIDDEN
    assert world.client.get("/v2/health", headers={"Host": VERSIONED_DOMAIN}).get_data() == FORBIDDEN


def test_everything_else_still_reaches_moto(world: World) -> None:
    # moto's own control plane, on the same port: /restapis/{id} without _user_request_.
    response = world.client.get(
        f"/restapis/{world.api_id}",
        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/apigateway/aws4_request"},
    )
    assert json_of(response)["id"] == world.api_id


def test_a_disabled_execute_api_endpoint_answers_only_through_the_custom_domain(world: World) -> None:
    world.boto("apigateway").update_rest_api(
        restApiId=world.api_id,
        patchOperations=[{"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "true"}],
    )
    assert world.client.get(f"/{STAGE}/health", headers={"Host": world.execute_api_host}).get_data() == FORBIDDEN
    assert world.client.get("/health", headers={"Host": DOMAIN}).status_code == 200


# --------------------------------------------------------------------------------------------------------------------
# Stages serve their deployment
# --------------------------------------------------------------------------------------------------------------------


def test_a_stage_serves_its_deployment_not_the_api_as_edited_since(world: World) -> None:
    apigateway = world.boto("apigateway")
    added = apigateway.create_resource(restApiId=world.api_id, parentId=world.resources["/"], pathPart="added")["id"]
    add_route(apigateway, world.api_id, added, "GET", invoke_uri(world.function_arn))
    # moto has no UpdateMethod: a method put again replaces it.
    add_route(
        apigateway,
        world.api_id,
        world.resources["/health"],
        "GET",
        invoke_uri(world.function_arn),
        authorization="AWS_IAM",
    )
    assert world.get("/added").get_data() == MISSING_TOKEN, "not deployed yet"
    assert world.get("/health").status_code == 200, "the deployed /health is still open"
    world.deploy()
    assert world.get("/added").status_code == 200
    assert world.get("/health").get_data() == MISSING_TOKEN, "now /health requires a signature"


def test_the_integration_timeout_defaults_to_29_seconds(world: World) -> None:
    api = _moto_api(world)
    spec = deployment_spec(api, api.stages[STAGE].deployment_id)
    assert spec is not None
    assert {m.integration.timeout_ms for r in spec.resources for m in r.methods.values() if m.integration} == {
        DEFAULT_TIMEOUT_MS
    }
    assert DEFAULT_TIMEOUT_MS == 29_000


def _moto_api(world: World) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[ACCOUNT][REGION].apis[world.api_id]


# --------------------------------------------------------------------------------------------------------------------
# The proxy event
# --------------------------------------------------------------------------------------------------------------------


def test_the_event_is_the_rest_proxy_event_with_a_full_request_context(world: World) -> None:
    before = int(time.time() * 1000)
    response = world.client.get(
        world.user_request_url("/trades/latest?symbol=AAPL&side=BUY&side=SELL&empty="),
        headers={"User-Agent": "unit/1.0", "X-Custom": "a"},
    )
    event = event_of(response)
    assert set(event) == {
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    }
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"symbol": "AAPL", "side": "SELL", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"symbol": ["AAPL"], "side": ["BUY", "SELL"], "empty": [""]}
    assert event["pathParameters"] is None and event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["headers"]["X-Custom"] == "a" and event["multiValueHeaders"]["X-Custom"] == ["a"]
    assert event["headers"]["X-Forwarded-Proto"] == "https" and event["headers"]["X-Forwarded-Port"] == "443"
    context = event["requestContext"]
    assert context["apiId"] == world.api_id and context["accountId"] == ACCOUNT
    assert context["resourcePath"] == "/trades/latest" and context["httpMethod"] == "GET"
    assert context["protocol"] == "HTTP/1.1"
    assert before <= context["requestTimeEpoch"] <= int(time.time() * 1000)
    assert (
        time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(context["requestTimeEpoch"] // 1000))
        == context["requestTime"]
    )
    assert context["identity"]["userAgent"] == "unit/1.0"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert all(context["identity"][k] is None for k in ("caller", "user", "userArn", "accessKey", "accountId"))
    # The ids in the event are the ones in the response headers API Gateway adds.
    assert response.headers["x-amzn-RequestId"] == context["requestId"]
    assert response.headers["x-amz-apigw-id"] == context["extendedRequestId"]
    assert response.headers["X-Amzn-Trace-Id"] == event["headers"]["X-Amzn-Trace-Id"]
    assert response.headers["X-Amzn-Trace-Id"].startswith("Root=1-")


def test_stage_variables_and_binary_bodies_reach_the_event(world: World) -> None:
    apigateway = world.boto("apigateway")
    apigateway.update_stage(
        restApiId=world.api_id,
        stageName=STAGE,
        patchOperations=[{"op": "replace", "path": "/variables/colour", "value": "blue"}],
    )
    apigateway.update_rest_api(
        restApiId=world.api_id,
        patchOperations=[{"op": "add", "path": "/binaryMediaTypes/image~1png", "value": "image/png"}],
    )
    world.deploy()  # binary media types are part of the deployment
    raw = bytes(range(256))
    binary = event_of(
        world.client.put(world.user_request_url("/files/x.png"), data=raw, headers={"Content-Type": "image/png"})
    )
    assert binary["stageVariables"] == {"colour": "blue"}
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == raw
    text = event_of(
        world.client.put(
            world.user_request_url("/files/x.txt"), data="é".encode(), headers={"Content-Type": "text/plain"}
        )
    )
    assert (text["body"], text["isBase64Encoded"]) == ("é", False)


# --------------------------------------------------------------------------------------------------------------------
# The function's answer
# --------------------------------------------------------------------------------------------------------------------


def _answer(world: World, payload: Any, errored: bool = False) -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    world.answers["trades-api-dev"] = lambda fn, event: (text, errored)


def test_the_proxy_answer_becomes_the_http_response(world: World) -> None:
    _answer(
        world,
        {
            "statusCode": 201,
            "headers": {"Location": "/trades/7", "X-Both": "single", "X-Num": 3},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Both": ["multi"]},
            "body": '{"id": 7}',
        },
    )
    response = world.get("/health")
    assert response.status_code == 201
    assert response.get_data() == b'{"id": 7}'
    assert response.headers["Location"] == "/trades/7"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers.getlist("X-Both") == ["multi"], "a name in both keeps the multi-value values"
    assert response.headers["X-Num"] == "3"
    assert response.headers["Content-Type"] == "application/json", "API Gateway's default content type"
    assert response.headers["Content-Length"] == "9"


def test_a_base64_answer_is_decoded_for_a_binary_accept_type(world: World) -> None:
    world.boto("apigateway").update_rest_api(
        restApiId=world.api_id,
        patchOperations=[{"op": "add", "path": "/binaryMediaTypes/image~1png", "value": "image/png"}],
    )
    world.deploy()
    _answer(
        world,
        {
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "isBase64Encoded": True,
            "body": base64.b64encode(b"\x89PNG").decode(),
        },
    )
    assert world.get("/health", headers={"Accept": "image/png"}).get_data() == b"\x89PNG"
    assert world.get("/health", headers={"Accept": "text/plain"}).get_data() == base64.b64encode(b"\x89PNG")


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        {"body": "no status"},
        {"statusCode": 200, "body": {"an": "object"}},
        {"statusCode": 200, "cookies": ["a=1"]},
        {"statusCode": 99},
        {"statusCode": True},
        {"statusCode": 200, "headers": {"X": ["a list"]}},
        {"statusCode": 200, "multiValueHeaders": {"X": "not a list"}},
        {"statusCode": 200, "isBase64Encoded": "yes"},
    ],
)
def test_a_malformed_answer_is_502(world: World, payload: Any) -> None:
    _answer(world, payload)
    response = world.get("/health")
    assert (response.status_code, response.get_data()) == (502, BAD_GATEWAY)
    assert "X-Amzn-Trace-Id" in response.headers, "the integration was called"


def test_a_function_error_is_502(world: World) -> None:
    _answer(world, {"errorMessage": "boom", "errorType": "RuntimeError", "stackTrace": []}, errored=True)
    response = world.get("/health")
    assert (response.status_code, response.get_data()) == (502, BAD_GATEWAY)


def test_past_the_integration_timeout_the_answer_is_504(world: World) -> None:
    apigateway = world.boto("apigateway")
    slow = apigateway.create_resource(restApiId=world.api_id, parentId=world.resources["/"], pathPart="slow")["id"]
    add_route(apigateway, world.api_id, slow, "GET", invoke_uri(world.function_arn), timeout_ms=100)
    world.deploy()

    def sleepy(fn: Any, event: dict[str, Any]) -> tuple[str, bool]:
        time.sleep(1.0)
        return json.dumps({"statusCode": 200, "body": "late"}), False

    world.answers["trades-api-dev"] = sleepy
    response = world.get("/slow")
    assert (response.status_code, response.get_data()) == (504, b'{"message": "Endpoint request timed out"}')


# --------------------------------------------------------------------------------------------------------------------
# The function's resource policy and qualifier
# --------------------------------------------------------------------------------------------------------------------


def test_without_a_permission_for_api_gateway_the_answer_is_500(world: World) -> None:
    world.boto("lambda").remove_permission(FunctionName="trades-api-dev", StatementId="AllowInvokeFromApiGateway")
    response = world.get("/health")
    assert (response.status_code, response.get_data()) == (500, b'{"message": "Internal server error"}')
    assert world.invocations == [], "the function never ran"


@pytest.mark.parametrize(
    ("source_arn", "allowed"),
    [
        ("arn:aws:execute-api:us-east-1:123456789012:{api}/dev/GET/health", True),
        ("arn:aws:execute-api:us-east-1:123456789012:{api}/*/GET/*", True),
        ("arn:aws:execute-api:us-east-1:123456789012:{api}/prod/*/*", False),
        ("arn:aws:execute-api:us-east-1:123456789012:otherapi/*/*", False),
        ("arn:aws:execute-api:us-east-1:123456789012:{api}/*/POST/health", False),
    ],
)
def test_the_permission_must_cover_this_requests_source_arn(world: World, source_arn: str, allowed: bool) -> None:
    lam = world.boto("lambda")
    lam.remove_permission(FunctionName="trades-api-dev", StatementId="AllowInvokeFromApiGateway")
    lam.add_permission(
        FunctionName="trades-api-dev",
        StatementId="narrow",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=source_arn.format(api=world.api_id),
    )
    assert world.get("/health").status_code == (200 if allowed else 500)


def test_a_permission_for_another_principal_does_not_count(world: World) -> None:
    lam = world.boto("lambda")
    lam.remove_permission(FunctionName="trades-api-dev", StatementId="AllowInvokeFromApiGateway")
    lam.add_permission(
        FunctionName="trades-api-dev", StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"
    )
    assert world.get("/health").status_code == 500


def test_an_alias_in_the_integration_uri_invokes_that_alias_under_its_own_permission(world: World) -> None:
    lam, apigateway = world.boto("lambda"), world.boto("apigateway")
    version = lam.publish_version(FunctionName="trades-api-dev")["Version"]
    lam.create_alias(FunctionName="trades-api-dev", Name="live", FunctionVersion=version)
    live = apigateway.create_resource(restApiId=world.api_id, parentId=world.resources["/"], pathPart="live")["id"]
    add_route(apigateway, world.api_id, live, "GET", invoke_uri(f"{world.function_arn}:live"))
    world.deploy()
    assert world.get("/live").status_code == 500, "the unqualified function's permission does not cover the alias"
    lam.add_permission(
        FunctionName="trades-api-dev",
        Qualifier="live",
        StatementId="live",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{world.api_id}/*/*",
    )
    response = world.get("/live")
    assert response.status_code == 200
    assert response.headers["X-Version"] == version, "the alias's version ran"


# --------------------------------------------------------------------------------------------------------------------
# Request validation and throttling
# --------------------------------------------------------------------------------------------------------------------


def test_the_request_validator_refuses_a_missing_required_parameter(world: World) -> None:
    apigateway = world.boto("apigateway")
    validator = apigateway.get_request_validators(restApiId=world.api_id)["items"][0]["id"]
    add_route(
        apigateway,
        world.api_id,
        world.resources["/health"],
        "GET",
        invoke_uri(world.function_arn),
        parameters={"method.request.querystring.q": True},
        validator=validator,
    )
    world.deploy()
    response = world.get("/health")
    assert (response.status_code, response.get_data()) == (
        400,
        b'{"message": "Missing required request parameters: [q]"}',
    )
    assert world.invocations == []
    assert world.get("/health?q=1").status_code == 200


def _throttle(world: World, method_path: str, rate: float, burst: int) -> None:
    # What the provider sends for aws_api_gateway_method_settings (method_path "*/*" in tf_modules/api).
    world.boto("apigateway").update_stage(
        restApiId=world.api_id,
        stageName=STAGE,
        patchOperations=[
            {"op": "replace", "path": f"/{method_path}/throttling/rateLimit", "value": str(rate)},
            {"op": "replace", "path": f"/{method_path}/throttling/burstLimit", "value": str(burst)},
        ],
    )


def test_stage_throttling_is_a_token_bucket_per_method(world: World) -> None:
    _throttle(world, "*/*", rate=1.0, burst=2)
    statuses = [world.get("/health").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    throttled = world.get("/health")
    assert (throttled.status_code, throttled.get_data()) == (429, b'{"message":"Too Many Requests"}')
    assert world.get("/trades/latest").status_code == 200, "each method has its own bucket"
    world.clock.now += 1.0
    assert [world.get("/health").status_code for _ in range(2)] == [200, 429], "one token per second"


def test_a_method_setting_overrides_the_stage_default(world: World) -> None:
    _throttle(world, "*/*", rate=1.0, burst=1)
    _throttle(world, "~1health/GET", rate=100.0, burst=50)
    assert all(world.get("/health").status_code == 200 for _ in range(20))
    assert [world.get("/trades/latest").status_code for _ in range(2)] == [200, 429]


# --------------------------------------------------------------------------------------------------------------------
# What API Gateway records: access log and metrics
# --------------------------------------------------------------------------------------------------------------------

ACCESS_LOG_FORMAT = json.dumps(
    {  # the shape of tf_modules/api's default format
        "requestId": "$context.requestId",
        "status": "$context.status",
        "resourcePath": "$context.resourcePath",
        "caller": "$context.identity.caller",
        "integrationStatus": "$context.integration.status",
        "errorResponseType": "$context.error.responseType",
        "unknown": "$context.no.such.variable",
    }
)


def test_each_request_writes_the_stages_access_log_line(world: World) -> None:
    logs = world.boto("logs")
    logs.create_log_group(logGroupName="/aws/apigateway/api-dev")
    world.boto("apigateway").update_stage(
        restApiId=world.api_id,
        stageName=STAGE,
        patchOperations=[
            {
                "op": "replace",
                "path": "/accessLogSettings/destinationArn",
                "value": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/apigateway/api-dev",
            },
            {"op": "replace", "path": "/accessLogSettings/format", "value": ACCESS_LOG_FORMAT},
        ],
    )
    served = world.get("/health")
    refused = world.get("/trades/1")
    events = logs.filter_log_events(logGroupName="/aws/apigateway/api-dev")["events"]
    lines = [json.loads(event["message"]) for event in events]
    assert lines == [
        {
            "requestId": served.headers["x-amzn-RequestId"],
            "status": "200",
            "resourcePath": "/health",
            "caller": "-",
            "integrationStatus": "200",
            "errorResponseType": "-",
            "unknown": "-",
        },
        {
            "requestId": refused.headers["x-amzn-RequestId"],
            "status": "403",
            "resourcePath": "/trades/{id}",
            "caller": "-",
            "integrationStatus": "-",
            "errorResponseType": "MISSING_AUTHENTICATION_TOKEN",
            "unknown": "-",
        },
    ]


def test_requests_become_api_gateway_metrics_with_detailed_dimensions_when_enabled(world: World) -> None:
    world.boto("apigateway").update_stage(
        restApiId=world.api_id,
        stageName=STAGE,
        patchOperations=[{"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"}],
    )
    _answer(world, {"statusCode": 200, "body": "fine"})
    world.get("/health")
    _answer(world, "not a proxy answer")
    world.get("/health")
    cloudwatch = world.boto("cloudwatch")
    route = [
        {"Name": "ApiName", "Value": "api-dev"},
        {"Name": "Method", "Value": "GET"},
        {"Name": "Resource", "Value": "/health"},
        {"Name": "Stage", "Value": STAGE},
    ]

    def total(metric: str, dimensions: list[dict[str, str]], statistic: str = "Sum") -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/ApiGateway",
            MetricName=metric,
            Dimensions=dimensions,
            Statistics=[statistic],
            StartTime=datetime.now(UTC) - timedelta(minutes=5),
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=600,
        )["Datapoints"]
        return sum(point[statistic] for point in points)

    published = cloudwatch.list_metrics(Namespace="AWS/ApiGateway", MetricName="Count")["Metrics"]
    assert sorted({tuple(d["Name"] for d in m["Dimensions"]) for m in published}) == [
        ("ApiName",),
        ("ApiName", "Method", "Resource", "Stage"),
        ("ApiName", "Stage"),
    ]
    # (moto matches a query's dimensions as a subset, so the most detailed set is the one to sum over.)
    assert (total("Count", route), total("5XXError", route), total("4XXError", route)) == (2, 1, 0)
    assert total("Latency", route, "SampleCount") == 2
    assert total("IntegrationLatency", route, "SampleCount") == 2


def test_a_payload_over_10_mb_is_refused_before_anything_runs(world: World) -> None:
    response = world.client.put(world.user_request_url("/files/big"), data=b"x" * (10 * 1024 * 1024 + 1))
    assert (response.status_code, response.get_data()) == (413, b'{"message":"Request Too Long"}')
    assert world.invocations == []
