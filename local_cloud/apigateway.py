"""execute-api: the deployed REST APIs answer requests on the emulator's own endpoint, as API Gateway would.

moto implements API Gateway's control plane only (its execute-api URLs work with its in-process decorators, not
in server mode), and its dispatcher sends a request signed for ``execute-api`` to IoT. This module sits before the
dispatcher (local_cloud.front) and runs a request through API Gateway's steps in API Gateway's order:

    route (apigateway_routing) → authorization (apigateway_auth, AWS_IAM) → API key → throttling
    (apigateway_throttling) → request validation → Lambda proxy integration (apigateway_lambda) → access log
    line and metrics (apigateway_observe)

Every answer carries the headers API Gateway adds (``x-amzn-RequestId``, ``x-amz-apigw-id``, and
``X-Amzn-Trace-Id`` once the integration was called); refusals carry API Gateway's bodies (apigateway_http).
docs/emulator.md lists the URL forms and what is not emulated.
"""

from __future__ import annotations

import base64
import secrets
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from moto.apigateway.models import apigateway_backends

from local_cloud import apigateway_lambda, apigateway_observe, apigateway_routing
from local_cloud.apigateway_auth import Caller, authenticate
from local_cloud.apigateway_http import (
    FORBIDDEN,
    INTEGRATION_FAILURE,
    INTERNAL_SERVER_ERROR,
    MAX_PAYLOAD_BYTES,
    REQUEST_TOO_LARGE,
    THROTTLED,
    GatewayError,
    Request,
    Response,
    missing_request_parameters,
)
from local_cloud.apigateway_lambda import RequestIds
from local_cloud.apigateway_routing import Route
from local_cloud.apigateway_throttling import Limits, Throttles, account_limits, method_limits, method_settings_key

ENTRY_KEY = "local_cloud.apigateway.entry"  # the predicate's finding, handed to the app in the WSGI environ
ROUTE_NAME = "execute-api"


def new_ids(now: float | None = None) -> RequestIds:
    now = time.time() if now is None else now
    # X-Ray trace ids: 1-<epoch seconds, 8 hex>-<96 random bits>; API Gateway's extended ids are 16 base64 characters.
    return RequestIds(
        request_id=str(uuid.uuid4()),
        extended_request_id=base64.b64encode(secrets.token_bytes(11)).decode()[:15] + "=",
        trace_id=f"Root=1-{int(now):08x}-{secrets.token_hex(12)};Sampled=0",
        epoch_ms=int(now * 1000),
    )


@dataclass
class _Integration:
    """What happened at the integration, for the response headers, the access log and the metrics."""

    called: bool = False
    status: int | None = None  # the Lambda service's answer (200 also for a function error)
    milliseconds: float | None = None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


