"""Wiring of the local HCL modules in tf_modules/ into CDKTF stacks.

Each module is copied (its top-level ``*.tf`` files only) into a staging folder and shipped as a TerraformAsset, so
the synthesized source is ``./assets/<module>/<hash>``: it works with both ``python app.py`` and ``cdktf synth``,
and the hash depends only on the module's code, not on test files, examples or a ``.terraform`` folder left by
running the module's own tests.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cdktf import AssetType, TerraformAsset, TerraformHclModule
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
MODULES_DIR = ROOT / "tf_modules"
STAGING_DIR = Path(os.environ.get("TRADING_CACHE_DIR", ROOT / ".cache")) / "module-src"


def staged_module_dir(module: str) -> Path:
    """A clean copy of ``tf_modules/<module>`` holding only its top-level Terraform files."""
    source = MODULES_DIR / module
    files = sorted(source.glob("*.tf"))
    if not files:
        raise FileNotFoundError(f"no Terraform module at {source}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    target = STAGING_DIR / f"{module}-{digest.hexdigest()[:16]}"
    if not target.is_dir():
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for path in files:
            shutil.copyfile(path, tmp / path.name)
        try:
            tmp.rename(target)
        except OSError:  # another process staged the same content first
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def hcl_module(
    scope: Construct, construct_id: str, *, module: str, variables: Mapping[str, Any]
) -> TerraformHclModule:
    asset = TerraformAsset(scope, f"{construct_id}-source", path=str(staged_module_dir(module)), type=AssetType.DIRECTORY)
    return TerraformHclModule(
        scope,
        construct_id,
        source=f"./{asset.path}",
        skip_asset_creation_from_local_modules=True,
        variables=dict(variables),
    )
