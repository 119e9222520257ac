"""Which deployed method a request reaches: the three ways in, the stage's deployment, and the resource tree.

Ways in (all on the emulator's own port):

- ``Host: {api-id}.execute-api.{region}.amazonaws.com``, path ``/{stage}/...`` (the stage's invoke URL);
- ``/restapis/{api-id}/{stage}/_user_request_/...`` on any host (LocalStack's form: a plain URL, no Host header);
- ``Host: {custom domain}``: the domain's base path mappings choose API and stage.

A stage serves its *deployment*: API Gateway freezes the API's resources, methods and integrations when a
deployment is created, and changes made afterwards take effect only with the next deployment. moto keeps no such
copy (a Deployment is an id and a description), so ``install_snapshots`` records one whenever moto creates a
deployment. Stage settings (variables, throttling) are read live, as on AWS.

Matching follows API Gateway: a literal path part beats ``{param}``, which beats a greedy ``{proxy+}`` (one or more
remaining parts); a trailing slash is the same resource; a method is looked up exactly, then as ``ANY``.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from moto.apigateway import models as apigw

from local_cloud.apigateway_http import FORBIDDEN, MISSING_AUTHENTICATION_TOKEN, GatewayError, Request

EXECUTE_API_HOST = re.compile(r"^(?P<api>[a-z0-9-]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
USER_REQUEST_PATH = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<rest>/.*)?$")
USER_REQUEST_MARKER = "/_user_request_"
NO_BASE_PATH = "(none)"  # moto's (and API Gateway's) name of the empty base path
DEFAULT_TIMEOUT_MS = 29_000  # API Gateway's default (and, without a quota increase, maximum) integration timeout
REGION_OF_EXECUTE_API = "{api}.execute-api.{region}.amazonaws.com"


# --------------------------------------------------------------------------------------------------------------------
# The deployment snapshot
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrationSpec:
    type: str
    uri: str
    timeout_ms: int


@dataclass(frozen=True)
class MethodSpec:
    http_method: str
    authorization_type: str
    api_key_required: bool
    # Request parameters the request validator requires ("method.request.path.id", ...); empty without validation.
    required_parameters: tuple[str, ...]
    integration: IntegrationSpec | None


@dataclass(frozen=True)
class ResourceSpec:
    id: str
    path: str  # the resource path template, e.g. /trades/{id}
    parts: tuple[str, ...]
    methods: Mapping[str, MethodSpec]

    def method(self, http_method: str) -> MethodSpec | None:
        return self.methods.get(http_method) or self.methods.get("ANY")


@dataclass(frozen=True)
class DeploymentSpec:
    api_id: str
    deployment_id: str
    resources: tuple[ResourceSpec, ...]
    binary_media_types: tuple[str, ...]


_snapshots: weakref.WeakKeyDictionary[Any, DeploymentSpec] = weakref.WeakKeyDictionary()
_snapshots_lock = threading.Lock()
_INSTALLED_MARK = "_local_cloud_snapshots"


def snapshot(api: Any, deployment_id: str) -> DeploymentSpec:
    """The API as a deployment made now would freeze it."""
    validators = {v.id: v for v in api.request_validators.values()}
    resources = []
    for resource in list(api.resources.values()):
        path = resource.get_path()
        methods = {}
        for http_method, method in list(resource.resource_methods.items()):
            validator = validators.get(method.request_validator_id or "")
            required: tuple[str, ...] = ()
            if validator is not None and validator.validate_request_parameters:
                required = tuple(
                    sorted(name for name, needed in (method.request_parameters or {}).items() if _true(needed))
                )
            integration = method.method_integration
            methods[http_method] = MethodSpec(
                http_method=http_method,
                authorization_type=(method.authorization_type or "NONE").upper(),
                api_key_required=bool(method.api_key_required),
                required_parameters=required,
                integration=None
                if integration is None
                else IntegrationSpec(
                    type=(integration.integration_type or "").upper(),
                    uri=integration.uri or "",
                    timeout_ms=int(integration.timeout_in_millis or DEFAULT_TIMEOUT_MS),
                ),
            )
        parts = tuple(part for part in path.split("/") if part)
        resources.append(ResourceSpec(id=resource.id, path=path, parts=parts, methods=methods))
    return DeploymentSpec(
        api_id=api.id,
        deployment_id=deployment_id,
        resources=tuple(resources),
        binary_media_types=tuple(t for t in api.binaryMediaTypes or () if t),  # moto stores "" for some patches
    )


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def install_snapshots() -> None:
    """Record a snapshot of the API whenever moto creates a deployment (idempotent)."""
    original = apigw.RestAPI.create_deployment
    if getattr(original, _INSTALLED_MARK, False):
        return

    def create_deployment(self: Any, name: str, description: str, stage_variables: Any = None) -> Any:
        deployment = original(self, name, description, stage_variables)
        frozen = snapshot(self, deployment.id)
        with _snapshots_lock:
            _snapshots[deployment] = frozen
        return deployment

    setattr(create_deployment, _INSTALLED_MARK, True)
    create_deployment.__wrapped__ = original  # type: ignore[attr-defined]
    apigw.RestAPI.create_deployment = create_deployment  # type: ignore[method-assign]


def deployment_spec(api: Any, deployment_id: str | None) -> DeploymentSpec | None:
    deployment = api.deployments.get(deployment_id or "")
    if deployment is None:
        return None
    with _snapshots_lock:
        frozen = _snapshots.get(deployment)
    # A deployment made before the hook was installed (in-process use only): the live API is the closest copy.
    return frozen if frozen is not None else snapshot(api, deployment.id)


# --------------------------------------------------------------------------------------------------------------------
# Ways in
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """How the request addressed an API, before any lookup beyond the cheapest."""

    kind: str  # "execute-api" | "user-request" | "custom-domain"
    api_id: str | None = None
    region: str | None = None
    stage: str | None = None
    domain: str | None = None


def _backends() -> Iterator[tuple[str, str, Any]]:
    # A copy: other request threads may create backends while we look.
    yield from list(apigw.apigateway_backends.iter_backends())


def _host_name(host: str) -> str:
    host = host.strip().lower()
    return host.rsplit(":", 1)[0] if ":" in host and not host.startswith("[") else host


def entry_for(environ: Mapping[str, Any]) -> Entry | None:
    """The way in, or None when the request is not for execute-api (then moto gets it). Runs for every request."""
    path = str(environ.get("PATH_INFO") or "")
    if path.startswith("/restapis/") and USER_REQUEST_MARKER in path:
        match = USER_REQUEST_PATH.match(path)
        if match:
            return Entry("user-request", api_id=match["api"], stage=match["stage"])
    host = _host_name(str(environ.get("HTTP_HOST") or ""))
    if not host.endswith(".amazonaws.com") and "." not in host:
        return None  # localhost and the like: moto's own endpoint
    if ".execute-api." in host:
        match = EXECUTE_API_HOST.match(host)
        if match:
            return Entry("execute-api", api_id=match["api"], region=match["region"])
    if host.replace(".", "").isdigit():
        return None  # an IPv4 address
    if any(host in backend.domain_names for _, _, backend in _backends()):
        return Entry("custom-domain", domain=host)
    return None


# --------------------------------------------------------------------------------------------------------------------
# The route
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Where a request landed: API, stage, deployed resource and method, and the paths the proxy event reports."""

    account_id: str
    region: str
    api: Any  # moto RestAPI
    stage: Any  # moto Stage (read live: variables, method settings)
    deployment: DeploymentSpec
    resource: ResourceSpec
    method: MethodSpec
    path_parameters: Mapping[str, str]
    event_path: str  # "path" of the proxy event: the path after the stage (custom domain: as sent, base path included)
    context_path: str  # requestContext.path: the path as the client addressed it (stage or base path included)
    domain_name: str


