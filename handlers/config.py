"""Runtime configuration read from environment variables and validated once, at cold start.

Every problem is reported at once in a single ``ConfigError`` so a misconfigured deployment fails its first
invocation (INIT phase) with one readable message instead of a string of redeploys. The two entry points share
the database settings; each also requires what only it uses (``Settings.for_api`` / ``Settings.for_migration``).

``API_ENVIRONMENT`` and ``MIGRATION_ENVIRONMENT`` are the handler side of contract 1 (the variables the stack sets
on each function): the one list of names, and whether each is required. The stack does not import them; a contract
test (tests/contract/test_handlers_contract.py) compares them with the synthesized functions.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!-]+")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?")
_DB_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_BASE_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")
# CloudWatch namespaces: 1-255 of these characters, not starting with a colon.
_METRICS_NAMESPACE = re.compile(r"[A-Za-z0-9.\-_/#][A-Za-z0-9.\-_/#:]{0,254}")
EXTENSION_DEFAULT_PORT = 2773  # the AWS Parameters and Secrets Lambda Extension's default


@dataclass(frozen=True)
class Environment:
    """The environment variables of one Lambda entry point: the deployment sets ``required``, may set ``optional``."""

    entry_point: str  # the function's ``handler`` setting
    required: frozenset[str]
    optional: frozenset[str]

    @property
    def names(self) -> frozenset[str]:
        return self.required | self.optional


# Read by libraries in the same execution environment, not by ``_parse``: Powertools (service name -- the metrics'
# `service` dimension -- and log level) and AWS's Parameters and Secrets extension layer (its cache lifetime).
READ_BY_POWERTOOLS = frozenset({"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"})
READ_BY_EXTENSION = frozenset({"SECRETS_MANAGER_TTL"})
_SHARED_OPTIONAL = frozenset(
    {
        "DB_READER_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_TLS",
        "DB_TLS_CA_BUNDLE",
        "DB_CONNECT_TIMEOUT_SECONDS",
        "DB_QUERY_TIMEOUT_SECONDS",
        "POWERTOOLS_LOG_LEVEL",
    }
)
API_ENVIRONMENT = Environment(
    entry_point="handlers.api.handler",
    required=frozenset({"DB_SECRET_ARN", "DB_WRITER_HOST", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}),
    optional=_SHARED_OPTIONAL | {"API_BASE_PATH", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "SECRETS_MANAGER_TTL"},
)
MIGRATION_ENVIRONMENT = Environment(
    entry_point="handlers.migrate.handler",
    required=frozenset({"DB_SECRET_ARN", "DB_APP_SECRET_ARN", "DB_WRITER_HOST", "POWERTOOLS_SERVICE_NAME"}),
    optional=_SHARED_OPTIONAL,
)


class ConfigError(RuntimeError):
    """The environment does not describe a usable deployment."""


class TlsMode(enum.StrEnum):
    """How the database connection is protected (names follow the MySQL client's ``--ssl-mode``)."""

    DISABLED = "disabled"  # local tests only: plaintext
    REQUIRED = "required"  # encrypted; the server certificate is not checked
    VERIFY_CA = "verify_ca"  # encrypted; certificate chain checked against DB_TLS_CA_BUNDLE
    VERIFY_IDENTITY = "verify_identity"  # as verify_ca, plus the host name must match the certificate


@dataclass(frozen=True)
class Settings:
    """Everything the handlers need from the environment."""

    secret_arn: str
    writer_host: str
    reader_host: str | None
    port: int = 3306
    database: str = "trading"
    tls_mode: TlsMode = TlsMode.REQUIRED
    tls_ca_bundle: Path | None = None
    connect_timeout_seconds: int = 3
    query_timeout_seconds: int = 10
    api_base_path: str | None = None
    extension_port: int = EXTENSION_DEFAULT_PORT  # API: where the secrets extension listens
    metrics_namespace: str | None = None  # API: CloudWatch namespace of the trade metrics
    app_secret_arn: str | None = None  # migration: the application user's secret, filled by the migration

    @classmethod
    def for_api(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings of ``handlers.api``; raise ``ConfigError`` listing every problem."""
        return _parse(os.environ if env is None else env, api=True)

    @classmethod
    def for_migration(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings of ``handlers.migrate``; raise ``ConfigError`` listing every problem."""
        return _parse(os.environ if env is None else env, api=False)


def _parse(env: Mapping[str, str], api: bool) -> Settings:
    problems: list[str] = []
    required = (API_ENVIRONMENT if api else MIGRATION_ENVIRONMENT).required

    def text(name: str, pattern: re.Pattern[str] | None, hint: str) -> str | None:
        value = env.get(name, "").strip()
        if not value:
            if name in required:
                problems.append(f"{name} is required ({hint})")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            problems.append(f"{name}={value!r} is not valid ({hint})")
            return None
        return value

    def integer(name: str, default: int, low: int, high: int) -> int:
        raw = env.get(name, "").strip()
        if not raw:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            problems.append(f"{name}={raw!r} must be an integer from {low} to {high}")
            return default
        return int(raw)

    secret_hint = "the ARN of the application user's secret" if api else "the ARN of the RDS-managed master secret"
    secret_arn = text("DB_SECRET_ARN", _SECRET_ARN, secret_hint)
    writer = text("DB_WRITER_HOST", _HOST, "the cluster (writer) endpoint host name")
    reader = text("DB_READER_HOST", _HOST, "the cluster reader endpoint host name")
    database = text("DB_NAME", _DB_NAME, "letters, digits and _, at most 64") or "trading"
    port = integer("DB_PORT", 3306, 1, 65535)
    connect_timeout = integer("DB_CONNECT_TIMEOUT_SECONDS", 3, 1, 30)
    query_timeout = integer("DB_QUERY_TIMEOUT_SECONDS", 10, 1, 30)

    base_path = namespace = app_secret = None
    extension_port = EXTENSION_DEFAULT_PORT
    if api:
        base_path = text("API_BASE_PATH", _BASE_PATH, "a path prefix such as `/v1`, no trailing slash")
        extension_port = integer("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", EXTENSION_DEFAULT_PORT, 1, 65535)
        namespace = text(
            "POWERTOOLS_METRICS_NAMESPACE", _METRICS_NAMESPACE, "the CloudWatch namespace of the trade metrics"
        )
    else:
        app_secret = text(
            "DB_APP_SECRET_ARN", _SECRET_ARN, "the ARN of the application user's secret the migration fills"
        )

    raw_mode = env.get("DB_TLS", "").strip().lower().replace("-", "_") or TlsMode.REQUIRED.value
    try:
        tls_mode = TlsMode(raw_mode)
    except ValueError:
        allowed = ", ".join(mode.value for mode in TlsMode)
        problems.append(f"DB_TLS={env.get('DB_TLS')!r} must be one of: {allowed}")
        tls_mode = TlsMode.REQUIRED

    ca_bundle: Path | None = None
    raw_ca = env.get("DB_TLS_CA_BUNDLE", "").strip()
    if raw_ca:
        ca_bundle = Path(raw_ca)
        if not ca_bundle.is_file():
            problems.append(f"DB_TLS_CA_BUNDLE={raw_ca!r} is not a readable file")
    elif tls_mode in (TlsMode.VERIFY_CA, TlsMode.VERIFY_IDENTITY):
        problems.append(f"DB_TLS={tls_mode.value} needs DB_TLS_CA_BUNDLE (a PEM file with the RDS CA certificates)")

    if problems:
        raise ConfigError("invalid handler configuration: " + "; ".join(problems))
    assert secret_arn is not None and writer is not None  # guaranteed by the checks above
    return Settings(
        secret_arn=secret_arn,
        writer_host=writer,
        reader_host=reader if reader and reader != writer else None,
        port=port,
        database=database,
        tls_mode=tls_mode,
        tls_ca_bundle=ca_bundle,
        connect_timeout_seconds=connect_timeout,
        query_timeout_seconds=query_timeout,
        api_base_path=base_path,
        extension_port=extension_port,
        metrics_namespace=namespace,
        app_secret_arn=app_secret,
    )
