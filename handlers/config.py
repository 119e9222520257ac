"""Runtime configuration read from environment variables and validated once, at cold start.

Every problem is reported at once in a single ``ConfigError`` so a misconfigured deployment fails its first
invocation (INIT phase) with one readable message instead of a string of redeploys.
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


class ConfigError(RuntimeError):
    """The environment does not describe a usable deployment."""


class TlsMode(str, enum.Enum):
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
    secret_max_age_seconds: int = 300
    api_base_path: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``); raise ``ConfigError`` listing every problem."""
        env = os.environ if env is None else env
        problems: list[str] = []

        def text(name: str, pattern: re.Pattern[str] | None, required: bool, hint: str) -> str | None:
            value = env.get(name, "").strip()
            if not value:
                if required:
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

        secret_arn = text("DB_SECRET_ARN", _SECRET_ARN, True, "the ARN of the RDS-managed Secrets Manager secret")
        writer = text("DB_WRITER_HOST", _HOST, True, "the cluster (writer) endpoint host name")
        reader = text("DB_READER_HOST", _HOST, False, "the cluster reader endpoint host name")
        database = text("DB_NAME", _DB_NAME, False, "letters, digits and _, at most 64") or "trading"
        base_path = text("API_BASE_PATH", _BASE_PATH, False, "a path prefix such as `/v1`, no trailing slash")
        port = integer("DB_PORT", 3306, 1, 65535)
        connect_timeout = integer("DB_CONNECT_TIMEOUT_SECONDS", 3, 1, 30)
        query_timeout = integer("DB_QUERY_TIMEOUT_SECONDS", 10, 1, 30)
        secret_max_age = integer("DB_SECRET_MAX_AGE_SECONDS", 300, 0, 86400)

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
        return cls(
            secret_arn=secret_arn,
            writer_host=writer,
            reader_host=reader if reader and reader != writer else None,
            port=port,
            database=database,
            tls_mode=tls_mode,
            tls_ca_bundle=ca_bundle,
            connect_timeout_seconds=connect_timeout,
            query_timeout_seconds=query_timeout,
            secret_max_age_seconds=secret_max_age,
            api_base_path=base_path,
        )
