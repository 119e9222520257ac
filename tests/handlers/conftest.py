"""Fixtures for the Lambda handler tests: a real MariaDB, moto's Secrets Manager behind the secrets extension.

The handler modules read their configuration at import time (as on Lambda), so the environment is set up by
the package fixtures before ``handlers.api`` / ``handlers.migrate`` are first imported. As on AWS, the
migration logs in with the master secret and fills the application secret; the API reads that one through the
Parameters and Secrets Lambda Extension (``local_cloud.secrets_extension``, caching off so a test sees every
change at once) and logs in as ``trades_api``.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pymysql
import pytest
from moto import mock_aws

from local_cloud import secrets_extension
from tests.handlers.lambda_support import (
    METRICS_NAMESPACE,
    REGION,
    SESSION_TOKEN,
    FakeContext,
    Reply,
    invoke,
    rest_event,
)
from tests.support.mariadb import MariaDB, mariadb_server, running_server  # noqa: F401  (fixture)

DB_NAME = "trading_test"
MASTER_USER = "trading_master"
MASTER_PASSWORD = "first-password-1"


def grant_master(server: MariaDB) -> None:
    """The cluster's master user as RDS makes it: everything, including creating users and granting."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE USER IF NOT EXISTS '{MASTER_USER}'@'%' IDENTIFIED BY '{MASTER_PASSWORD}'")
        cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{MASTER_USER}'@'%' WITH GRANT OPTION")


@pytest.fixture(scope="package")
def master_user(mariadb_server: MariaDB) -> str:
    grant_master(mariadb_server)
    return MASTER_USER


@pytest.fixture(scope="package")
def aws() -> Iterator[Any]:
    """moto's in-process AWS for the whole handler session (a boto3 Secrets Manager client on it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_REGION", REGION)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.delenv("AWS_PROFILE", raising=False)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            import boto3

            yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture(scope="package")
def extension(aws: Any) -> Iterator[secrets_extension.SecretsExtension]:
    """The secrets extension on a free port, caching off: every read sees the secret's current value."""
    import boto3

    server = secrets_extension.start(
        port=0,
        client_factory=lambda: boto3.client("secretsmanager", region_name=REGION),
        token=SESSION_TOKEN,
        ttl=0,
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def master_secret_arn(aws: Any, master_user: str) -> str:
    secret = aws.create_secret(
        Name="rds!cluster-trading-test",
        SecretString=json.dumps({"username": master_user, "password": MASTER_PASSWORD}),
    )
    return str(secret["ARN"])


@pytest.fixture(scope="package")
def app_secret_arn(aws: Any) -> str:
    """Created empty (no version), as Terraform does: the migration stores the API user's password in it."""
    return str(aws.create_secret(Name="trades-api-db-test")["ARN"])


@pytest.fixture(scope="package")
def handler_env(
    mariadb_server: MariaDB,
    app_secret_arn: str,
    extension: secrets_extension.SecretsExtension,
) -> Iterator[dict[str, str]]:
    """The API function's environment, pointing at the session MariaDB (TLS required, as on AWS)."""
    env = {
        "DB_SECRET_ARN": app_secret_arn,
        "DB_WRITER_HOST": mariadb_server.host,
        "DB_PORT": str(mariadb_server.port),
        "DB_NAME": DB_NAME,
        "DB_TLS": "required",
        "DB_CONNECT_TIMEOUT_SECONDS": "2",
        "DB_QUERY_TIMEOUT_SECONDS": "5",
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "POWERTOOLS_SERVICE_NAME": "trades-api",
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in ("DB_READER_HOST", "DB_TLS_CA_BUNDLE", "API_BASE_PATH", "DB_APP_SECRET_ARN"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture(scope="package")
def migration_env(handler_env: dict[str, str], master_secret_arn: str, app_secret_arn: str) -> dict[str, str]:
    """The migration function's environment: the master secret, and the application secret to fill."""
    return {**handler_env, "DB_SECRET_ARN": master_secret_arn, "DB_APP_SECRET_ARN": app_secret_arn}


@pytest.fixture(scope="package")
def migrated(migration_env: dict[str, str]) -> dict[str, Any]:
    """Run the migration entry point once, as the deployment would."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in migration_env.items():
            patch.setenv(name, value)
        module = fresh_import("handlers.migrate")
        return module.handler({}, FakeContext(function_name="migrate-test"))


@pytest.fixture(scope="package")
def api_module(migrated: dict[str, Any]) -> Any:
    """``handlers.api`` imported with the test environment (its module-level state is the "execution environment")."""
    return fresh_import("handlers.api")


@pytest.fixture(scope="package")
def settings(handler_env: dict[str, str]) -> Any:
    from handlers.config import Settings

    return Settings.for_api()


@pytest.fixture(scope="package")
def migration_settings(migration_env: dict[str, str]) -> Any:
    from handlers.config import Settings

    return Settings.for_migration(migration_env)


@pytest.fixture
def call(api_module: Any) -> Callable[..., Reply]:
    """``call(method, path, body=None, headers=None, ...)`` through the real entry point ``handlers.api.handler``."""

    def _call(method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
        handler = kwargs.pop("handler", api_module.handler)
        context = kwargs.pop("context", None)
        if body is not None and not isinstance(body, str):
            body = json.dumps(body, default=str)  # Decimal -> JSON string
        return invoke(handler, rest_event(method, path, body, **kwargs), context)

    return _call


@pytest.fixture
def db(mariadb_server: MariaDB, migrated: dict[str, Any]) -> Iterator[pymysql.connections.Connection]:
    """A root connection to the test schema, with the trades table emptied before the test."""
    connection = mariadb_server.connect(database=DB_NAME)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM trades")
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture(scope="package")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A second MariaDB without TLS, free to be killed (fault tests, plaintext refusal)."""
    with running_server(tmp_path_factory.mktemp("plain-mariadb"), tls=False) as server:
        grant_master(server)
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {DB_NAME}")  # empty: tests that need tables run the migration
        yield server


@pytest.fixture(scope="package")
def plain_migrated(plain_server: MariaDB, aws: Any, migration_env: dict[str, str]) -> dict[str, str]:
    """The plain server after the migration made its schema and the API user there: the API's environment."""
    from handlers.config import Settings
    from handlers.migration import SecretsManagerSecrets, migrate_database

    plain = {**migration_env, "DB_PORT": str(plain_server.port), "DB_TLS": "disabled"}
    migrate_database(Settings.for_migration(plain), SecretsManagerSecrets(aws))
    return {**plain, "DB_SECRET_ARN": migration_env["DB_APP_SECRET_ARN"]}


def fresh_import(name: str) -> Any:
    """Import ``name`` as a cold start would, even if an earlier test imported it with other settings."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def env_for(handler_env: dict[str, str]) -> Callable[..., dict[str, str]]:
    """API settings for another server: ``env_for(server, secret_arn, **overrides)`` -> environment mapping."""

    def _env(server: MariaDB, secret_arn: str, **overrides: str) -> dict[str, str]:
        env = {
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": handler_env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"],
            "DB_SECRET_ARN": secret_arn,
            "DB_WRITER_HOST": server.host,
            "DB_PORT": str(server.port),
            "DB_NAME": DB_NAME,
            "DB_TLS": "disabled",
            "DB_CONNECT_TIMEOUT_SECONDS": "2",
            "DB_QUERY_TIMEOUT_SECONDS": "5",
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        env.update(overrides)
        return env

    return _env
