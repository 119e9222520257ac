"""The API's own database user: least privilege, created by the migration, idempotent, repaired after a restore."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from handlers.config import Settings
from handlers.migration import APP_USER, SecretsManagerSecrets, migrate_database
from tests.handlers.conftest import DB_NAME
from tests.handlers.lambda_support import invoke, rest_event, run_concurrently, trade_body
from tests.support.mariadb import MariaDB

DENIED = {1044, 1045, 1142, 1143, 1227, 1370}  # access denied for database/user/table/column/operation/routine
EXPECTED_GRANTS = sorted(
    [
        f"GRANT USAGE ON *.* TO `{APP_USER}`@`%`",
        f"GRANT SELECT, INSERT ON `{DB_NAME}`.`trades` TO `{APP_USER}`@`%`",
    ]
)


@pytest.fixture
def secrets(aws: Any) -> SecretsManagerSecrets:
    return SecretsManagerSecrets(aws)


@pytest.fixture
def repaired(migration_settings: Settings, secrets: SecretsManagerSecrets) -> Iterator[None]:
    """Whatever a test does to the user or the secret, the next migration puts the session's user back."""
    yield
    migrate_database(migration_settings, secrets)


def _stored_password(secrets: SecretsManagerSecrets, arn: str) -> str:
    value = secrets.read(arn)
    assert value is not None
    document = json.loads(value)
    assert document["username"] == APP_USER
    return str(document["password"])


def _connect_as_app(server: MariaDB, password: str) -> pymysql.connections.Connection:
    return server.connect(user=APP_USER, password=password, database=DB_NAME)


def _grants(server: MariaDB) -> list[str]:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"SHOW GRANTS FOR '{APP_USER}'@'%'")
        return sorted(row[0].split(" IDENTIFIED BY")[0] for row in cursor.fetchall())


def test_the_api_logs_in_as_its_own_user(api_module: Any) -> None:
    assert invoke(api_module.handler, rest_event("GET", "/health")).status == 200
    connection = api_module.API.database.writer.acquire()
    with connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER()")
        assert cursor.fetchone()[0] == f"{APP_USER}@%"


def test_it_holds_exactly_select_and_insert_on_trades(migrated: Any, mariadb_server: MariaDB) -> None:
    assert _grants(mariadb_server) == EXPECTED_GRANTS


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE trades SET quantity = 1",
        "DELETE FROM trades",
        "DROP TABLE trades",
        "TRUNCATE TABLE trades",
        "ALTER TABLE trades ADD COLUMN x INT",
        "CREATE TABLE t (id INT)",
        "CREATE INDEX ix_x ON trades (symbol)",
        "SELECT * FROM schema_version",
        "INSERT INTO schema_version (version, description) VALUES (99, 'x')",
        "SELECT * FROM mysql.user",
        "CREATE USER 'x'@'%' IDENTIFIED BY 'y'",
        f"GRANT DELETE ON {DB_NAME}.trades TO '{APP_USER}'@'%'",
        "DROP DATABASE trading_test",
        "SET GLOBAL innodb_lock_wait_timeout = 1",
    ],
)
def test_anything_else_is_denied(
    migrated: Any, mariadb_server: MariaDB, secrets: SecretsManagerSecrets, app_secret_arn: str, statement: str
) -> None:
    connection = _connect_as_app(mariadb_server, _stored_password(secrets, app_secret_arn))
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM trades")  # what the routes need works
        with pytest.raises(pymysql.MySQLError) as caught:
            cursor.execute(statement)
    assert caught.value.args[0] in DENIED, caught.value


def test_running_it_again_changes_nothing(
    migration_settings: Settings, secrets: SecretsManagerSecrets, app_secret_arn: str, mariadb_server: MariaDB
) -> None:
    password = _stored_password(secrets, app_secret_arn)
    result = migrate_database(migration_settings, secrets)
    assert (result["applied"], result["app_secret"]) == ([], "reused")
    assert _stored_password(secrets, app_secret_arn) == password
    assert _grants(mariadb_server) == EXPECTED_GRANTS
    _connect_as_app(mariadb_server, password).close()


def test_a_restored_database_gets_the_stored_password_back_and_loses_extra_grants(
    api_module: Any,
    settings: Settings,
    migration_settings: Settings,
    secrets: SecretsManagerSecrets,
    app_secret_arn: str,
    mariadb_server: MariaDB,
    db: Any,
    repaired: None,
) -> None:
    # A snapshot from another time: the user exists with another password and more privileges.
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"ALTER USER '{APP_USER}'@'%' IDENTIFIED BY 'from-the-snapshot'")
        cursor.execute(f"GRANT DELETE, UPDATE ON {DB_NAME}.trades TO '{APP_USER}'@'%'")
        cursor.execute(f"GRANT SELECT ON mysql.* TO '{APP_USER}'@'%'")
    api = api_module.build(settings)  # a new execution environment: it has to log in
    assert invoke(api.handler, rest_event("GET", "/health")).status == 503

    result = migrate_database(migration_settings, secrets)
    assert result["app_secret"] == "reused"
    assert _grants(mariadb_server) == EXPECTED_GRANTS
    assert invoke(api.handler, rest_event("POST", "/trades", json.dumps(trade_body("restored-1")))).status == 201
    api.database.close()


def test_a_dropped_user_is_created_again_with_the_stored_password(
    api_module: Any,
    settings: Settings,
    migration_settings: Settings,
    secrets: SecretsManagerSecrets,
    app_secret_arn: str,
    mariadb_server: MariaDB,
    repaired: None,
) -> None:
    password = _stored_password(secrets, app_secret_arn)
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP USER '{APP_USER}'@'%'")
    assert migrate_database(migration_settings, secrets)["app_secret"] == "reused"
    assert _stored_password(secrets, app_secret_arn) == password
    api = api_module.build(settings)
    assert invoke(api.handler, rest_event("GET", "/health")).status == 200
    api.database.close()


@pytest.mark.parametrize(
    "unusable",
    ["not json", json.dumps({"username": "someone_else", "password": "x"}), json.dumps({"username": APP_USER})],
)
def test_an_unusable_secret_gets_new_credentials(
    api_module: Any,
    settings: Settings,
    migration_settings: Settings,
    secrets: SecretsManagerSecrets,
    app_secret_arn: str,
    unusable: str,
    repaired: None,
) -> None:
    old = _stored_password(secrets, app_secret_arn)
    secrets.write(app_secret_arn, unusable)
    assert migrate_database(migration_settings, secrets)["app_secret"] == "replaced"
    new = _stored_password(secrets, app_secret_arn)
    assert new != old and len(new) >= 32
    api = api_module.build(settings)  # reads the new secret through the extension
    assert invoke(api.handler, rest_event("GET", "/health")).status == 200
    api.database.close()


def test_concurrent_migrations_agree_on_one_password(
    api_module: Any,
    settings: Settings,
    migration_settings: Settings,
    aws: Any,
    app_secret_arn: str,
    mariadb_server: MariaDB,
    repaired: None,
) -> None:
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP USER '{APP_USER}'@'%'")
    aws.put_secret_value(SecretId=app_secret_arn, SecretString="{}")  # unusable: every migrator would make one
    results = run_concurrently(lambda: migrate_database(migration_settings, SecretsManagerSecrets(aws)))
    # The first under the lock replaces the secret; the others find it usable and reuse it.
    assert sorted(result["app_secret"] for result in results) == ["replaced", "reused", "reused", "reused"]
    api = api_module.build(settings)
    assert invoke(api.handler, rest_event("GET", "/health")).status == 200
    api.database.close()
