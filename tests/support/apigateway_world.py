"""A REST API in moto's in-process backends with the execute-api front before moto's dispatcher, for the unit tests.

Lambda code does not run here: ``LambdaFunction._invoke_lambda`` — the hook point the emulator's Lambda runtime
uses — is replaced by an answer the test chooses (by default the function echoes the proxy event it received), so
these tests check what execute-api itself does: routing, authorization, events, response mapping, timeouts.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.apigateway import models as apigw_models
from moto.awslambda.models import LambdaFunction
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client, TestResponse

from local_cloud import apigateway_routing
from local_cloud.apigateway import Gateway
from local_cloud.apigateway_throttling import Throttles
from local_cloud.front import Front
from tests.support.moto import fresh_aws

REGION = "us-east-1"
ACCOUNT = "123456789012"
STAGE = "dev"
DOMAIN = "api.dev.trading.example.com"
VERSIONED_DOMAIN = "api.v.trading.example.com"
KEYS = {"region_name": REGION, "aws_access_key_id": "test", "aws_secret_access_key": "test"}

# What a function answers: (payload as Lambda returns it, errored).
Answer = Callable[[Any, dict[str, Any]], tuple[str, bool]]


def echo(fn: Any, event: dict[str, Any]) -> tuple[str, bool]:
    return json.dumps(
        {
            "statusCode": 200,
            "headers": {"X-Function": fn.function_name, "X-Version": fn.version},
            "body": json.dumps(event),
        }
    ), False


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    api_id: str
    resources: dict[str, str]
    function_arn: str
    client: Client
    clock: FakeClock
    answers: dict[str, Answer] = field(default_factory=dict)
    invocations: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def boto(self, service: str) -> Any:
        return boto3.client(service, **KEYS)

    # Three ways in to the same stage.
    def user_request_url(self, path: str, stage: str = STAGE) -> str:
        return f"/restapis/{self.api_id}/{stage}/_user_request_{path}"

    @property
    def execute_api_host(self) -> str:
        return f"{self.api_id}.execute-api.{REGION}.amazonaws.com"

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(self.user_request_url(path), **kwargs)

    def signed(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        *,
        host: str = "localhost",
        credentials: Credentials | None = None,
        service: str = "execute-api",
        region: str = REGION,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        """A request signed by botocore's SigV4 (what AWS SDKs and awscurl do) and sent as signed."""
        request = AWSRequest(method=method, url=f"http://{host}{url}", data=body, headers=dict(headers or {}))
        SigV4Auth(credentials or Credentials("test", "test"), service, region).add_auth(request)
        sent = {name: value for name, value in request.headers.items()}
        sent["Host"] = host
        return self.client.open(url, method=method, data=body, headers=sent)

    def deploy(self) -> str:
        """A new deployment made the stage's (what Terraform's redeployment trigger does)."""
        apigateway = self.boto("apigateway")
        deployment = apigateway.create_deployment(restApiId=self.api_id)["id"]
        apigateway.update_stage(
            restApiId=self.api_id,
            stageName=STAGE,
            patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment}],
        )
        return deployment


def json_of(response: TestResponse) -> Any:
    return json.loads(response.get_data())


def event_of(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    event: dict[str, Any] = json_of(response)  # the echo function answers with the event it received
    return event


def lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def add_route(
    apigateway: Any,
    api_id: str,
    resource_id: str,
    method: str,
    uri: str,
    *,
    authorization: str = "NONE",
    parameters: dict[str, bool] | None = None,
    validator: str | None = None,
    timeout_ms: int | None = None,
) -> None:
    apigateway.put_method(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=method,
        authorizationType=authorization,
        requestParameters=parameters or {},
        **({"requestValidatorId": validator} if validator else {}),
    )
    apigateway.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=method,
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=uri,
        **({"timeoutInMillis": timeout_ms} if timeout_ms else {}),
    )


def invoke_uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


@pytest.fixture()
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The trading API's shape (tf_modules/api) plus a greedy and an ANY route, deployed to stage dev, with a custom
    domain (empty base path) and a second one with base path ``v1``."""
    # Undone at teardown: the snapshot hook patches moto's class.
    monkeypatch.setattr(apigw_models.RestAPI, "create_deployment", apigw_models.RestAPI.create_deployment)
    apigateway_routing.install_snapshots()
    holder: dict[str, World] = {}

    def invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
        current = holder["world"]
        current.invocations.append((fn.function_name, fn.version, event))
        payload, errored = current.answers.get(fn.function_name, echo)(fn, event)
        return payload, errored, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", invoke_lambda)
    with fresh_aws():
        iam, lam, apigateway = (boto3.client(s, **KEYS) for s in ("iam", "lambda", "apigateway"))
        role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        function_arn = lam.create_function(
            FunctionName="trades-api-dev",
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": lambda_zip()},
        )["FunctionArn"]
        api_id = apigateway.create_rest_api(name="api-dev")["id"]
        root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
        resources = {"/": root}
        for parent, part in (
            ("/", "trades"),
            ("/trades", "{id}"),
            ("/", "health"),
            ("/", "files"),
            ("/files", "{proxy+}"),
            ("/trades", "latest"),
        ):
            path = f"{parent.rstrip('/')}/{part}"
            resources[path] = apigateway.create_resource(restApiId=api_id, parentId=resources[parent], pathPart=part)[
                "id"
            ]
        validator = apigateway.create_request_validator(
            restApiId=api_id, name="validator", validateRequestBody=True, validateRequestParameters=True
        )["id"]
        uri = invoke_uri(function_arn)
        add_route(apigateway, api_id, resources["/trades"], "POST", uri, authorization="AWS_IAM", validator=validator)
        add_route(
            apigateway,
            api_id,
            resources["/trades/{id}"],
            "GET",
            uri,
            authorization="AWS_IAM",
            parameters={"method.request.path.id": True},
            validator=validator,
        )
        add_route(apigateway, api_id, resources["/trades/latest"], "GET", uri)
        add_route(apigateway, api_id, resources["/health"], "GET", uri, validator=validator)
        add_route(apigateway, api_id, resources["/files/{proxy+}"], "ANY", uri)
        lam.add_permission(
            FunctionName="trades-api-dev",
            StatementId="AllowInvokeFromApiGateway",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*",
        )
        deployment = apigateway.create_deployment(restApiId=api_id)["id"]
        apigateway.create_stage(restApiId=api_id, stageName=STAGE, deploymentId=deployment)
        for domain, base_path in ((DOMAIN, ""), (VERSIONED_DOMAIN, "v1")):
            apigateway.create_domain_name(
                domainName=domain,
                regionalCertificateArn="arn:aws:acm:us-east-1:1:c/x",
                endpointConfiguration={"types": ["REGIONAL"]},
            )
            apigateway.create_base_path_mapping(
                domainName=domain, restApiId=api_id, stage=STAGE, **({"basePath": base_path} if base_path else {})
            )

        clock = FakeClock()
        gateway = Gateway(Throttles(clock=clock))
        front = Front(DomainDispatcherApplication(create_backend_app))
        front.add("execute-api", gateway.matches, gateway)
        # As local_cloud.apigateway.install registers it, with a clock the tests move.
        holder["world"] = World(api_id, resources, function_arn, Client(front), clock)
        yield holder["world"]
