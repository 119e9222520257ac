"""The exit from CDKTF stays proven: ``cdktf synth --hcl`` of every workspace validates as plain Terraform.

Runs ``tools/hcl_export.py`` once (pinned cdktf CLI, installed with ``npm ci`` on first use; then ``terraform
init`` + ``validate`` of every stack) and asserts on the HCL it leaves behind, against the JSON synthesis the
export keeps beside it (``<outdir>/json``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest

from python_stacks.workspace import WORKSPACES
from tools.hcl_export import stack_files
from tools.tf import terraform_binary, terraform_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, lambda_zip: Path) -> Path:
    outdir = tmp_path_factory.mktemp("hcl-out")
    env = {k: v for k, v in os.environ.items() if k not in ("NODE_OPTIONS", "TF_WORKSPACE")}
    result = subprocess.run(
        [sys.executable, "-m", "tools.hcl_export", "--outdir", str(outdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, f"hcl export failed:\n{result.stdout}\n{result.stderr}"
    valid = re.search(r"(\d+)/(\d+) stacks valid as plain HCL", result.stdout)
    assert valid and valid.group(1) == valid.group(2) == str(len(stack_files(outdir))), result.stdout
    return outdir


def reference(exported: Path, stack: str) -> dict[str, Any]:
    return json.loads((exported / "json" / "stacks" / stack / "cdk.tf.json").read_text())


def parse(path: Path) -> dict[str, Any]:
    return hcl2.loads(path.read_text())


def labels(blocks: list[dict[str, Any]]) -> set[str]:
    return {label.strip('"') for block in blocks for label in block}


def test_every_stack_of_every_workspace_is_exported_as_hcl(exported: Path) -> None:
    files = stack_files(exported)
    expected = {p.name for p in (exported / "json" / "stacks").iterdir()}
    assert {key.split("/", 1)[1] for key in files} == expected
    for workspace in WORKSPACES:
        names = {key.split("/", 1)[1] for key in files if key.startswith(f"{workspace}/")}
        assert {f"data-protection-{workspace}", f"trading-{workspace}"} <= names
    json_stacks = [p for ws in WORKSPACES for p in (exported / ws / "stacks").glob("*/cdk.tf.json")]
    assert not json_stacks, "the HCL export must not write JSON stacks"


def test_terraform_block_keeps_both_version_constraints(exported: Path) -> None:
    for name, path in stack_files(exported).items():
        text = path.read_text()
        # >= 1.5 everywhere but the account stack, whose import block needs 1.7 (python_stacks/stacks/account.py).
        required = reference(exported, name.split("/", 1)[1])["terraform"]["required_version"]
        assert re.search(rf'^\s*required_version\s*=\s*"{re.escape(required)}"$', text, re.M), name
        assert re.search(r'^\s*version\s*=\s*">= 5\.32, < 7\.0"$', text, re.M), name
        assert not re.search(r'^\s*\d+\s*=\s*"', text, re.M), f"{name}: cdktf's broken terraform block is back"


@pytest.mark.parametrize("workspace", list(WORKSPACES))
def test_workspace_guard_is_a_precondition_block(exported: Path, workspace: str) -> None:
    # On a terraform_data resource (python_stacks/stacks/workspace_stack.py): checked at plan and apply only.
    for kind in ("data-protection", "trading"):
        resources = parse(stack_files(exported)[f"{workspace}/{kind}-{workspace}"])["resource"]
        (guard,) = [
            block['"terraform_data"']['"workspace_guard"']
            for block in resources
            if '"workspace_guard"' in block.get('"terraform_data"', {})
        ]
        (lifecycle,) = guard["lifecycle"]
        (precondition,) = lifecycle["precondition"]
        assert precondition["condition"] == f'${{terraform.workspace == "{workspace}"}}'
        assert f"synthesized for workspace '{workspace}'" in precondition["error_message"]


def test_modules_are_exported_with_their_sources(exported: Path) -> None:
    seen = set()
    for key, path in stack_files(exported).items():
        stack = key.split("/", 1)[1]
        modules = {label.strip('"'): body for block in parse(path).get("module", []) for label, body in block.items()}
        assert set(modules) == set(reference(exported, stack).get("module", {})), key
        for name, body in modules.items():
            source = body["source"].strip('"')
            assert source.startswith("./assets/"), f"{key} module {name}: {source}"
            assert list((path.parent / source).glob("*.tf")), f"{key} module {name}: {source} was not exported"
            seen.add(name)
    assert "vpc" in seen


def test_resources_data_and_outputs_match_the_json_synthesis(exported: Path) -> None:
    for key, path in stack_files(exported).items():
        hcl, json_config = parse(path), reference(exported, key.split("/", 1)[1])
        for kind in ("resource", "data", "output"):
            assert labels(hcl.get(kind, [])) == set(json_config.get(kind, {})), f"{key}: {kind}"


def test_the_account_stack_keeps_its_import_block(exported: Path) -> None:
    for workspace in WORKSPACES:
        path = stack_files(exported)[f"{workspace}/account-settings"]
        (block,) = parse(path)["import"]
        expected = reference(exported, "account-settings")["import"][0]
        assert block["for_each"] == expected["for_each"] and block["id"] == expected["id"]
        assert block["to"] == f"${{{expected['to']}}}", "an address, not a string"


def test_plain_validate_passes_in_any_workspace(exported: Path) -> None:
    # The guard bites at plan and apply only, so editors and CI can validate without selecting the workspace.
    stack = stack_files(exported)["dev/data-protection-dev"].parent
    env = terraform_env()
    env["TF_WORKSPACE"] = "prod"
    result = subprocess.run(
        [terraform_binary(), "validate", "-no-color"], cwd=stack, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
