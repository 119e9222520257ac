"""The shared Lambda ZIP (built by ``make package``, tools/package.py) as a synthesis input."""

from __future__ import annotations

import os
from pathlib import Path

from python_stacks.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ZIP = ROOT / "dist" / "lambda.zip"
# What tools/package.py builds the ZIP from: the handler modules, the pinned dependencies and the recipe itself.
# A ZIP older than any of them is stale, as make would judge it.
BUILD_INPUTS = ("handlers/**/*.py", "handlers/requirements.lock", "tools/package.py")


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
