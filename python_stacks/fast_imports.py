"""Load only the AWS provider binding modules the stacks use, on both sides of jsii.

Python side: ``import cdktf_cdktf_provider_aws.<submodule>`` first runs the package ``__init__``, which imports all
~1,500 submodules (≈ 9–10 s here, before any stack code runs). Registering an empty package object under the
package name lets Python import just the submodules we name; each of them loads the package's jsii assembly itself
(``from .._jsii import *``).

Node side: loading that assembly makes the jsii kernel ``require`` the package's ``lib/index.js``, which eagerly
requires the same ~1,500 JavaScript modules (≈ 400 MB and about a second in the node process). A preload hook
(``--require`` in ``NODE_OPTIONS``, inherited by the node process jsii starts) rewrites each
``exports.x = require("./x");`` line of that one file into a getter, so a module loads when the kernel first
looks a type up in it. The hook touches no other file and leaves the index as it is when the lines differ.

Neither changes what is synthesized: tests/unit/test_fast_synth.py proves the output byte-identical to the stock
path for every workspace. ``TRADING_STOCK_IMPORTS=1`` disables both (the benchmark and that test run the stock path).

``prepare()`` is the one call an entry point makes before the first ``jsii``/``cdktf`` import (the jsii node process
inherits the environment when it starts): caches, temp dir, both hooks. ``child_environment()`` undoes what it changed,
for tools that start other programs (Terraform, the cdktf CLI, a stock-path synth).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from python_stacks.project import CACHE_DIR

PACKAGE = "cdktf_cdktf_provider_aws"
NODE_PACKAGE = "@cdktf/provider-aws"
HOOK_NAME = "lazy-provider-index.js"

# Node preload script. Matches the generated index by its package.json name, not by a path of the jsii cache.
NODE_HOOK = r"""'use strict';
// Written by python_stacks/fast_imports.py: makes the @cdktf/provider-aws index load its submodules on first use.
const Module = require('module');
const path = require('path');
const compile = Module.prototype._compile;
const INDEX = /[\\/]lib[\\/]index\.js$/;
const EAGER = /^exports\.([A-Za-z_$][\w$]*) = require\(("\.\/[^"]+")\);$/gm;
Module.prototype._compile = function (content, filename) {
  if (INDEX.test(filename)) {
    let name;
    try {
      name = require(path.join(path.dirname(path.dirname(filename)), 'package.json')).name;
    } catch (error) {
      name = undefined;
    }
    if (name === '%(package)s') {
      content = content.replace(EAGER,
        'Object.defineProperty(exports, "$1", { enumerable: true, configurable: true, get: () => require($2) });');
    }
  }
  return compile.call(this, content, filename);
};
""".replace("%(package)s", NODE_PACKAGE)


def stock_requested() -> bool:
    return os.environ.get("TRADING_STOCK_IMPORTS") == "1"


def install() -> bool:
    """Register the lightweight package object; returns True when the fast path is active."""
    if stock_requested():
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


def install_node_hook(cache_dir: Path) -> Path | None:
    """Write the preload script under ``cache_dir`` and add it to NODE_OPTIONS; None on the stock path.

    Must run before the jsii kernel starts (the first ``jsii``/``cdktf`` import): node reads NODE_OPTIONS once.
    """
    if stock_requested():
        _remove_node_hook()
        return None
    hook = cache_dir / "node" / HOOK_NAME
    if not hook.is_file() or hook.read_text() != NODE_HOOK:
        hook.parent.mkdir(parents=True, exist_ok=True)
        tmp = hook.with_name(f"{hook.name}.{os.getpid()}.tmp")
        tmp.write_text(NODE_HOOK)
        tmp.replace(hook)
    current = os.environ.get("NODE_OPTIONS", "")
    if str(hook) not in current:
        # NODE_OPTIONS splits on spaces unless the value is double-quoted.
        option = f'--require "{hook}"' if " " in str(hook) else f"--require={hook}"
        os.environ["NODE_OPTIONS"] = f"{current} {option}".strip()
    return hook


def _remove_node_hook() -> None:
    """Drop a hook inherited from a parent process that ran the fast path, so the stock path stays stock."""
    kept = _without_hook(os.environ.get("NODE_OPTIONS"))
    if kept is None:
        os.environ.pop("NODE_OPTIONS", None)
    else:
        os.environ["NODE_OPTIONS"] = kept


def _without_hook(node_options: str | None) -> str | None:
    """``node_options`` without our preload hook; None when nothing else is left."""
    if node_options is None or HOOK_NAME not in node_options:
        return node_options
    kept = re.sub(rf'--require(?:=|\s+)(?:"[^"]*{re.escape(HOOK_NAME)}"|\S*{re.escape(HOOK_NAME)})', "", node_options)
    return " ".join(kept.split()) or None


# NODE_OPTIONS before ``prepare`` added the preload hook (None: unset), for ``child_environment``.
_UNSET = object()
_original_node_options: object = _UNSET


def prepare(cache_dir: Path | None = None) -> None:
    """Process setup for synthesis: where jsii and cdktf put their files, and the fast binding imports."""
    global _original_node_options
    cache = cache_dir or Path(os.environ.get("TRADING_CACHE_DIR", CACHE_DIR))
    # jsii unpacks ≈ 415 MB of assemblies on first use; keep it in the project cache, not the user's temp dir.
    os.environ.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(cache / "jsii"))
    tmp = cache / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    # jsii and cdktf leave kernel and staging folders behind in the temp dir.
    os.environ["TMPDIR"] = str(tmp)
    # Node 20 is what Debian 12 ships; jsii 1.x still runs on it (see docs/decisions/0005-cdktf-toolchain.md).
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if _original_node_options is _UNSET:
        # A hook inherited from a parent that ran prepare() is ours too: children get NODE_OPTIONS without it.
        _original_node_options = _without_hook(os.environ.get("NODE_OPTIONS"))
    install()
    install_node_hook(cache)


def child_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) without the node preload hook ``prepare`` added: a program this process
    starts (Terraform, the cdktf CLI, a stock-path synth) decides on its own whether it takes the fast path. The cache
    and temp-dir settings stay: they are where every jsii process of the project should put its files."""
    result = dict(os.environ if env is None else env)
    if _original_node_options is _UNSET:
        return result
    if _original_node_options is None:
        result.pop("NODE_OPTIONS", None)
    else:
        result["NODE_OPTIONS"] = str(_original_node_options)
    return result
