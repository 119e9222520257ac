"""Lambda entry point ``handlers.migrate.handler``: create or upgrade the schema, idempotently.

Invoke it after each deployment (any event; the payload is ignored). It connects to the writer as the secret's
user, creates the database if missing, applies the migrations the ``schema_version`` table does not list yet
and returns ``{"schema_version": N, "applied": [...]}``. Failures raise, so the invocation is reported as
failed to whoever ran it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.config import Settings
from handlers.credentials import SecretCredentials
from handlers.observability import logger
from handlers.schema import migrate_schema

SETTINGS = Settings.from_env()
CREDENTIALS = SecretCredentials(SETTINGS.secret_arn, SETTINGS.secret_max_age_seconds)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = migrate_schema(SETTINGS, CREDENTIALS)
    logger.info("schema migrated", extra=result)
    return result
