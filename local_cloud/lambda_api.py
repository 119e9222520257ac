"""Lambda APIs and facts moto 5.2.5 lacks that the stack uses: provisioned concurrency, the account's settings, and
AWS-published layers (the AWS Parameters and Secrets Lambda Extension), whose HTTP API the workers of functions
carrying it get.

- Provisioned concurrency: ``Put/Get/Delete/ListProvisionedConcurrencyConfig(s)`` are served by moto's own Lambda
  dispatcher (an added URL pattern and LambdaResponse methods), so errors come in moto's Lambda shape. A config on
  a version or alias pre-warms that many workers (lambda_pool.Runtime.provision); its status is IN_PROGRESS until
  they have initialized, then READY (FAILED when INIT fails), which is what Terraform's
  ``aws_lambda_provisioned_concurrency_config`` polls for.
- AWS-published layers: moto looks layer ARNs up in the account's own layers and rejects the rest on
  CreateFunction. ``LambdaBackend.layers_versions_by_arn`` also accepts any published version of the layers in
  ``PUBLISHED_LAYERS`` (their content is not emulated: the emulator serves what they do).
- The extension's HTTP API (local_cloud/secrets_extension.py, backed by the emulator's Secrets Manager): one server
  per execution environment of a function that carries the layer, on a free port announced through the
  extension's own variable ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`` (it overrides the function's value: port
  2773 cannot be everyone's on a shared loopback).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from moto.awslambda import urls as lambda_urls
from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError
from moto.awslambda.models import LambdaBackend
from moto.awslambda.responses import LambdaResponse
from moto.core.common_types import TYPE_RESPONSE

from local_cloud.lambda_config import FunctionConfig
from local_cloud.lambda_pool import ProvisionedConfig, Runtime

# AWS's account that publishes the extension layers (us-east-1 and most regions); any version is accepted.
PARAMETERS_SECRETS_ACCOUNT = "177933569100"
PARAMETERS_SECRETS_LAYER = re.compile(
    rf"^arn:aws:lambda:(?P<region>[a-z0-9-]+):{PARAMETERS_SECRETS_ACCOUNT}:layer:"
    r"AWS-Parameters-and-Secrets-Lambda-Extension(?:-Arm64)?:(?P<version>[1-9][0-9]*)$"
)
PUBLISHED_LAYERS = (PARAMETERS_SECRETS_LAYER,)
PORT_VARIABLE = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
PROVISIONED_PATH = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
ACCOUNT_SETTINGS_PATH = r"{0}/(?P<api_version>[^/]+)/account-settings/?$"
# AWS's default per-region quota; moto enforces it on PutFunctionConcurrency (with AWS's 100 kept unreserved)
# when MOTO_LAMBDA_CONCURRENCY_QUOTA is set, which local_cloud/server.py does.
DEFAULT_CONCURRENCY_QUOTA = 1000


class ProvisionedConcurrencyConfigNotFoundException(LambdaClientError):
    code = 404

    def __init__(self) -> None:
        super().__init__(
            "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function"
        )


@dataclass(frozen=True)
class PublishedLayerVersion:
    """What moto's CreateFunction reads of a layer version: its ARN and size."""

    arn: str
    code_size: int = 0  # the layer's content is not emulated


def is_published_layer(arn: str) -> bool:
    return any(pattern.match(arn) for pattern in PUBLISHED_LAYERS)


# --- provisioned concurrency: methods of moto's LambdaResponse ----------------------------------------------------

_runtime: Runtime | None = None


def _provisioned_runtime() -> Runtime:
    assert _runtime is not None, "local_cloud.lambda_runtime is not installed"
    return _runtime


def _describe(config: ProvisionedConfig, function_arn: str | None = None) -> dict[str, Any]:
    allocated = config.allocated()
    described: dict[str, Any] = {
        "RequestedProvisionedConcurrentExecutions": config.requested,
        "AvailableProvisionedConcurrentExecutions": allocated,
        "AllocatedProvisionedConcurrentExecutions": allocated,
        "Status": config.status,
        "LastModified": config.last_modified,
    }
    if config.reason:
        described["StatusReason"] = config.reason
    if function_arn:
        described = {"FunctionArn": function_arn, **described}
    return described


def _target(response: LambdaResponse) -> tuple[Any, str | None]:
    name = unquote(response.path.rsplit("/", 2)[-2])
    qualifier = response.querystring.get("Qualifier", [None])[0]
    return name, qualifier


def put_provisioned_concurrency_config(self: LambdaResponse) -> TYPE_RESPONSE:
    name, qualifier = _target(self)
    requested = json.loads(self.body or "{}").get("ProvisionedConcurrentExecutions")
    if not qualifier:
        raise InvalidParameterValueException("Qualifier is required for provisioned concurrency")
    if not isinstance(requested, int) or requested < 1:
        raise InvalidParameterValueException("ProvisionedConcurrentExecutions must be at least 1")
    fn = self.backend.get_function(name, qualifier)
    if str(fn.version) == "$LATEST":
        raise InvalidParameterValueException(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
        )
    config = _provisioned_runtime().provision(fn, qualifier, requested)
    return 202, {"status": 202}, json.dumps(_describe(config))


def get_provisioned_concurrency_config(self: LambdaResponse) -> TYPE_RESPONSE:
    if self.querystring.get("List"):
        return list_provisioned_concurrency_configs(self)
    name, qualifier = _target(self)
    fn = self.backend.get_function(name, qualifier)
    config = _provisioned_runtime().provisioned_config(fn.account_id, fn.region, fn.function_name, qualifier or "")
    if config is None:
        raise ProvisionedConcurrencyConfigNotFoundException()
    return 200, {}, json.dumps(_describe(config))


