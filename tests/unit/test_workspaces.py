"""Workspace selection, naming and the wrong-workspace guard, through the real entry points."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from python_stacks.config import load_config
from python_stacks.workspace import InvalidSuffixError, Naming, UnknownWorkspaceError, settings_for
from tests.support.stacks import Synthesized, synthesize
from tools.emulator import Emulator
from tools.tf import terraform_binary, terraform_env

ROOT = Path(__file__).resolve().parents[2]
NAME_FIELDS = ("name", "bucket", "identifier", "cluster_identifier", "function_name", "name_prefix")
# Their `name` is a DNS name chosen by the domain owner, not a resource name (zones still carry a Name tag).
DNS_NAMED = ("aws_route53_record", "aws_route53_zone")
# A qualifier inside its function's name (trades-api-<suffix>:live), like a stage inside its API.
QUALIFIERS = ("aws_lambda_alias",)


def test_unknown_and_missing_workspaces_are_refused_with_the_valid_ones() -> None:
    with pytest.raises(UnknownWorkspaceError, match=r"unknown workspace 'qa': valid workspaces are dev, staging, prod"):
        settings_for("qa")
    with pytest.raises(UnknownWorkspaceError, match="set TF_WORKSPACE to one of: dev, staging, prod"):
        settings_for("")


@pytest.mark.parametrize("bad", ["Dev", "-dev", "dev-", "dev--1", "a" * 22, "dev_1", ""])
def test_invalid_suffixes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidSuffixError):
        Naming(bad)


def test_suffix_defaults_to_the_workspace_and_can_be_overridden() -> None:
    assert load_config("staging", {}).naming.name("trading") == "trading-staging"
    assert load_config("staging", {"ENVIRONMENT_SUFFIX": "pr42"}).naming.name("trading") == "trading-pr42"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TF_WORKSPACE": "qa"}, "error: unknown workspace 'qa': valid workspaces are dev, staging, prod"),
        ({}, "error: no workspace selected: set TF_WORKSPACE to one of: dev, staging, prod"),
        ({"TF_WORKSPACE": "dev", "TARGET": "gcp"}, "error: unknown TARGET 'gcp': valid targets are local, aws"),
    ],
)
def test_app_py_fails_with_one_clear_line(clean_env: dict[str, str], env: dict[str, str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env={**clean_env, **env}, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip() == message, "one line, no traceback"


def test_make_synth_refuses_an_unknown_workspace(clean_env: dict[str, str]) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "synth"],
        cwd=ROOT,
        env={**clean_env, "TF_WORKSPACE": "qa"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "error: unknown workspace 'qa': valid workspaces are dev, staging, prod" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr


def _names(config: dict) -> list[str]:
    found = []
    for resource_type, resources in config.get("resource", {}).items():
        if resource_type in QUALIFIERS:
            continue
        for resource in resources.values():
            if resource_type in DNS_NAMED:
                found += [resource["tags"]["Name"]] if "tags" in resource else []
                continue
            # A value that is only a reference (`${aws_s3_bucket.x.id}`) names nothing itself.
            found += [
                resource[f]
                for f in NAME_FIELDS
                if isinstance(resource.get(f), str) and not re.fullmatch(r"\$\{[^}]*\}", resource[f])
            ]
            tags = resource.get("tags")
            if isinstance(tags, dict) and "Name" in tags:
                found.append(tags["Name"])
    return found


@pytest.mark.parametrize("workspace", ["dev", "staging", "prod"])
def test_every_name_carries_the_environment_suffix(synth: Synthesized, workspace: str) -> None:
    for stack in (synth.trading(workspace), synth.data_protection(workspace)):
        names = _names(stack.config)
        assert names, f"{stack.name} names nothing?"
        for name in names:
            assert name.endswith(f"-{workspace}"), f"{stack.name}: {name!r} lacks the suffix"
        for module_name, module in stack.config.get("module", {}).items():
            assert module["environment_suffix"] == workspace, module_name


def test_an_overridden_suffix_renames_everything(tmp_path: Path) -> None:
    synth = synthesize(["dev"], tmp_path, {"ENVIRONMENT_SUFFIX": "pr42"})
    assert synth.stack_names == ["account-settings", "data-protection-pr42", "trading-pr42"]
    for stack in (synth.stack("trading-pr42"), synth.stack("data-protection-pr42")):
        for name in _names(stack.config):
            assert name.endswith("-pr42"), name
    assert synth.stack("data-protection-pr42").resource("aws_kms_alias")["name"] == "alias/trading-us-east-1-pr42"


def _terraform(args: list[str], cwd: Path, workspace: str) -> subprocess.CompletedProcess[str]:
    env = terraform_env()
    env["TF_WORKSPACE"] = workspace
    return subprocess.run([terraform_binary(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_a_configuration_refuses_to_plan_in_another_workspace(tmp_path: Path, emulator: Emulator) -> None:
    env = {"TARGET": "local", "LOCAL_AWS_ENDPOINT": emulator.endpoint}
    synth = synthesize(["dev"], tmp_path / "out", env)
    stack = synth.stack("data-protection-dev")
    # A throwaway state location, so the test never touches the project's .state/.
    backend = stack.config["terraform"]["backend"]["local"]
    backend["path"] = str(tmp_path / "state" / "terraform.tfstate")
    backend["workspace_dir"] = str(tmp_path / "state")
    (stack.directory / "cdk.tf.json").write_text(json.dumps(stack.config))

    assert _terraform(["init", "-input=false", "-no-color"], stack.directory, "staging").returncode == 0
    wrong = _terraform(["plan", "-input=false", "-no-color"], stack.directory, "staging")
    assert wrong.returncode == 1
    assert "This configuration was synthesized for workspace 'dev'" in wrong.stderr
    assert 'terraform.workspace is "staging"' in wrong.stderr

    right = _terraform(["plan", "-input=false", "-no-color", "-detailed-exitcode"], stack.directory, "dev")
    assert right.returncode == 2, right.stderr  # 2 = a valid plan with changes
    assert "aws_kms_key.kms_key" in right.stdout


@pytest.mark.parametrize("workspace", ["dev", "prod"])
def test_the_guard_is_a_resource_precondition_not_an_output_one(synth: Synthesized, workspace: str) -> None:
    for stack in (synth.trading(workspace), synth.data_protection(workspace)):
        assert "precondition" not in stack.outputs["workspace"], "validate evaluates output preconditions"
        guard = stack.resource("terraform_data")
        assert guard["input"] == {"workspace": workspace}
        (precondition,) = guard["lifecycle"]["precondition"]
        assert precondition["condition"] == f'${{terraform.workspace == "{workspace}"}}'
        assert f"synthesized for workspace '{workspace}'" in precondition["error_message"]


def test_plain_validate_works_in_the_default_workspace(synth: Synthesized, tmp_path: Path, clean_env: dict) -> None:
    # What editors, CI pipelines and Terraform-native teams run: no TF_WORKSPACE, no backend.
    import shutil

    for name in ("trading-dev", "data-protection-prod"):
        directory = tmp_path / name
        shutil.copytree(synth.stack(name).directory, directory)
        env = terraform_env(clean_env)
        env.pop("TF_WORKSPACE", None)
        for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
            result = subprocess.run(
                [terraform_binary(), *args], cwd=directory, env=env, capture_output=True, text=True, timeout=300
            )
            assert result.returncode == 0, f"{name}: terraform {args[0]}: {result.stdout}{result.stderr}"
