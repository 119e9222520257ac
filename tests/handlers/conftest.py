"""Fixtures for the Lambda handler tests: a real MariaDB, a moto Secrets Manager, proxy events.

The handler modules read their configuration at import time (as on Lambda), so the environment is set up by
the session fixture ``api_module`` before ``handlers.api`` is first imported.
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

from tests.handlers.lambda_support import REGION, FakeContext, Reply, invoke, rest_event
from tests.support.mariadb import MariaDB, MariaDBNotInstalled, mariadb_server  # noqa: F401  (fixture)

DB_NAME = "trading_test"
APP_USER = "trading_app"
APP_PASSWORD = "first-password-1"


@pytest.fixture(scope="package")
def app_user(mariadb_server: MariaDB) -> str:  # noqa: F811
    """A password-authenticated application user (what the RDS secret holds), allowed to create the schema."""
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE USER IF NOT EXISTS '{APP_USER}'@'127.0.0.1' IDENTIFIED BY '{APP_PASSWORD}'")
        cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{APP_USER}'@'127.0.0.1'")
    return APP_USER


@pytest.fixture(scope="package")
def aws() -> Iterator[Any]:
    """moto's in-process AWS for the whole handler session (the handlers' boto3 clients are module-level)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_REGION", REGION)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            import boto3

            yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture(scope="package")
def db_secret_arn(aws: Any, app_user: str) -> str:
    secret = aws.create_secret(
        Name="rds!cluster-trading-test",
        SecretString=json.dumps({"username": app_user, "password": APP_PASSWORD}),
    )
    return str(secret["ARN"])


@pytest.fixture(scope="package")
def handler_env(mariadb_server: MariaDB, db_secret_arn: str) -> Iterator[dict[str, str]]:  # noqa: F811
    """The Lambda environment variables, pointing at the session MariaDB (TLS required, as on AWS)."""
    env = {
        "DB_SECRET_ARN": db_secret_arn,
        "DB_WRITER_HOST": mariadb_server.host,
        "DB_PORT": str(mariadb_server.port),
        "DB_NAME": DB_NAME,
        "DB_TLS": "required",
        "DB_CONNECT_TIMEOUT_SECONDS": "2",
        "DB_QUERY_TIMEOUT_SECONDS": "5",
        "POWERTOOLS_SERVICE_NAME": "trades-api",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in ("DB_READER_HOST", "DB_TLS_CA_BUNDLE", "API_BASE_PATH", "DB_SECRET_MAX_AGE_SECONDS"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture(scope="package")
def migrated(handler_env: dict[str, str]) -> dict[str, Any]:
    """Run the migration entry point once, as the deployment would."""
    module = _fresh_import("handlers.migrate")
    return module.handler({}, FakeContext())


@pytest.fixture(scope="package")
def api_module(migrated: dict[str, Any]) -> Any:
    """``handlers.api`` imported with the test environment (its module-level state is the "execution environment")."""
    return _fresh_import("handlers.api")


@pytest.fixture(scope="package")
def settings(handler_env: dict[str, str]) -> Any:
    from handlers.config import Settings

    return Settings.from_env()


@pytest.fixture
def call(api_module: Any) -> Callable[..., Reply]:
    """``call(method, path, body=None, headers=None, ...)`` through the real entry point ``handlers.api.handler``."""

    def _call(method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
        handler = kwargs.pop("handler", api_module.handler)
        if body is not None and not isinstance(body, str):
            body = json.dumps(body, default=str)  # Decimal -> JSON string
        return invoke(handler, rest_event(method, path, body, **kwargs))

    return _call


@pytest.fixture
def db(mariadb_server: MariaDB, migrated: dict[str, Any]) -> Iterator[pymysql.connections.Connection]:  # noqa: F811
    """A root connection to the test schema, with the trades table emptied before the test."""
    connection = mariadb_server.connect(database=DB_NAME)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM trades")
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture(scope="package")
def plain_server(tmp_path_factory: pytest.TempPathFactory, app_user: str) -> Iterator[MariaDB]:
    """A second MariaDB without TLS, free to be killed (fault tests, plaintext refusal)."""
    try:
        server = MariaDB.create(tmp_path_factory.mktemp("plain-mariadb"), tls=False)
    except MariaDBNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    server.start()
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE USER '{APP_USER}'@'127.0.0.1' IDENTIFIED BY '{APP_PASSWORD}'")
        cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{APP_USER}'@'127.0.0.1'")
        cursor.execute(f"CREATE DATABASE {DB_NAME}")  # empty: tests that need tables run the migration
    try:
        yield server
    finally:
        server.stop()


def _fresh_import(name: str) -> Any:
    """Import ``name`` as a cold start would, even if an earlier test imported it with other settings."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def env_for() -> Callable[[MariaDB, str], dict[str, str]]:
    """Handler settings for another server: ``env_for(server, secret_arn)`` -> environment mapping."""

    def _env(server: MariaDB, secret_arn: str, **overrides: str) -> dict[str, str]:
        env = {
            "DB_SECRET_ARN": secret_arn,
            "DB_WRITER_HOST": server.host,
            "DB_PORT": str(server.port),
            "DB_NAME": DB_NAME,
            "DB_TLS": "disabled",
            "DB_CONNECT_TIMEOUT_SECONDS": "2",
            "DB_QUERY_TIMEOUT_SECONDS": "5",
        }
        env.update(overrides)
        return env

    return _env
