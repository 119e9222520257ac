"""Lambda entry point ``handlers.api.handler``: the trades REST API behind API Gateway (proxy integration).

Configuration is read and validated when the module is imported (the INIT phase), so a misconfigured
function fails its first invocation with one clear ``ConfigError`` message. The resolver, the Secrets Manager
client and the database connections live at module level and are reused by every invocation of the
execution environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.config import Settings
from handlers.credentials import SecretCredentials
from handlers.db import Database
from handlers.observability import logger
from handlers.rest import create_app
from handlers.store import TradeStore

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@dataclass(frozen=True)
class Api:
    """One execution environment's worth of state: the resolver, its connections and the wrapped handler."""

    app: APIGatewayRestResolver
    database: Database
    handler: LambdaHandler


def build(settings: Settings, credentials: SecretCredentials | None = None) -> Api:
    """Wire an independent API instance (tests and the benchmark build one per simulated environment)."""
    if credentials is None:
        credentials = SecretCredentials(settings.secret_arn, settings.secret_max_age_seconds)
    database = Database(settings, credentials)
    app = create_app(TradeStore(database), database, settings.api_base_path)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return Api(app=app, database=database, handler=handler)


API = build(Settings.from_env())
handler = API.handler
