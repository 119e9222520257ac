"""The shared Lambda ZIP (built by ``make package``) as a synthesis input."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class MissingArtifactError(FileNotFoundError):
    """The shared ZIP has not been built."""


def lambda_zip_path() -> Path:
    path = Path(os.environ.get("TRADING_LAMBDA_ZIP", ROOT / "dist" / "lambda.zip"))
    if not path.is_file():
        raise MissingArtifactError(f"the shared Lambda ZIP {path} does not exist: run `make package` first")
    return path
