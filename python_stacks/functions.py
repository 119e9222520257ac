"""The Lambda functions of the platform. All ship from the one shared ZIP built by ``make package``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionSpec:
    # Resource type in ``{resource-type}-{environment-suffix}``: trades-api -> trades-api-dev.
    resource_type: str
    handler: str
    description: str


TRADES_API = FunctionSpec("trades-api", "handlers.api.handler", "Trade processing behind API Gateway")
MIGRATE = FunctionSpec("migrate", "handlers.migrate.handler", "Creates or upgrades the database schema")

FUNCTIONS: tuple[FunctionSpec, ...] = (TRADES_API, MIGRATE)
