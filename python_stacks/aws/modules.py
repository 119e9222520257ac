"""Wiring of the local HCL modules in tf_modules/ into CDKTF stacks, and the base of their typed faces.

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
from typing import Any, ClassVar

from cdktf import AssetType, TerraformAsset, TerraformHclModule
from constructs import Construct

from python_stacks.project import CACHE_DIR, ROOT

MODULES_DIR = ROOT / "tf_modules"
STAGING_DIR = CACHE_DIR / "module-src"


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


def hcl_module(scope: Construct, construct_id: str, *, module: str, variables: Mapping[str, Any]) -> TerraformHclModule:
    asset = TerraformAsset(
        scope, f"{construct_id}-source", path=str(staged_module_dir(module)), type=AssetType.DIRECTORY
    )
    return TerraformHclModule(
        scope,
        construct_id,
        source=f"./{asset.path}",
        skip_asset_creation_from_local_modules=True,
        variables=dict(variables),
    )


class ModuleFace:
    """A typed face of one module of tf_modules/: the subclass's constructor takes its inputs as keyword arguments,
    its properties read its outputs. ``SOURCE``, ``VARIABLES`` and ``OUTPUTS`` are the one place that knows the
    module's names; tests/contract/test_module_faces.py checks them against the module's variables.tf/outputs.tf."""

    SOURCE: ClassVar[str]
    VARIABLES: ClassVar[frozenset[str]]
    OUTPUTS: ClassVar[frozenset[str]]

    def __init__(self, scope: Construct, construct_id: str, variables: Mapping[str, Any]) -> None:
        unknown = set(variables) - self.VARIABLES
        if unknown:
            raise KeyError(f"{type(self).__name__}: {sorted(unknown)} are not inputs of tf_modules/{self.SOURCE}")
        self.module = hcl_module(scope, construct_id, module=self.SOURCE, variables=variables)

    def _set(self, variable: str, value: Any) -> None:
        """An input decided after the module was created (wiring between concerns)."""
        if variable not in self.VARIABLES:
            raise KeyError(f"{type(self).__name__}: {variable!r} is not an input of tf_modules/{self.SOURCE}")
        self.module.set(variable, value)

    def _output(self, name: str) -> str:
        return self.module.get_string(self._checked(name))

    def _output_any(self, name: str) -> Any:
        return self.module.get(self._checked(name))

    def _checked(self, name: str) -> str:
        if name not in self.OUTPUTS:
            raise KeyError(f"{type(self).__name__}: {name!r} is not an output of tf_modules/{self.SOURCE}")
        return name
