"""The migration's whole job: the schema, then the API's own least-privilege database user and its secret.

The API never logs in as the cluster's master user. The migration (the only function allowed to read the
master secret) creates the user ``trades_api`` with exactly the privileges the routes need -- ``SELECT`` and
``INSERT`` on the trades table -- and keeps its password in the application secret (``DB_APP_SECRET_ARN``),
which Terraform creates empty so no password ever enters Terraform state. Every run makes the database match
the secret again, so it is idempotent and repairs what a restore from a snapshot brings back:

- the secret has a current value (username ``trades_api``): its password is reused;
- the secret is empty or unusable: a new random password is stored in it first, then set on the user;
- ``CREATE USER IF NOT EXISTS`` + ``ALTER USER ... IDENTIFIED BY`` make the password match in any case;
- privileges beyond ``SELECT, INSERT`` on the trades table (an older definition, a manual grant) are revoked.

All of it runs under the migration lock, so two concurrent migrations cannot store different passwords.
boto3 is fine here: the Lambda runtime provides it and the migration runs once per deployment.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from pymysql.connections import Connection

from handlers.config import Settings
from handlers.credentials import Credentials, CredentialsUnavailable, credentials_from_secret
from handlers.deadline import Deadline
from handlers.observability import logger
from handlers.schema import migrate_schema

APP_USER = "trades_api"
# Lambda's addresses in the VPC change with every network interface; the cluster's security group decides who
# reaches port 3306, the user's host part cannot.
APP_USER_HOST = "%"
APP_TABLE_PRIVILEGES = ("SELECT", "INSERT")
APP_TABLE = "trades"
_GRANTEE = f"'{APP_USER}'@'{APP_USER_HOST}'"  # how information_schema names the account


class MigrationError(RuntimeError):
    """The database or the application secret could not be brought up to date."""


class SecretsManagerSecrets:
    """The migration's Secrets Manager access through a boto3 client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, arn: str) -> str | None:
        """The current ``SecretString``, or None while the secret has no current version (created empty)."""
        try:
            response = self._client.get_secret_value(SecretId=arn)
        except self._client.exceptions.ResourceNotFoundException:
            return None
        value = response.get("SecretString")
        return value if isinstance(value, str) else None

    def write(self, arn: str, secret_string: str) -> None:
        self._client.put_secret_value(SecretId=arn, SecretString=secret_string)

    def credentials(self, arn: str) -> SecretCredentials:
        return SecretCredentials(self, arn)


class SecretCredentials:
    """A ``CredentialSource`` reading one secret on every call (the migration connects once)."""

    def __init__(self, secrets_: SecretsManagerSecrets, arn: str) -> None:
        self._secrets = secrets_
        self._arn = arn

    def get(self, deadline: Deadline | None = None) -> Credentials:
        value = self._secrets.read(self._arn)
        if value is None:
            raise CredentialsUnavailable(f"the secret {self._arn} has no current value")
        return credentials_from_secret(value)


def migrate_database(settings: Settings, secrets_: SecretsManagerSecrets) -> dict[str, Any]:
    """Migrate the schema and provision the application user; the result names what was done."""
    if settings.app_secret_arn is None:
        raise MigrationError("DB_APP_SECRET_ARN is not set")
    app_secret_arn = settings.app_secret_arn
    outcome: dict[str, str] = {}

    def provision(connection: Connection) -> None:
        outcome["app_secret"] = provision_app_user(connection, settings.database, secrets_, app_secret_arn)

    result = migrate_schema(settings, secrets_.credentials(settings.secret_arn), finally_=provision)
    result = {**result, "app_user": APP_USER, **outcome}
    logger.info("database migrated", extra=result)
    return result


def provision_app_user(connection: Connection, database: str, secrets_: SecretsManagerSecrets, arn: str) -> str:
    """Make ``trades_api`` exist with the secret's password and only its privileges; returns how the secret was used.

    ``"reused"``: the stored password was kept; ``"created"``: the secret was empty and got a new password;
    ``"replaced"``: the secret held something unusable and got a new password.
    """
    stored = secrets_.read(arn)
    password = _usable_password(stored)
    if password is not None:
        how = "reused"
    else:
        how = "created" if stored is None else "replaced"
        if how == "replaced":
            logger.warning("the application secret held no usable credentials; storing new ones")
        password = secrets.token_urlsafe(30)  # 40 characters of A-Z a-z 0-9 - _: nothing to escape anywhere
        # Stored before the database changes: if the run stops in between, the next run reuses this password.
        secrets_.write(arn, json.dumps({"username": APP_USER, "password": password}))
    account = (APP_USER, APP_USER_HOST)  # user and host as string literals: the driver quotes them
    with connection.cursor() as cursor:
        cursor.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (*account, password))
        cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (*account, password))
        if _has_other_privileges(cursor, database):
            # Rare (a restored or hand-edited database): revoke everything, then grant exactly what is needed.
            logger.warning("revoking privileges the API user should not have", extra={"user": APP_USER})
            cursor.execute("REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@%s", account)
        privileges = ", ".join(APP_TABLE_PRIVILEGES)
        cursor.execute(f"GRANT {privileges} ON `{database}`.`{APP_TABLE}` TO %s@%s", account)
    return how


def _usable_password(stored: str | None) -> str | None:
    if stored is None:
        return None
    try:
        credentials = credentials_from_secret(stored)
    except CredentialsUnavailable:
        return None
    return credentials.password if credentials.username == APP_USER else None


def _has_other_privileges(cursor: Any, database: str) -> bool:
    """Whether the user holds anything beyond ``SELECT, INSERT`` on the trades table (or may grant anything)."""
    grantee = _GRANTEE
    cursor.execute(
        "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES"
        " WHERE GRANTEE = %s AND (PRIVILEGE_TYPE <> 'USAGE' OR IS_GRANTABLE = 'YES')",
        (grantee,),
    )
    global_count = cursor.fetchone()[0]
    cursor.execute("SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = %s", (grantee,))
    schema_count = cursor.fetchone()[0]
    cursor.execute(
        "SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = %s AND NOT ("
        " TABLE_SCHEMA = %s AND TABLE_NAME = %s AND PRIVILEGE_TYPE IN %s AND IS_GRANTABLE = 'NO')",
        (grantee, database, APP_TABLE, APP_TABLE_PRIVILEGES),
    )
    table_count = cursor.fetchone()[0]
    cursor.execute("SELECT COUNT(*) FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = %s", (grantee,))
    column_count = cursor.fetchone()[0]
    return bool(global_count or schema_count or table_count or column_count)
