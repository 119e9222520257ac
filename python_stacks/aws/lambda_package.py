"""The Lambda functions of the platform and the one shared ZIP they all ship in (built by ``make package``,
tools/package.py): what the stack, the tooling and the handlers agree on. Importable without cdktf, so the tooling
can check and build the ZIP before the bindings load; the construct is python_stacks/aws/lambda_functions.py."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from python_stacks import UserError
from python_stacks.project import ROOT
from python_stacks.workspace import Naming


@dataclass(frozen=True)
class FunctionSpec:
    # Resource type in ``{resource-type}-{environment-suffix}``: trades-api -> trades-api-dev.
    resource_type: str
    handler: str
    description: str


TRADES_API = FunctionSpec("trades-api", "handlers.api.handler", "Trade processing behind API Gateway")
MIGRATE = FunctionSpec("migrate", "handlers.migrate.handler", "Creates or upgrades the database schema")

FUNCTIONS: tuple[FunctionSpec, ...] = (TRADES_API, MIGRATE)


def trade_metrics_namespace(naming: Naming) -> str:
    """Contract 3: the CloudWatch namespace of the trade metrics, ``trading-<suffix>`` (the API function's
    POWERTOOLS_METRICS_NAMESPACE, and what the dashboard shows)."""
    return naming.name("trading")


# --- the shared ZIP -------------------------------------------------------------------------------------------------

DEFAULT_ZIP = ROOT / "dist" / "lambda.zip"
# What tools/package.py builds the ZIP from: the handler modules, the pinned dependencies and the recipe itself.
# A ZIP older than any of them is stale, as make would judge it.
BUILD_INPUTS = ("handlers/**/*.py", "handlers/requirements.lock", "tools/package.py")
# Where the ZIP carries the RDS CA bundle when it ships one (``make package --ca-bundle <pem>``, tools/package.py).
CA_BUNDLE_PATH = "certs/rds-ca-bundle.pem"
# Where Lambda unpacks the ZIP (read-only).
LAMBDA_TASK_ROOT = "/var/task"


class MissingArtifactError(UserError, FileNotFoundError):
    """The shared ZIP has not been built."""


def explicit_zip() -> Path | None:
    """``TRADING_LAMBDA_ZIP``: a ZIP built elsewhere (CI artifact, a CA-bundle build) that is used as it is."""
    value = os.environ.get("TRADING_LAMBDA_ZIP")
    return Path(value) if value else None


def lambda_zip_path() -> Path:
    path = explicit_zip() or DEFAULT_ZIP
    if not path.is_file():
        raise MissingArtifactError(f"the shared Lambda ZIP {path} does not exist: run `make package` first")
    return path


def rebuild_reason(zip_path: Path = DEFAULT_ZIP, root: Path = ROOT) -> str | None:
    """Why the ZIP at ``zip_path`` must be built again (missing, or older than a build input), or None."""
    if not zip_path.is_file():
        return f"{_shown(zip_path, root)} is missing"
    built = zip_path.stat().st_mtime
    newer = sorted(
        _shown(path, root)
        for pattern in BUILD_INPUTS
        for path in root.glob(pattern)
        if path.is_file() and path.stat().st_mtime > built
    )
    return f"{newer[0]} changed since it was built" if newer else None


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def database_tls_environment(zip_path: Path) -> dict[str, str]:
    """``verify_identity`` against the RDS CA bundle the ZIP carries, else ``required`` (encrypted, unverified).

    ``make package --ca-bundle <pem>`` puts the bundle at ``CA_BUNDLE_PATH`` (docs/deploy.md says where to get it).
    """
    with zipfile.ZipFile(zip_path) as archive:
        shipped = CA_BUNDLE_PATH in archive.namelist()
    if shipped:
        return {"DB_TLS": "verify_identity", "DB_TLS_CA_BUNDLE": f"{LAMBDA_TASK_ROOT}/{CA_BUNDLE_PATH}"}
    return {"DB_TLS": "required"}
