"""Load only the AWS provider binding submodules the stacks use.

``import cdktf_cdktf_provider_aws.<submodule>`` first runs the package ``__init__``, which imports all ~1,500
submodules (≈ 9–10 s here, before any stack code runs). Registering an empty package object under the package
name lets Python import just the submodules we name; each of them loads the package's jsii assembly itself
(``from .._jsii import *``), so the synthesized output is identical — tests/unit/test_fast_synth.py proves it
byte for byte for every workspace.

Call ``install()`` before the first ``cdktf_cdktf_provider_aws`` import. ``TRADING_STOCK_IMPORTS=1`` disables it
(used by the benchmark and the byte-identity test to run the stock path).
"""

from __future__ import annotations

import importlib.util
import os
import sys

PACKAGE = "cdktf_cdktf_provider_aws"


def install() -> bool:
    """Register the lightweight package object; returns True when the fast path is active."""
    if os.environ.get("TRADING_STOCK_IMPORTS") == "1":
        return False
    if PACKAGE in sys.modules:
        return getattr(sys.modules[PACKAGE], "__trading_fast__", False)
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"{PACKAGE} is not installed: run `make setup`")
    package = importlib.util.module_from_spec(spec)  # created, not executed: its __init__ never runs
    package.__trading_fast__ = True  # type: ignore[attr-defined]
    sys.modules[PACKAGE] = package
    return True
