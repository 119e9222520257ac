"""AWS_IAM methods in the emulator's execute-api (local_cloud/apigateway_auth.py): SigV4 recomputed with botocore,
credentials the emulator knows, and API Gateway's refusals byte for byte."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.apigateway_world import (
    ACCOUNT,
    DOMAIN,
    World,
    event_of,
    json_of,
    world,  # noqa: F401  (the fixture)
)

TRADE = json.dumps({"client_order_id": "ord-1", "symbol": "AAPL"}).encode()
JSON = {"Content-Type": "application/json"}


def test_a_signed_request_reaches_the_function_with_the_callers_identity(world: World) -> None:
    event = event_of(world.signed("POST", world.user_request_url("/trades"), TRADE, headers=JSON))
    assert event["body"] == TRADE.decode()
    identity = event["requestContext"]["identity"]
    # The test key's identity is what the emulator's STS GetCallerIdentity says for it.
    caller = world.boto("sts").get_caller_identity()
    assert identity["accessKey"] == "test"
    assert (identity["accountId"], identity["userArn"], identity["caller"]) == (
        caller["Account"],
        caller["Arn"],
        caller["UserId"],
    )
    assert identity["user"] == identity["caller"]


def test_every_way_in_verifies_what_the_client_signed(world: World) -> None:
    by_host = world.signed("GET", "/dev/trades/7", host=world.execute_api_host)
    by_domain = world.signed("GET", "/trades/7", host=DOMAIN)
    by_user_request = world.signed("GET", world.user_request_url("/trades/7?x=a%20b&x=c"), host="127.0.0.1:4566")
    for response in (by_host, by_domain, by_user_request):
        event = event_of(response)
        assert event["pathParameters"] == {"id": "7"}
    assert event_of(by_user_request)["multiValueQueryStringParameters"] == {"x": ["a b", "c"]}


def test_an_iam_user_key_is_known_and_reported_as_that_user(world: World) -> None:
    iam = world.boto("iam")
    user = iam.create_user(UserName="trader")["User"]
    key = iam.create_access_key(UserName="trader")["AccessKey"]
    credentials = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    identity = event_of(
        world.signed("POST", world.user_request_url("/trades"), TRADE, headers=JSON, credentials=credentials)
    )["requestContext"]["identity"]
    assert (identity["userArn"], identity["caller"], identity["accessKey"]) == (
        user["Arn"],
        user["UserId"],
        key["AccessKeyId"],
    )
    iam.update_access_key(UserName="trader", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    refused = world.signed("POST", world.user_request_url("/trades"), TRADE, headers=JSON, credentials=credentials)
    assert refused.get_data() == b'{"message":"The security token included in the request is invalid."}'


def test_assumed_role_keys_need_their_session_token(world: World) -> None:
    role = world.boto("iam").create_role(RoleName="caller", AssumeRolePolicyDocument="{}")["Role"]
    issued = world.boto("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="smoke")["Credentials"]
    with_token = Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])
    identity = event_of(world.signed("GET", world.user_request_url("/trades/1"), credentials=with_token))[
        "requestContext"
    ]["identity"]
    assert identity["userArn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/caller/smoke"
    assert identity["caller"] == f"{role['RoleId']}:smoke"
    without = world.signed(
        "GET",
        world.user_request_url("/trades/1"),
        credentials=Credentials(issued["AccessKeyId"], issued["SecretAccessKey"]),
    )
    assert without.status_code == 403
    assert json_of(without) == {"message": "The security token included in the request is invalid."}


def test_unsigned_is_missing_authentication_token(world: World) -> None:
    response = world.client.post(world.user_request_url("/trades"), data=TRADE, headers=JSON)
    assert (response.status_code, response.get_data()) == (403, b'{"message":"Missing Authentication Token"}')
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert world.invocations == []


def test_a_wrong_secret_is_refused_with_the_canonical_request_api_gateway_expected(world: World) -> None:
    response = world.signed(
        "POST",
        world.user_request_url("/trades"),
        TRADE,
        headers=JSON,
        credentials=Credentials("test", "not-the-secret"),
    )
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    message = json_of(response)["message"]
    assert message.startswith(
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service "
        "documentation for details.\n\nThe Canonical String for this request should have "
        f"been\n'POST\n/restapis/{world.api_id}/dev/_user_request_/trades\n\n"
    )
    assert "\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" in message
    assert "/us-east-1/execute-api/aws4_request\n" in message
    assert world.invocations == []


def test_a_body_changed_after_signing_is_refused(world: World) -> None:
    url = world.user_request_url("/trades")
    request = AWSRequest(method="POST", url=f"http://localhost{url}", data=TRADE, headers=JSON)
    botocore.auth.SigV4Auth(Credentials("test", "test"), "execute-api", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    response = world.client.post(url, data=TRADE.replace(b"AAPL", b"MSFT"), headers=headers)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_a_payload_hash_header_that_lies_is_refused(world: World) -> None:
    honest = world.signed(
        "POST", world.user_request_url("/trades"), TRADE, headers={**JSON, "X-Amz-Content-SHA256": "0" * 64}
    )
    assert honest.status_code == 403


def test_an_unknown_key_is_an_invalid_security_token(world: World) -> None:
    response = world.signed("GET", world.user_request_url("/trades/1"), credentials=Credentials("AKIANOBODY", "x"))
    assert (response.status_code, response.get_data()) == (
        403,
        b'{"message":"The security token included in the request is invalid."}',
    )
    assert response.headers["x-amzn-ErrorType"] == "UnrecognizedClientException"


@pytest.mark.parametrize(
    ("service", "region", "message"),
    [
        ("iot", "us-east-1", "Credential should be scoped to correct service: 'execute-api'. "),
        ("execute-api", "eu-west-1", "Credential should be scoped to a valid region. "),
    ],
)
def test_a_signature_for_another_service_or_region_is_refused(
    world: World, service: str, region: str, message: str
) -> None:
    response = world.signed("GET", world.user_request_url("/trades/1"), service=service, region=region)
    assert (response.status_code, json_of(response)) == (403, {"message": message})


@pytest.mark.parametrize(
    ("skew", "expected"),
    [
        (
            timedelta(minutes=-6),
            r"Signature expired: {amz} is now earlier than (\d{{8}}T\d{{6}}Z) \((\d{{8}}T\d{{6}}Z) - 5 min\.\)",
        ),
        (
            timedelta(minutes=6),
            r"Signature not yet current: {amz} is still later than (\d{{8}}T\d{{6}}Z)"
            r" \((\d{{8}}T\d{{6}}Z) \+ 5 min\.\)",
        ),
    ],
)
def test_a_clock_off_by_more_than_five_minutes_is_refused(
    world: World, skew: timedelta, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_at = datetime.now(UTC).replace(tzinfo=None) + skew
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)  # the client's clock
    response = world.signed("GET", world.user_request_url("/trades/1"))
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    match = re.fullmatch(expected.format(amz=signed_at.strftime("%Y%m%dT%H%M%SZ")), json_of(response)["message"])
    assert match, json_of(response)["message"]
    limit, now = (datetime.strptime(value, "%Y%m%dT%H%M%SZ") for value in match.groups())
    assert abs(limit - now) == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (
            "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date",
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'Signature' parameter. "
            "Authorization=AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date",
        ),
    ],
)
def test_an_incomplete_authorization_header_is_refused(world: World, authorization: str, message: str) -> None:
    response = world.client.get(
        world.user_request_url("/trades/1"), headers={"Authorization": authorization, "X-Amz-Date": "20260101T000000Z"}
    )
    assert (response.status_code, json_of(response)) == (403, {"message": message})
    assert response.headers["x-amzn-ErrorType"] == "IncompleteSignatureException"


def test_a_bearer_token_is_not_a_signature(world: World) -> None:
    response = world.client.get(world.user_request_url("/trades/1"), headers={"Authorization": "Bearer abc"})
    assert response.status_code == 403
    assert json_of(response)["message"].startswith("Invalid key=value pair (missing equal-sign) in Authorization")