def _find_api(api_id: str, region: str | None) -> tuple[str, str, Any] | None:
    for account_id, backend_region, backend in _backends():
        if region and backend_region != region:
            continue
        api = backend.apis.get(api_id)
        if api is not None:
            return account_id, backend_region, api
    return None


def _segments(raw_path: str) -> list[str]:
    """Percent-decoded path parts; a trailing slash is the same resource."""
    parts = raw_path.split("/")[1:] if raw_path.startswith("/") else raw_path.split("/")
    if parts and parts[-1] == "":
        parts.pop()
    return [unquote(part) for part in parts]


def route(request: Request, entry: Entry) -> Route:
    """The deployed method for this request, or a GatewayError with API Gateway's answer."""
    if entry.kind == "custom-domain":
        return _route_custom_domain(request, entry.domain or "")
    found = _find_api(entry.api_id or "", entry.region)
    if found is None:
        raise GatewayError(FORBIDDEN, f"no REST API {entry.api_id}")
    account_id, region, api = found
    if api.disableExecuteApiEndpoint:
        raise GatewayError(FORBIDDEN, f"the execute-api endpoint of {api.id} is disabled")
    domain = REGION_OF_EXECUTE_API.format(api=api.id, region=region)
    if entry.kind == "user-request":
        raw_rest = request.raw_path.split(USER_REQUEST_MARKER, 1)[1] if USER_REQUEST_MARKER in request.raw_path else ""
        stage_name = entry.stage or ""
        segments = _segments(raw_rest or "/")
    else:
        all_segments = _segments(request.raw_path)
        if not all_segments:
            raise GatewayError(FORBIDDEN, "no stage in the path")
        stage_name, segments = all_segments[0], all_segments[1:]
    event_path = "/" + "/".join(segments) + ("/" if request.path.endswith("/") and segments else "")
    return _resolve(
        account_id, region, api, stage_name, segments, event_path, f"/{stage_name}{event_path}", domain, request.method
    )


