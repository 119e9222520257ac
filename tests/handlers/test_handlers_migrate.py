"""The schema migration entry point: creates, upgrades, re-runs and races safely."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest

from handlers.config import Settings
from handlers.credentials import CredentialSource
from handlers.migration import SecretsManagerSecrets
from handlers.schema import LATEST_VERSION, MIGRATIONS, migrate, migrate_schema
from tests.handlers.lambda_support import run_concurrently
from tests.support.mariadb import MariaDB


@pytest.fixture
def fresh(migration_settings: Settings, mariadb_server: MariaDB, request: pytest.FixtureRequest) -> Any:
    """Migration settings pointing at a database that does not exist yet (dropped again afterwards)."""
    name = f"mig_{request.node.name.split('[')[0][-40:]}"
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    yield Settings(**{**migration_settings.__dict__, "database": name})
    with mariadb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def master(aws: Any, master_secret_arn: str) -> CredentialSource:
    return SecretsManagerSecrets(aws).credentials(master_secret_arn)


def _query(server: MariaDB, database: str, sql: str) -> list[tuple[Any, ...]]:
    with server.connect(database=database) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def test_session_schema_was_created_by_the_entry_point(migrated: dict[str, Any]) -> None:
    assert migrated == {
        "schema_version": LATEST_VERSION,
        "applied": [1, 2],
        "app_user": "trades_api",
        "app_secret": "created",
    }


def test_creates_database_and_schema_then_is_a_no_op(
    fresh: Settings, master: CredentialSource, mariadb_server: MariaDB
) -> None:
    assert migrate_schema(fresh, master) == {"schema_version": 2, "applied": [1, 2]}
    assert migrate_schema(fresh, master) == {"schema_version": 2, "applied": []}

    versions = _query(mariadb_server, fresh.database, "SELECT version, description FROM schema_version ORDER BY 1")
    assert versions == [(1, "create trades"), (2, "index trades by symbol and time")]
    columns = _query(
        mariadb_server,
        fresh.database,
        "SELECT column_name, column_type, is_nullable, collation_name FROM information_schema.columns"
        " WHERE table_schema = DATABASE() AND table_name = 'trades' ORDER BY ordinal_position",
    )
    assert columns == [
        ("id", "bigint(20) unsigned", "NO", None),
        ("client_order_id", "varchar(64)", "NO", "ascii_bin"),
        ("symbol", "varchar(12)", "NO", "ascii_bin"),
        ("side", "varchar(4)", "NO", "ascii_bin"),
        ("order_type", "varchar(10)", "NO", "ascii_bin"),
        ("quantity", "bigint(20) unsigned", "NO", None),
        ("limit_price", "decimal(18,8)", "NO", None),
        ("created_at", "datetime(6)", "NO", None),
    ]
    indexes = _query(
        mariadb_server,
        fresh.database,
        "SELECT DISTINCT index_name, non_unique FROM information_schema.statistics"
        " WHERE table_schema = DATABASE() AND table_name = 'trades'",
    )
    assert sorted(indexes) == [("PRIMARY", 0), ("ix_trades_symbol_created_at", 1), ("uq_trades_client_order_id", 0)]


def test_upgrades_from_version_1(fresh: Settings, master: CredentialSource, mariadb_server: MariaDB) -> None:
    with mariadb_server.connect() as connection:
        assert migrate(connection, fresh.database, MIGRATIONS[:1]) == [1]
    assert migrate_schema(fresh, master) == {"schema_version": 2, "applied": [2]}


def test_rerun_after_an_interrupted_migration(
    fresh: Settings, master: CredentialSource, mariadb_server: MariaDB
) -> None:
    # Version 2's index exists but its version row was never written (the Lambda timed out in between).
    with mariadb_server.connect() as connection:
        migrate(connection, fresh.database, MIGRATIONS[:1])
        with connection.cursor() as cursor:
            cursor.execute("CREATE INDEX ix_trades_symbol_created_at ON trades (symbol, created_at)")
    assert migrate_schema(fresh, master) == {"schema_version": 2, "applied": [2]}


def test_concurrent_migrations_apply_each_version_once(
    fresh: Settings, master: CredentialSource, mariadb_server: MariaDB
) -> None:
    results = run_concurrently(lambda: migrate_schema(fresh, master))
    assert sorted(version for result in results for version in result["applied"]) == [1, 2]
    assert {result["schema_version"] for result in results} == {2}
    assert _query(mariadb_server, fresh.database, "SELECT COUNT(*) FROM schema_version") == [(2,)]


def test_the_check_constraints_guard_the_table(mariadb_server: MariaDB, migrated: Any) -> None:
    insert = (
        "INSERT INTO trades (client_order_id, symbol, side, order_type, quantity, limit_price, created_at)"
        " VALUES (%s, 'AAPL', %s, 'LIMIT', %s, %s, UTC_TIMESTAMP(6))"
    )
    with mariadb_server.connect(database="trading_test") as connection, connection.cursor() as cursor:
        for values in (("c1", "HOLD", 1, "1"), ("c2", "BUY", 0, "1"), ("c3", "BUY", 1, "0"), ("c4", "BUY", 1, "-2")):
            with pytest.raises(pymysql.err.OperationalError) as caught:
                cursor.execute(insert, values)
            assert caught.value.args[0] in (4025, 3819)  # MariaDB / MySQL CHECK violation
