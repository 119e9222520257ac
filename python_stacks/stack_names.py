"""Stack names, importable without loading cdktf (the tooling needs them before and without synthesis)."""

from __future__ import annotations

from python_stacks.config import StackConfig

# Account-wide settings, shared by every workspace, run in Terraform's default workspace.
ACCOUNT_STACK_ID = "account-settings"
ACCOUNT_WORKSPACE = "default"


def data_protection_stack_id(config: StackConfig) -> str:
    return config.naming.name("data-protection")


def trading_stack_id(config: StackConfig) -> str:
    return config.naming.name("trading")


def workspace_stack_ids(config: StackConfig) -> tuple[str, str]:
    """The stacks of one workspace, in apply order."""
    return data_protection_stack_id(config), trading_stack_id(config)
