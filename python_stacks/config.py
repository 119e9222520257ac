"""What one synthesis is for, read once from the environment and validated with one-line errors."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from python_stacks import UserError
from python_stacks.backend import LOCAL, BackendChoice, BackendConfigError, backend_from_env
from python_stacks.target import Target, target_for
from python_stacks.workspace import Naming, WorkspaceSettings, settings_for

DEFAULT_DOMAIN = "trading.example.com"
# What tools and tests use to synthesize the real-AWS configuration without an account (policy gate, diagram, HCL
# export, provider-6 check); a deployment names its own domain and zone, which the preflight looks up.
EXAMPLE_AWS_ZONE = {"TRADING_DOMAIN": DEFAULT_DOMAIN, "TRADING_HOSTED_ZONE_ID": "Z0000000000EXAMPLE"}
_DOMAIN = re.compile(r"^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# The one definition of a hosted-zone id; tf_modules/api validates zone_id with the same regex
# (tests/contract/test_shared_rules.py). AWS ids start with Z today, but only the shape is documented.
ZONE_ID_PATTERN = r"^[A-Z0-9]{1,32}$"
_ZONE_ID = re.compile(ZONE_ID_PATTERN)


# Every environment variable that selects or shapes a deployment; tools and tests that need a clean slate drop these.
SELECTING_VARIABLES = (
    "TF_WORKSPACE",
    "ENVIRONMENT_SUFFIX",
    "TARGET",
    "LOCAL_AWS_ENDPOINT",
    "TRADING_DOMAIN",
    "TRADING_HOSTED_ZONE_ID",
    "TF_BACKEND",
    "TF_STATE_BUCKET",
    "TF_STATE_REGION",
    "TF_STATE_KMS_KEY_ID",
    "TF_STATE_LOCK",
    "TF_STATE_LOCK_TABLE",
)


class ConfigError(UserError, ValueError):
    """The environment does not describe a valid deployment."""


@dataclass(frozen=True)
class StackConfig:
    settings: WorkspaceSettings
    naming: Naming
    target: Target
    domain: str
    hosted_zone_id: str | None
    # Where the stacks keep their state (TF_BACKEND, TF_STATE_*); see python_stacks/backend.py.
    backend: BackendChoice = LOCAL

    @property
    def workspace(self) -> str:
        return self.settings.workspace

    @property
    def api_domain_name(self) -> str:
        return f"{self.settings.api_host_label}.{self.domain}"


def load_config(workspace: str | None, env: Mapping[str, str] | None = None) -> StackConfig:
    """Build the configuration for ``workspace`` from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    settings = settings_for(workspace)
    naming = Naming(env.get("ENVIRONMENT_SUFFIX") or settings.workspace)
    target = target_for(env.get("TARGET"), env.get("LOCAL_AWS_ENDPOINT"))
    domain = (env.get("TRADING_DOMAIN") or DEFAULT_DOMAIN).lower().rstrip(".")
    if not _DOMAIN.match(domain):
        raise ConfigError(f"invalid TRADING_DOMAIN {domain!r}: expected a DNS name such as example.com")
    zone_id = env.get("TRADING_HOSTED_ZONE_ID") or None
    if zone_id is not None and not _ZONE_ID.match(zone_id):
        raise ConfigError(f"invalid TRADING_HOSTED_ZONE_ID {zone_id!r}: expected a Route 53 zone id like Z0123ABC")
    if not target.is_local and not (env.get("TRADING_DOMAIN") and zone_id):
        # A zone the stack created itself is delegated by no parent: ACM's DNS validation would wait 75 minutes.
        raise ConfigError(
            "TARGET=aws needs TRADING_DOMAIN (a domain you control) and TRADING_HOSTED_ZONE_ID (its existing, "
            "delegated Route 53 zone): see docs/deploy.md"
        )
    try:
        backend = backend_from_env(env)
    except BackendConfigError as exc:
        raise ConfigError(str(exc)) from None
    return StackConfig(
        settings=settings, naming=naming, target=target, domain=domain, hosted_zone_id=zone_id, backend=backend
    )
