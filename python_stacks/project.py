"""Where the project lives and keeps its caches: the one definition every package (stacks, tooling, emulator,
benchmarks) reads."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Build output and caches that survive a `make clean`-free session: jsii's unpacked bindings, the Lambda
    dependencies, module staging, the emulator's state. TRADING_CACHE_DIR moves it (tests, CI, a benchmark that
    wants a cold cache sets it while it runs, hence read at call time)."""
    return Path(os.environ.get("TRADING_CACHE_DIR", ROOT / ".cache"))


CACHE_DIR = cache_dir()
