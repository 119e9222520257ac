"""The account-wide stack shares one state per workspace between make and the cdktf CLI, adopts a role that exists
outside that state, and the stacks declare their order to cdktf (docs/decisions/0013-account-settings-state.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import hcl2

from python_stacks.backend import local_state_dir
from python_stacks.constants import REGION
from python_stacks.stacks import load_configs
from python_stacks.stacks.account import MODULE_ID, ROLE_ADDRESS, cloudwatch_role_name
from tests.conftest import WORKSPACES
from tests.support.stacks import Synthesized
from tools.deploy import Deployment
from tools.module_docs import _HCL_OPTIONS


def module_main(synth: Synthesized) -> dict:
    account = synth.stack("account-settings")
    source = account.directory / account.module(MODULE_ID)["source"]
    with (source / "main.tf").open() as handle:
        return hcl2.load(handle, serialization_options=_HCL_OPTIONS)


def test_trading_stacks_declare_what_they_need_so_the_cli_orders_deploy_and_destroy(synth: Synthesized) -> None:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())["stacks"]
    for workspace in WORKSPACES:
        assert sorted(manifest[f"trading-{workspace}"]["dependencies"]) == [
            "account-settings",
            f"data-protection-{workspace}",
        ]
        assert manifest[f"data-protection-{workspace}"]["dependencies"] == []
    assert manifest["account-settings"]["dependencies"] == []


def test_the_account_stack_adopts_the_role_the_account_already_holds(synth: Synthesized) -> None:
    account = synth.stack("account-settings")
    (lookup,) = account.data("aws_iam_roles").items()
    (block,) = account.config["import"]
    # Zero or one role name, read at plan time; each one is imported into the module's role.
    names = f"${{data.aws_iam_roles.{lookup[0]}.names}}"
    assert block == {"for_each": names, "to": ROLE_ADDRESS, "id": "${each.value}"}
    assert lookup[1]["name_regex"] == f"^{cloudwatch_role_name(REGION)}$"
    # for_each in an import block needs Terraform 1.7.
    assert account.config["terraform"]["required_version"] == ">= 1.7"


def test_the_looked_up_name_and_the_import_address_are_the_modules_own(synth: Synthesized) -> None:
    # Contract with tf_modules/api/modules/account-settings: its role's address and its naming rule.
    main = module_main(synth)
    resource_type, name = ROLE_ADDRESS.removeprefix(f"module.{MODULE_ID}.").split(".")
    assert name in next(block[resource_type] for block in main["resource"] if resource_type in block)
    (locals_,) = main["locals"]
    suffix = synth.stack("account-settings").module(MODULE_ID)["environment_suffix"]
    assert locals_["role_name"].replace("${var.environment_suffix}", suffix) == cloudwatch_role_name(REGION)


def test_make_runs_the_account_stack_in_the_workspace_the_cli_runs_it_in(tmp_path: Path) -> None:
    # The cdktf CLI applies every stack of the app in TF_WORKSPACE's workspace; make must read the same state.
    for config in load_configs(WORKSPACES, {"TARGET": "local"}):
        assert Deployment(config, tmp_path / "cdktf.out").account.workspace == config.workspace


def test_the_workspace_folder_the_cli_path_creates_is_where_the_local_backend_looks(synth: Synthesized) -> None:
    account = synth.stack("account-settings")
    backend = account.config["terraform"]["backend"]["local"]
    expected = os.path.normpath(account.directory.absolute() / backend["workspace_dir"])
    assert str(local_state_dir(synth.outdir, "account-settings")) == expected
