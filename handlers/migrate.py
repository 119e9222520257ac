"""Lambda entry point ``handlers.migrate.handler``: create or upgrade the schema and the API's database user.

Invoke it after each deployment (any event; the payload is ignored). It connects to the writer as the master
user (``DB_SECRET_ARN``), creates the database if missing, applies the migrations the ``schema_version`` table
does not list yet, provisions the least-privilege user ``trades_api`` with the password held in
``DB_APP_SECRET_ARN`` (handlers/migration.py) and returns ``{"schema_version": N, "applied": [...],
"app_user": "trades_api", "app_secret": "created" | "reused" | "replaced"}``. Failures raise, so the
invocation is reported as failed to whoever ran it.
"""

from __future__ import annotations

from typing import Any

import boto3

from handlers.config import Settings
from handlers.migration import SecretsManagerSecrets, migrate_database
from handlers.observability import logger
from handlers.powertools import LambdaContext

SETTINGS = Settings.for_migration()
SECRETS = SecretsManagerSecrets(boto3.client("secretsmanager"))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return migrate_database(SETTINGS, SECRETS)
