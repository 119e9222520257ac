"""TLS modes against real servers, and the cold-start validation of the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from handlers.config import ConfigError, Settings, TlsMode
from tests.handlers.lambda_support import invoke, rest_event
from tests.support.mariadb import MariaDB, make_tls_files

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-abc-AbCdEf"


def _cipher(api: Any) -> str:
    connection = api.database.writer.acquire()
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return str(cursor.fetchone()[1])


def _with(settings: Settings, **changes: Any) -> Settings:
    return Settings(**{**settings.__dict__, **changes})


def test_required_mode_encrypts_the_session_connection(api_module: Any) -> None:
    assert api_module.API.database.writer._tls is not None
    assert invoke(api_module.handler, rest_event("GET", "/health")).status == 200
    assert _cipher(api_module.API).startswith("TLS_")


@pytest.mark.parametrize(("mode", "host"), [("verify_identity", "localhost"), ("verify_ca", "127.0.0.1")])
def test_verifying_modes_accept_the_right_ca(
    api_module: Any, settings: Settings, mariadb_server: MariaDB, mode: str, host: str
) -> None:
    assert mariadb_server.tls is not None
    api = api_module.build(
        _with(settings, tls_mode=TlsMode(mode), tls_ca_bundle=mariadb_server.tls.ca, writer_host=host)
    )
    assert invoke(api.handler, rest_event("GET", "/health")).status == 200
    assert _cipher(api).startswith("TLS_")
    api.database.close()


def test_verify_identity_refuses_a_certificate_from_another_ca(
    api_module: Any, settings: Settings, tmp_path: Path
) -> None:
    other = make_tls_files(tmp_path, "Some Other CA")
    api = api_module.build(
        _with(settings, tls_mode=TlsMode.VERIFY_IDENTITY, tls_ca_bundle=other.ca, writer_host="localhost")
    )
    reply = invoke(api.handler, rest_event("GET", "/health"))
    assert reply.status == 503


def test_required_mode_refuses_a_server_without_tls(api_module: Any, settings: Settings, plain_server: MariaDB) -> None:
    api = api_module.build(_with(settings, port=plain_server.port, tls_mode=TlsMode.REQUIRED))
    assert invoke(api.handler, rest_event("GET", "/health")).status == 503  # no silent plaintext fallback
    plaintext = api_module.build(_with(settings, port=plain_server.port, tls_mode=TlsMode.DISABLED))
    assert invoke(plaintext.handler, rest_event("GET", "/health")).status == 200
    assert _cipher(plaintext) == ""
    plaintext.database.close()


def _env(**overrides: str) -> dict[str, str]:
    env = {"DB_SECRET_ARN": ARN, "DB_WRITER_HOST": "cluster.cluster-abc.us-east-1.rds.amazonaws.com"}
    env.update(overrides)
    return {name: value for name, value in env.items() if value != "<unset>"}


def test_defaults() -> None:
    settings = Settings.from_env(_env())
    assert settings == Settings(
        secret_arn=ARN,
        writer_host="cluster.cluster-abc.us-east-1.rds.amazonaws.com",
        reader_host=None,
        port=3306,
        database="trading",
        tls_mode=TlsMode.REQUIRED,
        tls_ca_bundle=None,
        connect_timeout_seconds=3,
        query_timeout_seconds=10,
        secret_max_age_seconds=300,
        api_base_path=None,
    )


def test_all_settings(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = Settings.from_env(
        _env(
            DB_READER_HOST="cluster.cluster-ro-abc.us-east-1.rds.amazonaws.com",
            DB_PORT="3307",
            DB_NAME="trades_db",
            DB_TLS="VERIFY-IDENTITY",
            DB_TLS_CA_BUNDLE=str(bundle),
            DB_CONNECT_TIMEOUT_SECONDS="5",
            DB_QUERY_TIMEOUT_SECONDS="20",
            DB_SECRET_MAX_AGE_SECONDS="60",
            API_BASE_PATH="/v1",
        )
    )
    assert settings.reader_host == "cluster.cluster-ro-abc.us-east-1.rds.amazonaws.com"
    assert (settings.port, settings.database, settings.tls_mode) == (3307, "trades_db", TlsMode.VERIFY_IDENTITY)
    assert (settings.tls_ca_bundle, settings.connect_timeout_seconds, settings.query_timeout_seconds) == (bundle, 5, 20)
    assert (settings.secret_max_age_seconds, settings.api_base_path) == (60, "/v1")


def test_reader_equal_to_writer_means_no_second_connection() -> None:
    assert Settings.from_env(_env(DB_READER_HOST="cluster.cluster-abc.us-east-1.rds.amazonaws.com")).reader_host is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DB_SECRET_ARN": "<unset>"}, "DB_SECRET_ARN is required"),
        ({"DB_SECRET_ARN": "my-secret"}, "DB_SECRET_ARN='my-secret' is not valid"),
        ({"DB_WRITER_HOST": ""}, "DB_WRITER_HOST is required"),
        ({"DB_WRITER_HOST": "bad host"}, "DB_WRITER_HOST='bad host' is not valid"),
        ({"DB_PORT": "0"}, "DB_PORT='0' must be an integer from 1 to 65535"),
        ({"DB_PORT": "3306x"}, "DB_PORT='3306x' must be an integer"),
        ({"DB_NAME": "trading-db"}, "DB_NAME='trading-db' is not valid"),
        ({"DB_TLS": "yes"}, "DB_TLS='yes' must be one of: disabled, required, verify_ca, verify_identity"),
        ({"DB_TLS": "verify_ca"}, "DB_TLS=verify_ca needs DB_TLS_CA_BUNDLE"),
        ({"DB_TLS_CA_BUNDLE": "/nonexistent.pem"}, "DB_TLS_CA_BUNDLE='/nonexistent.pem' is not a readable file"),
        ({"DB_QUERY_TIMEOUT_SECONDS": "31"}, "DB_QUERY_TIMEOUT_SECONDS='31' must be an integer from 1 to 30"),
        ({"API_BASE_PATH": "v1/"}, "API_BASE_PATH='v1/' is not valid"),
    ],
)
def test_invalid_settings_are_named(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(_env(**overrides))
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DB_PORT": "x", "DB_TLS": "nope"})
    text = str(caught.value)
    for name in ("DB_SECRET_ARN", "DB_WRITER_HOST", "DB_PORT", "DB_TLS"):
        assert name in text


@pytest.mark.parametrize("module", ["handlers.api", "handlers.migrate"])
def test_cold_start_fails_with_a_clear_message(module: str) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DB_", "API_"))}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode != 0
    assert "handlers.config.ConfigError: invalid handler configuration: DB_SECRET_ARN is required" in result.stderr
