"""The typed Python faces of the HCL modules (python_stacks/aws/*.py, ``ModuleFace``) against the modules' own
variables.tf and outputs.tf: every input a face passes is declared, every output it reads exists, every required
input is passed, and no stack code spells a module output as a string outside the faces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from python_stacks.aws.api import Api
from python_stacks.aws.database import Aurora
from python_stacks.aws.modules import MODULES_DIR, ModuleFace
from python_stacks.aws.network import Vpc
from python_stacks.stacks.account import ApiAccountSettings
from tools.module_docs import read_interface

ROOT = Path(__file__).resolve().parents[2]
FACES: tuple[type[ModuleFace], ...] = (Vpc, Aurora, Api, ApiAccountSettings)


def test_every_module_the_stacks_use_has_a_face() -> None:
    used = {
        match
        for path in (ROOT / "python_stacks").rglob("*.py")
        for match in re.findall(r'^\s*SOURCE = "([^"]+)"', path.read_text(), re.M)
    }
    assert used == {face.SOURCE for face in FACES} == {"vpc", "aurora", "api", "api/modules/account-settings"}


@pytest.mark.parametrize("face", FACES, ids=lambda face: face.__name__)
def test_the_face_passes_declared_variables_and_reads_declared_outputs(face: type[ModuleFace]) -> None:
    interface = read_interface(MODULES_DIR / face.SOURCE)
    declared = {v.name for v in interface.variables}
    required = {v.name for v in interface.variables if v.required}
    outputs = {o.name for o in interface.outputs}
    assert declared >= face.VARIABLES, f"tf_modules/{face.SOURCE} declares no {sorted(face.VARIABLES - declared)}"
    assert required <= face.VARIABLES, f"{face.__name__} never passes required {sorted(required - face.VARIABLES)}"
    assert outputs >= face.OUTPUTS, f"tf_modules/{face.SOURCE} has no output {sorted(face.OUTPUTS - outputs)}"


def test_no_module_output_is_read_outside_the_faces() -> None:
    # get_string("cluster_endpoint") and friends belong in python_stacks/aws/modules.py (ModuleFace) only.
    # (A plain `.get("...")` is a dict's too; on a module it is module.get, which only a face has.)
    reads = re.compile(r'\.(get_string|get_number|get_list|get_boolean|get_any_map|get_string_map)\(\s*"|module\.get\(')
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "python_stacks").rglob("*.py"))
        if path.name != "modules.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if reads.search(line)
    ]
    assert not offenders, f"module outputs read by name outside a face: {offenders}"
