"""Lambda entry point ``handlers.api.handler``: the trades REST API behind API Gateway (proxy integration).

Configuration is read and validated when the module is imported (the INIT phase), so a misconfigured
function fails its first invocation with one clear ``ConfigError`` message. The resolver, its connections and
the metric set live at module level and are reused by every invocation of the execution environment. Nothing
here imports boto3: the secret comes through the Parameters and Secrets Lambda Extension (credentials.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handlers.app import create_app
from handlers.config import Settings
from handlers.credentials import CredentialSource, ExtensionSecret
from handlers.db import Database
from handlers.observability import logger, trade_metrics
from handlers.powertools import LambdaContext, correlation_paths
from handlers.store import TradeStore

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@dataclass(frozen=True)
class Api:
    """One execution environment's handler, and its connections (tests close or inspect them)."""

    database: Database
    handler: LambdaHandler


def build(settings: Settings, credentials: CredentialSource | None = None) -> Api:
    """Wire an independent API instance (tests and the benchmark build one per simulated environment)."""
    if credentials is None:
        credentials = ExtensionSecret(settings.secret_arn, settings.extension_port, settings.connect_timeout_seconds)
    database = Database(settings, credentials)
    metrics = trade_metrics(settings.metrics_namespace)
    app = create_app(TradeStore(database), database, metrics, settings.api_base_path)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return Api(database=database, handler=handler)


API = build(Settings.for_api())
handler = API.handler
