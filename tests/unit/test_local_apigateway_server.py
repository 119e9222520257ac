"""execute-api in a real emulator server (``python -m local_cloud.server``, only this extension on), over a socket:
the front precedes moto's dispatcher (which would send a request signed for execute-api to IoT), awscurl's
signatures verify, and moto keeps answering its own APIs on the same port.

Lambda code does not run here (no runtime extension): a permitted invocation fails as moto fails without Docker,
which API Gateway reports as 502 — the signature and permission checks before it are what this module proves.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.apigateway_world import add_route, invoke_uri
from tests.support.awscurl import awscurl
from tools.emulator import Emulator, aws_client

REGION = "us-east-1"


@dataclass(frozen=True)
class Deployed:
    emulator: Emulator
    api_id: str

    def url(self, path: str) -> str:
        return f"{self.emulator.endpoint}/restapis/{self.api_id}/dev/_user_request_{path}"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOCAL_CLOUD_EXTENSIONS", "apigateway")
        emulator = Emulator.private()
    try:
        iam, lam, apigateway = (aws_client(emulator.endpoint, s) for s in ("iam", "lambda", "apigateway"))
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        api_id = apigateway.create_rest_api(name="api-dev")["id"]
        root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
        for name, auth, permitted in (("trades", "AWS_IAM", False), ("health", "NONE", True)):
            arn = lam.create_function(
                FunctionName=f"fn-{name}",
                Runtime="python3.12",
                Role=role,
                Handler="handler.handler",
                Code={"ZipFile": _zip()},
            )["FunctionArn"]
            if permitted:
                lam.add_permission(
                    FunctionName=f"fn-{name}",
                    StatementId="apigw",
                    Action="lambda:InvokeFunction",
                    Principal="apigateway.amazonaws.com",
                    SourceArn=f"arn:aws:execute-api:{REGION}:123456789012:{api_id}/*/*",
                )
            resource = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart=name)["id"]
            method = "POST" if name == "trades" else "GET"
            add_route(apigateway, api_id, resource, method, invoke_uri(arn), authorization=auth)
        apigateway.create_deployment(restApiId=api_id, stageName="dev")
        yield Deployed(emulator, api_id)
    finally:
        emulator.stop()


def _open(
    url: str, *, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_server_runs_the_extension(deployed: Deployed) -> None:
    status, _, body = _open(f"{deployed.emulator.endpoint}/_local_cloud/status/")
    assert status == 200
    assert json.loads(body)["extensions"] == ["apigateway"]


def test_awscurl_signatures_verify_and_a_missing_permission_is_500(deployed: Deployed) -> None:
    signed = awscurl(deployed.url("/trades"), method="POST", data="{}", headers={"Content-Type": "application/json"})
    assert (signed.status, signed.body) == (500, b'{"message": "Internal server error"}')
    wrong = awscurl(deployed.url("/trades"), method="POST", data="{}", secret_key="wrong")
    assert wrong.status == 403
    assert wrong.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_unsigned_and_unknown_routes_are_refused_as_api_gateway_does(deployed: Deployed) -> None:
    status, headers, body = _open(deployed.url("/trades"), method="POST", data=b"{}")
    assert (status, body) == (403, b'{"message":"Missing Authentication Token"}')
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert {"x-amzn-RequestId", "x-amz-apigw-id"} <= set(headers)
    assert _open(deployed.url("/nothing"))[0::2] == (403, b'{"message":"Missing Authentication Token"}')


def test_without_a_lambda_runtime_an_invocation_is_a_502_through_the_host_form(deployed: Deployed) -> None:
    host = f"{deployed.api_id}.execute-api.{REGION}.amazonaws.com"
    status, headers, body = _open(f"{deployed.emulator.endpoint}/dev/health", headers={"Host": host})
    assert (status, body) == (502, b'{"message": "Internal server error"}')
    assert headers["X-Amzn-Trace-Id"].startswith("Root=1-")


def test_moto_still_answers_its_own_apis_on_the_port(deployed: Deployed) -> None:
    apis: Any = aws_client(deployed.emulator.endpoint, "apigateway").get_rest_apis()["items"]
    assert [api["id"] for api in apis] == [deployed.api_id]