def delete_provisioned_concurrency_config(self: LambdaResponse) -> TYPE_RESPONSE:
    name, qualifier = _target(self)
    fn = self.backend.get_function(name, qualifier)
    if not _provisioned_runtime().deprovision(fn.account_id, fn.region, fn.function_name, qualifier or ""):
        raise ProvisionedConcurrencyConfigNotFoundException()
    return 204, {"status": 204}, ""


def list_provisioned_concurrency_configs(self: LambdaResponse) -> TYPE_RESPONSE:
    name, _ = _target(self)
    fn = self.backend.get_function(name, None)
    configs = _provisioned_runtime().provisioned_configs(fn.account_id, fn.region, fn.function_name)
    arn = FunctionConfig.of(fn).arn
    listed = [_describe(config, f"{arn}:{qualifier}") for qualifier, config in sorted(configs.items())]
    return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": listed})


def get_account_settings(self: LambdaResponse) -> TYPE_RESPONSE:
    """``GetAccountSettings``: the concurrency quota and what the account's functions leave unreserved (what
    tools/preflight.py checks before a real deploy), and the account's usage."""
    limit = int(os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA") or DEFAULT_CONCURRENCY_QUOTA)
    functions = list(self.backend.list_functions())
    reserved = sum(int(fn.reserved_concurrency or 0) for fn in functions)
    settings = {
        "AccountLimit": {
            "TotalCodeSize": 80530636800,
            "CodeSizeUnzipped": 262144000,
            "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": limit - reserved,
        },
        "AccountUsage": {
            "TotalCodeSize": sum(int(fn.code_size or 0) for fn in functions),
            "FunctionCount": len(functions),
        },
    }
    return 200, {}, json.dumps(settings)


_RESPONSE_METHODS: dict[str, Callable[[LambdaResponse], TYPE_RESPONSE]] = {
    "get_account_settings": get_account_settings,
    "put_provisioned_concurrency_config": put_provisioned_concurrency_config,
    "get_provisioned_concurrency_config": get_provisioned_concurrency_config,
    "delete_provisioned_concurrency_config": delete_provisioned_concurrency_config,
    "list_provisioned_concurrency_configs": list_provisioned_concurrency_configs,
}


# --- the secrets extension ----------------------------------------------------------------------------------------

# What an execution environment gets besides its worker: variables to add, and what to stop with the worker.
Companion = tuple[dict[str, str], Callable[[], None] | None]


class SecretsExtensions:
    """The Parameters and Secrets extension's HTTP API, one server per execution environment of a function that
    carries the layer (as on AWS, where the extension is a process of that environment: its cache and its settings
    — SECRETS_MANAGER_TTL, the cache size — are the function's). Backed by the emulator's Secrets Manager."""

    def __init__(self, endpoint: str, session_token: str) -> None:
        self._endpoint = endpoint
        self._session_token = session_token

    def start_for(self, config: FunctionConfig) -> Companion:
        if not any(PARAMETERS_SECRETS_LAYER.match(arn) for arn in config.layers):
            return {}, None
        from local_cloud import secrets_extension  # the handlers' protocol server (contract 2)

        function_env = dict(config.env)
        try:
            settings = secrets_extension.settings_from_env(function_env)
        except ValueError as exc:
            # The real extension refuses to start on such a value; the function then finds nothing on the port.
            print(
                f"local_cloud lambda: {config.name}: Parameters and Secrets extension not started: {exc}",
                file=sys.stderr,
                flush=True,
            )
            return {}, None
        server = secrets_extension.start(
            port=0,
            client_factory=lambda: _secrets_manager(self._endpoint, config.region),
            token=self._session_token,
            ttl=settings.ttl_seconds,
            cache_size=settings.cache_size,
        )
        return {PORT_VARIABLE: str(server.port)}, server.stop


def _secrets_manager(endpoint: str, region: str) -> Any:
    import boto3

    from python_stacks.target import TEST_ACCESS_KEY, TEST_SECRET_KEY

    return boto3.client(
        "secretsmanager",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=TEST_ACCESS_KEY,
        aws_secret_access_key=TEST_SECRET_KEY,
    )


# --- installation -------------------------------------------------------------------------------------------------


def install(runtime: Runtime) -> None:
    """Apply the hooks (tests/unit/test_moto_contract_lambda.py pins what they rely on)."""
    global _runtime
    _runtime = runtime
    lambda_urls.url_paths.setdefault(PROVISIONED_PATH, LambdaResponse.dispatch)
    lambda_urls.url_paths.setdefault(ACCOUNT_SETTINGS_PATH, LambdaResponse.dispatch)
    for name, method in _RESPONSE_METHODS.items():
        setattr(LambdaResponse, name, method)

    original = LambdaBackend.layers_versions_by_arn
    if getattr(original, "_local_cloud", False):
        return

    def layers_versions_by_arn(self: LambdaBackend, layer_version_arn: str) -> Any:
        found = original(self, layer_version_arn)
        if found is None and is_published_layer(layer_version_arn):
            return PublishedLayerVersion(layer_version_arn)
        return found

    layers_versions_by_arn._local_cloud = True  # type: ignore[attr-defined]
    LambdaBackend.layers_versions_by_arn = layers_versions_by_arn  # type: ignore[method-assign]