def _route_custom_domain(request: Request, domain: str) -> Route:
    for account_id, region, backend in _backends():
        if domain not in backend.domain_names:
            continue
        mappings = backend.base_path_mappings.get(domain) or {}
        segments = _segments(request.raw_path)
        mapping, rest = _mapping_for(mappings, segments)
        if mapping is None:
            raise GatewayError(FORBIDDEN, f"no base path mapping of {domain} for {request.path}")
        api = backend.apis.get(mapping.rest_api_id)
        if api is None:
            raise GatewayError(FORBIDDEN, f"{domain} maps to a deleted API {mapping.rest_api_id}")
        stage_name = mapping.stage
        if not stage_name:  # a mapping without a stage: the stage is the next path part
            if not rest:
                raise GatewayError(FORBIDDEN, "no stage in the path")
            stage_name, rest = rest[0], rest[1:]
        path = request.path or "/"
        return _resolve(account_id, region, api, stage_name, rest, path, path, domain, request.method)
    raise GatewayError(FORBIDDEN, f"no custom domain {domain}")


def _mapping_for(mappings: Mapping[str, Any], segments: list[str]) -> tuple[Any | None, list[str]]:
    """The longest base path that prefixes the path, else the empty base path."""
    best: tuple[int, Any] | None = None
    for base_path, mapping in mappings.items():
        if base_path == NO_BASE_PATH:
            continue
        parts = [part for part in base_path.split("/") if part]
        if parts and segments[: len(parts)] == parts and (best is None or len(parts) > best[0]):
            best = (len(parts), mapping)
    if best is not None:
        return best[1], segments[best[0] :]
    return mappings.get(NO_BASE_PATH), segments


def _resolve(
    account_id: str,
    region: str,
    api: Any,
    stage_name: str,
    segments: list[str],
    event_path: str,
    context_path: str,
    domain: str,
    http_method: str,
) -> Route:
    stage = api.stages.get(stage_name)
    if stage is None:
        raise GatewayError(FORBIDDEN, f"no stage {stage_name!r} in API {api.id}")
    deployment = deployment_spec(api, stage.deployment_id)
    if deployment is None:
        raise GatewayError(FORBIDDEN, f"stage {stage_name} of {api.id} has no deployment")
    matched = match(deployment, segments, http_method)
    if matched is None:
        raise GatewayError(MISSING_AUTHENTICATION_TOKEN, f"no {http_method} method for /{'/'.join(segments)}")
    resource, method, parameters = matched
    return Route(
        account_id, region, api, stage, deployment, resource, method, parameters, event_path, context_path, domain
    )


def match(
    deployment: DeploymentSpec, segments: list[str], http_method: str
) -> tuple[ResourceSpec, MethodSpec, dict[str, str]] | None:
    """The most specific resource that matches the path and has the method (or ANY)."""
    best: tuple[tuple[int, ...], ResourceSpec, MethodSpec, dict[str, str]] | None = None
    for resource in deployment.resources:
        method = resource.method(http_method)
        if method is None:
            continue
        bound = _bind(resource.parts, segments)
        if bound is None:
            continue
        rank, parameters = bound
        if best is None or rank > best[0]:
            best = (rank, resource, method, parameters)
    return None if best is None else (best[1], best[2], best[3])


def _bind(parts: tuple[str, ...], segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Rank (2 literal, 1 parameter, 0 greedy per part, compared left to right) and path parameters, or None."""
    rank: list[int] = []
    parameters: dict[str, str] = {}
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if index != len(parts) - 1 or not rest:
                return None
            parameters[part[1:-2]] = "/".join(rest)
            rank.append(0)
            return tuple(rank), parameters
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not segments[index]:
                return None
            parameters[part[1:-1]] = segments[index]
            rank.append(1)
        elif part == segments[index]:
            rank.append(2)
        else:
            return None
    if len(segments) != len(parts):
        return None
    return tuple(rank), parameters