class Gateway:
    """The WSGI app behind the front's execute-api route."""

    def __init__(self, throttles: Throttles | None = None) -> None:
        self.throttles = throttles or Throttles()

    def matches(self, environ: dict[str, Any]) -> bool:
        entry = apigateway_routing.entry_for(environ)
        if entry is None:
            return False
        environ[ENTRY_KEY] = entry
        return True

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.perf_counter()
        ids = new_ids()
        entry = environ.get(ENTRY_KEY) or apigateway_routing.entry_for(environ)
        request: Request | None = None
        route: Route | None = None
        caller: Caller | None = None
        integration = _Integration()
        error: GatewayError | None = None
        try:
            request = Request.from_environ(environ)
            if len(request.body) > MAX_PAYLOAD_BYTES:
                raise GatewayError(REQUEST_TOO_LARGE)
            if entry is None:
                raise GatewayError(FORBIDDEN, "not an execute-api request")
            route = apigateway_routing.route(request, entry)
            caller = self.authorize(request, route)
            self.check_api_key(request, route)
            self.throttle(route)
            validate(request, route)
            response = self.integrate(request, route, caller, ids, integration)
        except GatewayError as raised:
            error = raised
            if raised.log:
                print(
                    f"execute-api: {raised.response.status} {environ.get('REQUEST_METHOD')} "
                    f"{environ.get('PATH_INFO')} ({ids.request_id}): {raised.log}",
                    file=sys.stderr,
                    flush=True,
                )
            headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
            if raised.response.error_type:
                headers += (("x-amzn-ErrorType", raised.response.error_type),)
            response = Response(raised.response.status, headers, raised.response.body)
        added = [("x-amzn-RequestId", ids.request_id), ("x-amz-apigw-id", ids.extended_request_id)]
        if integration.called:
            added.append(("X-Amzn-Trace-Id", ids.trace_id))
        own = {name.lower() for name, _ in added} | {"content-length"}
        headers_out = [(n, v) for n, v in response.headers if n.lower() not in own]
        headers_out += [*added, ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {_phrase(response.status)}", headers_out)
        if request is not None and route is not None:
            # Before the body goes out, so a client that reads the log or the metrics right after its answer
            # finds its request there.
            apigateway_observe.record(
                apigateway_observe.Outcome(
                    request=request,
                    route=route,
                    caller=caller,
                    ids=ids,
                    status=response.status,
                    response_length=len(response.body),
                    latency_ms=(time.perf_counter() - started) * 1000,
                    integration_ms=integration.milliseconds,
                    integration_status=integration.status,
                    error=error.response if error else None,
                )
            )
        return [response.body]

    def authorize(self, request: Request, route: Route) -> Caller | None:
        kind = route.method.authorization_type
        if kind == "NONE":
            return None
        if kind == "AWS_IAM":
            return authenticate(request, route.region)
        raise GatewayError(INTERNAL_SERVER_ERROR, f"authorization type {kind} is not emulated (docs/emulator.md)")

    def check_api_key(self, request: Request, route: Route) -> None:
        if not route.method.api_key_required:
            return
        value = request.header("X-Api-Key")
        keys = apigateway_backends[route.account_id][route.region].keys.values()
        if not value or not any(key.value == value and key.enabled for key in list(keys)):
            raise GatewayError(FORBIDDEN, "API key required")

    def throttle(self, route: Route) -> None:
        account = apigateway_backends[route.account_id][route.region].account
        checks: list[tuple[tuple[str, ...], Limits]] = [((route.account_id, route.region), account_limits(account))]
        limits = method_limits(route.stage.method_settings, route.resource.path, route.method.http_method)
        if limits is not None:
            key = (
                route.account_id,
                route.region,
                route.api.id,
                route.stage.name,
                method_settings_key(route.resource.path, route.method.http_method),
            )
            checks.append((key, limits))
        if not self.throttles.admit(checks):
            raise GatewayError(THROTTLED)

    def integrate(
        self, request: Request, route: Route, caller: Caller | None, ids: RequestIds, integration: _Integration
    ) -> Response:
        spec = route.method.integration
        if spec is None:
            raise GatewayError(
                INTERNAL_SERVER_ERROR, f"no integration for {route.method.http_method} {route.resource.path}"
            )
        if spec.type != "AWS_PROXY":
            raise GatewayError(
                INTERNAL_SERVER_ERROR,
                f"integration type {spec.type} is not emulated (only AWS_PROXY to Lambda; docs/emulator.md)",
            )
        integration.called = True
        started = time.perf_counter()
        try:
            response = apigateway_lambda.call(request, route, caller, ids)
            integration.status = 200
            return response
        except GatewayError as error:
            if error.response is INTEGRATION_FAILURE:  # the function answered: with an error or a malformed answer
                integration.status = 200
            raise
        finally:
            integration.milliseconds = (time.perf_counter() - started) * 1000

    def reset(self) -> None:
        self.throttles.reset()


def validate(request: Request, route: Route) -> None:
    """The request validator's parameter check (``validate_request_parameters``): required parameters present."""
    missing = []
    query, _ = apigateway_lambda.query_parameters(request.query)
    for name in route.method.required_parameters:
        _, _, location, key = ([*name.split(".", 3), "", "", "", ""])[:4]
        if location == "path":
            present = bool(route.path_parameters.get(key))
        elif location in ("querystring", "multivaluequerystring"):
            present = key in (query or {})
        elif location in ("header", "multivalueheader"):
            present = request.header(key) is not None
        else:
            present = True
        if not present:
            missing.append(key)
    if missing:
        raise GatewayError(missing_request_parameters(missing))


def install(ctx: Any) -> None:
    """Record deployment snapshots in moto and serve execute-api requests before moto's dispatcher."""
    apigateway_routing.install_snapshots()
    gateway = Gateway()
    ctx.front.add(ROUTE_NAME, gateway.matches, gateway)
    ctx.on_reset(gateway.reset)
