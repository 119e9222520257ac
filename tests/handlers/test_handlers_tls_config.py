"""TLS modes against real servers, and the cold-start validation of the environment.

``verify_identity`` (what the stack sets when the ZIP carries the RDS CA bundle, ``python -m tools.package
--ca-bundle``) is checked against TLS MariaDB servers with a throw-away CA: the right CA and host name connect;
another CA, or the right CA with a certificate for another host name, are refused.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handlers.config import ConfigError, Settings, TlsMode
from handlers.migration import SecretsManagerSecrets, migrate_database
from tests.handlers.conftest import grant_master
from tests.handlers.lambda_support import invoke, rest_event
from tests.support.mariadb import MariaDB, TlsFiles, make_tls_files

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-abc-AbCdEf"
APP_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:trades-api-db-AbCdEf"


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


def _certificate_for_another_host(directory: Path) -> TlsFiles:
    """A CA and a server certificate it signed for ``db.other.internal`` only (no localhost, no 127.0.0.1)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = rsa.generate_private_key(65537, 2048), rsa.generate_private_key(65537, 2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Wrong Name Test CA")])

    def certificate(subject: x509.Name, public_key: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.DNSName("db.other.internal"), x509.IPAddress(ipaddress.ip_address("10.9.9.9"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    ca_cert = certificate(ca_name, ca_key.public_key(), ca=True)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "db.other.internal")])
    server = certificate(subject, key.public_key(), ca=False)
    files = TlsFiles(ca=directory / "ca.pem", cert=directory / "server-cert.pem", key=directory / "server-key.pem")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return files


@pytest.fixture(scope="module")
def wrong_name_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A TLS MariaDB whose certificate, from a CA we trust, names another host."""
    server = MariaDB.create(tmp_path_factory.mktemp("wrong-name-mariadb"), tls=False)
    server.tls = _certificate_for_another_host(server.directory / "tls")
    server.start()
    grant_master(server)
    try:
        yield server
    finally:
        server.stop()


def test_verify_identity_refuses_the_right_ca_for_another_host(
    api_module: Any, aws: Any, settings: Settings, migration_settings: Settings, wrong_name_server: MariaDB
) -> None:
    assert wrong_name_server.tls is not None
    secure = {"tls_ca_bundle": wrong_name_server.tls.ca, "port": wrong_name_server.port, "writer_host": "localhost"}
    # The chain is fine (verify_ca connects: the migration makes the schema and the API user there) ...
    migrate_database(_with(migration_settings, tls_mode=TlsMode.VERIFY_CA, **secure), SecretsManagerSecrets(aws))
    chain_only = api_module.build(_with(settings, tls_mode=TlsMode.VERIFY_CA, **secure))
    assert invoke(chain_only.handler, rest_event("GET", "/health")).status == 200
    assert _cipher(chain_only).startswith("TLS_")
    chain_only.database.close()
    # ... but the certificate is not for "localhost": verify_identity refuses to talk to it.
    identity = api_module.build(_with(settings, tls_mode=TlsMode.VERIFY_IDENTITY, **secure))
    assert invoke(identity.handler, rest_event("GET", "/health")).status == 503
    assert not identity.database.writer.is_open


def test_required_mode_refuses_a_server_without_tls(
    api_module: Any, settings: Settings, plain_server: MariaDB, plain_migrated: dict[str, str]
) -> None:
    api = api_module.build(_with(settings, port=plain_server.port, tls_mode=TlsMode.REQUIRED))
    assert invoke(api.handler, rest_event("GET", "/health")).status == 503  # no silent plaintext fallback
    plaintext = api_module.build(_with(settings, port=plain_server.port, tls_mode=TlsMode.DISABLED))
    assert invoke(plaintext.handler, rest_event("GET", "/health")).status == 200
    assert _cipher(plaintext) == ""
    plaintext.database.close()


def _env(**overrides: str) -> dict[str, str]:
    env = {
        "DB_SECRET_ARN": ARN,
        "DB_WRITER_HOST": "cluster.cluster-abc.us-east-1.rds.amazonaws.com",
        "POWERTOOLS_METRICS_NAMESPACE": "trading-dev",
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value != "<unset>"}


def test_defaults() -> None:
    settings = Settings.for_api(_env())
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
        api_base_path=None,
        extension_port=2773,
        metrics_namespace="trading-dev",
        app_secret_arn=None,
    )


def test_migration_settings() -> None:
    settings = Settings.for_migration(_env(DB_APP_SECRET_ARN=APP_ARN, POWERTOOLS_METRICS_NAMESPACE="<unset>"))
    assert (settings.secret_arn, settings.app_secret_arn, settings.metrics_namespace) == (ARN, APP_ARN, None)
    with pytest.raises(ConfigError, match="DB_APP_SECRET_ARN is required"):
        Settings.for_migration(_env())


def test_all_settings(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = Settings.for_api(
        _env(
            DB_READER_HOST="cluster.cluster-ro-abc.us-east-1.rds.amazonaws.com",
            DB_PORT="3307",
            DB_NAME="trades_db",
            DB_TLS="VERIFY-IDENTITY",
            DB_TLS_CA_BUNDLE=str(bundle),
            DB_CONNECT_TIMEOUT_SECONDS="5",
            DB_QUERY_TIMEOUT_SECONDS="20",
            API_BASE_PATH="/v1",
            PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="2999",
        )
    )
    assert settings.reader_host == "cluster.cluster-ro-abc.us-east-1.rds.amazonaws.com"
    assert (settings.port, settings.database, settings.tls_mode) == (3307, "trades_db", TlsMode.VERIFY_IDENTITY)
    assert (settings.tls_ca_bundle, settings.connect_timeout_seconds, settings.query_timeout_seconds) == (bundle, 5, 20)
    assert (settings.api_base_path, settings.extension_port) == ("/v1", 2999)


def test_reader_equal_to_writer_means_no_second_connection() -> None:
    assert Settings.for_api(_env(DB_READER_HOST="cluster.cluster-abc.us-east-1.rds.amazonaws.com")).reader_host is None


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
        ({"POWERTOOLS_METRICS_NAMESPACE": "<unset>"}, "POWERTOOLS_METRICS_NAMESPACE is required"),
        ({"POWERTOOLS_METRICS_NAMESPACE": ":bad"}, "POWERTOOLS_METRICS_NAMESPACE=':bad' is not valid"),
        ({"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "70000"}, "must be an integer from 1 to 65535"),
    ],
)
def test_invalid_settings_are_named(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.for_api(_env(**overrides))
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.for_api({"DB_PORT": "x", "DB_TLS": "nope"})
    text = str(caught.value)
    for name in ("DB_SECRET_ARN", "DB_WRITER_HOST", "DB_PORT", "DB_TLS", "POWERTOOLS_METRICS_NAMESPACE"):
        assert name in text


@pytest.mark.parametrize("module", ["handlers.api", "handlers.migrate"])
def test_cold_start_fails_with_a_clear_message(module: str) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DB_", "API_", "POWERTOOLS_"))}
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
