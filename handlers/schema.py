"""Versioned, idempotent schema migrations for MySQL 8.0 (Aurora MySQL 3) and MariaDB 10.11.

Only SQL both servers accept: no ``INSERT ... AS new`` alias, no ``->>``, no ``RETURNING``, no
``utf8mb4_0900_ai_ci``, no ``ADD ... IF NOT EXISTS`` (MariaDB only). MySQL commits DDL implicitly, so a
migration cannot be rolled back as a whole: every step is written to be re-runnable (``IF NOT EXISTS`` or an
``information_schema`` check), and the version row is written last, so a migration interrupted half-way is
simply run again. A named lock keeps two concurrent migrators from interleaving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymysql.connections import Connection

from handlers.config import Settings
from handlers.credentials import CredentialSource
from handlers.db import ConnectionSlot, run
from handlers.observability import logger

LOCK_NAME = "trading_schema_migration"
LOCK_TIMEOUT_SECONDS = 20
# DDL on a large table (an index build) can take minutes; the migration function's own timeout bounds the run.
STATEMENT_TIMEOUT_SECONDS = 600.0
Step = Callable[[Connection], None]


class MigrationError(RuntimeError):
    """The schema could not be brought up to date."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    steps: tuple[Step, ...]


def sql(statement: str) -> Step:
    def step(connection: Connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement)

    return step


def create_index(table: str, name: str, columns: str) -> Step:
    """``CREATE INDEX`` unless an index of that name exists (MySQL has no ``CREATE INDEX IF NOT EXISTS``)."""

    def step(connection: Connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.statistics"
                " WHERE table_schema = DATABASE() AND table_name = %s AND index_name = %s",
                (table, name),
            )
            row = cursor.fetchone()
            if row is not None and row[0] == 0:
                cursor.execute(f"CREATE INDEX {name} ON {table} ({columns})")

    return step


# Identifiers and text columns are ASCII with a binary collation: client order ids are case-sensitive keys.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "create trades",
        (
            sql(
                """
                CREATE TABLE IF NOT EXISTS trades (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
                    client_order_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
                    symbol VARCHAR(12) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
                    side VARCHAR(4) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
                    order_type VARCHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
                    quantity BIGINT UNSIGNED NOT NULL,
                    limit_price DECIMAL(18, 8) NOT NULL,
                    created_at DATETIME(6) NOT NULL,
                    PRIMARY KEY (id),
                    UNIQUE KEY uq_trades_client_order_id (client_order_id),
                    CONSTRAINT ck_trades_side CHECK (side IN ('BUY', 'SELL')),
                    CONSTRAINT ck_trades_order_type CHECK (order_type IN ('LIMIT', 'MARKET')),
                    CONSTRAINT ck_trades_quantity CHECK (quantity > 0 AND quantity <= 1000000000),
                    CONSTRAINT ck_trades_limit_price CHECK (limit_price > 0)
                ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci
                """
            ),
        ),
    ),
    Migration(
        2,
        "index trades by symbol and time",
        (create_index("trades", "ix_trades_symbol_created_at", "symbol, created_at"),),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

_CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INT UNSIGNED NOT NULL,
    description VARCHAR(200) NOT NULL,
    applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (version)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci
"""


def current_version(connection: Connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def migrate(
    connection: Connection,
    database: str,
    migrations: tuple[Migration, ...] = MIGRATIONS,
    finally_: Step | None = None,
) -> list[int]:
    """Create ``database`` if needed and apply the missing migrations in order; return the versions applied.

    ``finally_`` runs after the migrations, still holding the lock (the application user's provisioning, which
    must not interleave with another migrator's). ``connection`` must be in autocommit mode. ``database`` was
    validated as a plain identifier by the config.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        connection.select_db(database)
        cursor.execute("SELECT GET_LOCK(%s, %s)", (LOCK_NAME, LOCK_TIMEOUT_SECONDS))
        row = cursor.fetchone()
        if row is None or row[0] != 1:
            raise MigrationError(f"another migration holds the lock {LOCK_NAME!r}; try again later")
    try:
        sql(_CREATE_VERSION_TABLE)(connection)
        version = current_version(connection)
        applied: list[int] = []
        for migration in migrations:
            if migration.version <= version:
                continue
            for step in migration.steps:
                step(connection)
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO schema_version (version, description) VALUES (%s, %s)",
                    (migration.version, migration.description),
                )
            applied.append(migration.version)
        if finally_ is not None:
            finally_(connection)
        return applied
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))


def migrate_schema(settings: Settings, credentials: CredentialSource, finally_: Step | None = None) -> dict[str, Any]:
    """Bring the schema to ``LATEST_VERSION`` on the writer (then ``finally_``); the connection is closed after."""
    slot = ConnectionSlot(settings.writer_host, settings, credentials, autocommit=True, use_database=False)
    try:
        applied = run(
            slot,
            lambda connection: migrate(connection, settings.database, finally_=finally_),
            query_timeout=STATEMENT_TIMEOUT_SECONDS,
        )
        version = run(slot, current_version)
    finally:
        slot.discard()
    if version > LATEST_VERSION:
        logger.warning("schema is newer than this code", extra={"schema_version": version, "known": LATEST_VERSION})
    return {"schema_version": version, "applied": applied}
