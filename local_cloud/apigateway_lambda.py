"""The Lambda proxy integration (``AWS_PROXY``): the REST proxy event (payload format 1.0), the function's resource
policy, the invocation with API Gateway's own timeout, and the mapping of the function's answer to HTTP.

- Event: ``resource``, ``path``, ``httpMethod``, headers and query (single and multi value), ``pathParameters``,
  ``stageVariables``, ``body`` (base64 when the Content-Type is one of the API's binary media types) and a full
  ``requestContext`` (request ids, identity of the IAM caller, resource, stage, paths, domain, time, protocol).
- Permission: API Gateway may invoke the function only when its resource policy (``aws_lambda_permission``, stored
  by moto) allows ``apigateway.amazonaws.com`` to ``lambda:InvokeFunction`` the invoked ARN (qualified when the
  integration URI names an alias or version) for this request's source ARN
  ``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{resource path}``. Otherwise 500, as on AWS.
- Invocation: through moto's Lambda backend ``invoke`` with the URI's qualifier (contract 5), so whatever runs
  Lambda code in the emulator (local_cloud.lambda_runtime) runs it. API Gateway stops waiting after the
  integration's timeout (29 s by default): 504, while the function runs on until its own timeout.
- Response: a JSON object with only ``statusCode``, ``headers``, ``multiValueHeaders``, ``body`` (a string) and
  ``isBase64Encoded``; anything else, or a function error, is 502.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from moto.awslambda.models import lambda_backends

from local_cloud.apigateway_auth import Caller
from local_cloud.apigateway_http import (
    INTEGRATION_FAILURE,
    INTEGRATION_TIMEOUT,
    INTERNAL_SERVER_ERROR,
    GatewayError,
    Request,
    Response,
)
from local_cloud.apigateway_routing import Route

INVOKE_URI = re.compile(
    r"^arn:aws[a-z-]*:apigateway:(?P<region>[a-z0-9-]+):lambda:path/2015-03-31/functions/"
    r"(?P<function>arn:aws[a-z-]*:lambda:(?P<fn_region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[A-Za-z0-9_$-]+))?)/invocations$"
)
STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
PRINCIPAL = "apigateway.amazonaws.com"
RESPONSE_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
REQUEST_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S +0000"


@dataclass(frozen=True)
class FunctionTarget:
    account_id: str
    region: str
    name: str
    function_arn: str  # unqualified
    qualifier: str | None

    @property
    def invoked_arn(self) -> str:
        """The ARN whose resource policy counts: qualified when the URI names an alias or version."""
        if self.qualifier and self.qualifier != "$LATEST":
            return f"{self.function_arn}:{self.qualifier}"
        return self.function_arn


@dataclass(frozen=True)
class RequestIds:
    request_id: str  # x-amzn-RequestId, requestContext.requestId
    extended_request_id: str  # x-amz-apigw-id, requestContext.extendedRequestId
    trace_id: str  # X-Amzn-Trace-Id
    epoch_ms: int


def function_target(uri: str, stage_variables: Mapping[str, str]) -> FunctionTarget:
    resolved = STAGE_VARIABLE.sub(lambda m: str(stage_variables.get(m.group(1), "")), uri)
    match = INVOKE_URI.match(resolved)
    if match is None:
        raise GatewayError(INTERNAL_SERVER_ERROR, f"integration URI is not a Lambda function invocation: {resolved}")
    arn = match["function"]
    qualifier = match["qualifier"]
    unqualified = arn[: -len(qualifier) - 1] if qualifier else arn
    return FunctionTarget(match["account"], match["fn_region"], match["name"], unqualified, qualifier)


def source_arn(route: Route, http_method: str) -> str:
    return (
        f"arn:aws:execute-api:{route.region}:{route.account_id}:{route.api.id}/{route.stage.name}/"
        f"{http_method}{route.resource.path}"
    )


# --------------------------------------------------------------------------------------------------------------------
# The function's resource policy
# --------------------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _like(pattern: str, value: str) -> bool:
    """IAM's StringLike / ArnLike: ``*`` any run of characters, ``?`` one character, case-sensitive."""
    return _wildcard(pattern).fullmatch(value) is not None


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _principal_matches(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return PRINCIPAL in _values(principal.get("Service", [])) or "*" in _values(principal.get("AWS", []))
    return False


_CONDITION_KEYS = {"aws:sourcearn": "source_arn", "aws:sourceaccount": "source_account"}


def _conditions_hold(conditions: Mapping[str, Any], facts: Mapping[str, str]) -> bool:
    """The condition operators API Gateway permissions use; any other operator or key does not hold."""
    for operator, tests in conditions.items():
        compare = {
            "StringEquals": lambda p, v: p == v,
            "ArnEquals": lambda p, v: p == v,
            "StringLike": _like,
            "ArnLike": _like,
        }.get(operator)
        if compare is None or not isinstance(tests, Mapping):
            return False
        for key, patterns in tests.items():
            fact = facts.get(_CONDITION_KEYS.get(key.lower(), ""))
            if fact is None or not any(compare(pattern, fact) for pattern in _values(patterns)):
                return False
    return True


def statement_allows(statement: Mapping[str, Any], invoked_arn: str, facts: Mapping[str, str]) -> bool | None:
    """True (allows), False (denies) or None (does not apply) for API Gateway invoking ``invoked_arn``."""
    if not _principal_matches(statement.get("Principal")):
        return None
    if not any(_like(action.lower(), "lambda:invokefunction") for action in _values(statement.get("Action", []))):
        return None
    if not any(_like(resource, invoked_arn) for resource in _values(statement.get("Resource", []))):
        return None
    if not _conditions_hold(statement.get("Condition") or {}, facts):
        return None
    return bool(statement.get("Effect", "Allow") == "Allow")


def policy_statements(target: FunctionTarget) -> list[Mapping[str, Any]]:
    """Statements moto keeps for the function and, when qualified, for the version or alias it resolves to."""
    backend = lambda_backends[target.account_id][target.region]
    found: dict[int, Mapping[str, Any]] = {}
    holders = [backend.get_function(target.name)]
    if target.qualifier:
        holders.append(backend.get_function(target.name, target.qualifier))
    for holder in holders:
        for statement in list(holder.policy.statements):
            found[id(statement)] = statement
    return list(found.values())


def check_permission(target: FunctionTarget, arn: str, account_id: str) -> None:
    facts = {"source_arn": arn, "source_account": account_id}
    try:
        verdicts = [statement_allows(s, target.invoked_arn, facts) for s in policy_statements(target)]
    except Exception as exc:  # moto's "function not found" and friends: a configuration error
        raise GatewayError(INTERNAL_SERVER_ERROR, f"cannot read the policy of {target.invoked_arn}: {exc}") from None
    if False in verdicts or True not in verdicts:
        raise GatewayError(
            INTERNAL_SERVER_ERROR,
            f"Execution failed due to configuration error: Invalid permissions on Lambda function "
            f"{target.invoked_arn} for {arn}",
        )


# --------------------------------------------------------------------------------------------------------------------
# The event
# --------------------------------------------------------------------------------------------------------------------


def _is_binary(content_type: str | None, binary_media_types: tuple[str, ...]) -> bool:
    if not content_type or not binary_media_types:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    for pattern in binary_media_types:
        pattern = pattern.strip().lower().replace("~1", "/")
        if pattern == media or pattern == "*/*" or (pattern.endswith("/*") and media.startswith(pattern[:-1])):
            return True
    return False


def query_parameters(raw: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not raw:
        return None, None
    multi: dict[str, list[str]] = {}
    for pair in raw.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        multi.setdefault(unquote(name.replace("+", " ")), []).append(unquote(value.replace("+", " ")))
    if not multi:
        return None, None
    return {name: values[-1] for name, values in multi.items()}, multi


def proxy_event(request: Request, route: Route, caller: Caller | None, ids: RequestIds) -> dict[str, Any]:
    headers = [(name, value) for name, value in request.headers]
    forwarded = request.header("X-Forwarded-For")
    # API Gateway adds these for the integration (the values it sees: TLS on 443 at the edge of AWS).
    added = {
        "X-Amzn-Trace-Id": ids.trace_id,
        "X-Forwarded-For": f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    headers = [(name, value) for name, value in headers if name not in added] + list(added.items())
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    query, multi_query = query_parameters(request.query)
    binary = _is_binary(request.header("Content-Type"), route.deployment.binary_media_types)
    if not request.body:
        body = None
    elif binary:
        body = base64.b64encode(request.body).decode()
    else:
        body = request.body.decode("utf-8", "replace")
    stage_variables = dict(route.stage.variables or {}) or None
    return {
        "resource": route.resource.path,
        "path": route.event_path,
        "httpMethod": request.method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(route.path_parameters) or None,
        "stageVariables": stage_variables,
        "requestContext": {
            "resourceId": route.resource.id,
            "resourcePath": route.resource.path,
            "httpMethod": request.method,
            "extendedRequestId": ids.extended_request_id,
            "requestTime": datetime.fromtimestamp(ids.epoch_ms / 1000, UTC).strftime(REQUEST_TIME_FORMAT),
            "path": route.context_path,
            "accountId": route.account_id,
            "protocol": request.protocol,
            "stage": route.stage.name,
            "domainPrefix": route.domain_name.split(".", 1)[0],
            "requestTimeEpoch": ids.epoch_ms,
            "requestId": ids.request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": caller.account_id if caller else None,
                "cognitoIdentityId": None,
                "caller": caller.caller if caller else None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": caller.access_key if caller else None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": caller.user_arn if caller else None,
                "userAgent": request.header("User-Agent"),
                "user": caller.caller if caller else None,
            },
            "domainName": route.domain_name,
            "deploymentId": route.deployment.deployment_id,
            "apiId": route.api.id,
        },
        "body": body,
        "isBase64Encoded": binary and body is not None,
    }


# --------------------------------------------------------------------------------------------------------------------
# The invocation
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    payload: bytes = b""
    function_error: str | None = None
    exception: BaseException | None = None


def invoke(target: FunctionTarget, event: Mapping[str, Any], timeout_ms: int) -> tuple[bytes, str | None]:
    """(payload, function error type or None) of a synchronous invocation, or 500/504 as API Gateway answers."""
    backend = lambda_backends[target.account_id][target.region]
    outcome = _Outcome()
    done = threading.Event()
    body = json.dumps(event)

    def run() -> None:
        response_headers: dict[str, Any] = {}
        try:
            payload = backend.invoke(
                target.function_arn,
                target.qualifier,
                body,
                {"x-amz-invocation-type": "RequestResponse"},
                response_headers,
            )
            outcome.payload = payload.encode() if isinstance(payload, str) else bytes(payload or b"")
            errors = [v for k, v in response_headers.items() if k.lower() == "x-amz-function-error"]
            outcome.function_error = str(errors[0]) if errors else None
        except BaseException as exc:  # reported to the request's thread
            outcome.exception = exc
        finally:
            done.set()

    # A daemon thread: the request answers 504 at the integration timeout while the function may run on (until its
    # own timeout, when the runtime kills its worker); a stopping emulator never waits for it.
    threading.Thread(target=run, name=f"execute-api-invoke-{target.name}", daemon=True).start()
    if not done.wait(timeout_ms / 1000):
        raise GatewayError(INTEGRATION_TIMEOUT, f"{target.invoked_arn} did not answer within {timeout_ms} ms")
    if outcome.exception is not None:
        raise GatewayError(INTERNAL_SERVER_ERROR, f"invoking {target.invoked_arn} failed: {outcome.exception!r}")
    return outcome.payload, outcome.function_error


# --------------------------------------------------------------------------------------------------------------------
# The response
# --------------------------------------------------------------------------------------------------------------------


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"header value {value!r} is not a string or number")


def proxy_response(payload: bytes, request: Request, binary_media_types: tuple[str, ...]) -> Response:
    """The HTTP response a Lambda proxy answer stands for, or a GatewayError 502 when it is malformed."""
    try:
        answer = json.loads(payload)
        if not isinstance(answer, dict):
            raise ValueError("not a JSON object")
        unknown = set(answer) - RESPONSE_KEYS
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        status = answer.get("statusCode")
        if isinstance(status, str) and status.isdigit():
            status = int(status)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"statusCode {status!r}")
        body = answer.get("body")
        if body is not None and not isinstance(body, str):
            raise ValueError("body is not a string")
        encoded = answer.get("isBase64Encoded", False)
        if not isinstance(encoded, bool):
            raise ValueError("isBase64Encoded is not a boolean")
        merged: dict[str, list[str]] = {}
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            if not isinstance(values, list):
                raise ValueError(f"multiValueHeaders[{name!r}] is not a list")
            merged[str(name)] = [_header_value(v) for v in values]
        for name, value in (answer.get("headers") or {}).items():
            # Both given: a name in multiValueHeaders keeps those values only (API Gateway's documented merge).
            merged.setdefault(str(name), [_header_value(value)])
        raw = (body or "").encode()
        if encoded and body and _is_binary(request.header("Accept"), binary_media_types):
            raw = base64.b64decode(body, validate=True)
    except (ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise GatewayError(
            INTEGRATION_FAILURE, f"Execution failed due to configuration error: Malformed Lambda proxy response ({exc})"
        ) from None
    headers = [(name, value) for name, values in merged.items() for value in values]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return Response(status, tuple(headers), raw)


def call(request: Request, route: Route, caller: Caller | None, ids: RequestIds) -> Response:
    """The whole AWS_PROXY integration for one request."""
    integration = route.method.integration
    assert integration is not None
    target = function_target(integration.uri, route.stage.variables or {})
    check_permission(target, source_arn(route, request.method), route.account_id)
    event = proxy_event(request, route, caller, ids)
    started = time.monotonic()
    payload, function_error = invoke(target, event, integration.timeout_ms)
    if function_error is not None:
        raise GatewayError(
            INTEGRATION_FAILURE,
            f"Lambda function {target.invoked_arn} failed ({function_error}) "
            f"after {(time.monotonic() - started) * 1000:.0f} ms: "
            f"{payload[:500].decode('utf-8', 'replace')}",
        )
    return proxy_response(payload, request, route.deployment.binary_media_types)
