"""Process setup for synthesis: where jsii and cdktf put their files, and the fast binding imports.

Must run before the first ``jsii``/``cdktf`` import: the jsii node process inherits the environment when it starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from python_stacks import fast_imports

ROOT = Path(__file__).resolve().parent.parent


def prepare() -> None:
    cache = Path(os.environ.get("TRADING_CACHE_DIR", ROOT / ".cache"))
    # jsii unpacks ≈ 415 MB of assemblies on first use; keep it in the project cache, not the user's temp dir.
    os.environ.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(cache / "jsii"))
    tmp = cache / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    # jsii and cdktf leave kernel and staging folders behind in the temp dir.
    os.environ["TMPDIR"] = str(tmp)
    # Node 20 is what Debian 12 ships; jsii 1.x still runs on it (see docs/decisions/0005-cdktf-toolchain.md).
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    fast_imports.install()
    fast_imports.install_node_hook(cache)
