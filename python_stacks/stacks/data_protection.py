"""The data-protection stack: the workspace's KMS key, kept apart so it can outlive the application stack.

A final Aurora snapshot is only restorable while the key that encrypted it exists. Keeping the key here lets prod
destroy and recreate the application stack without losing data; this stack itself is still destroyable
(see docs/decisions/0003-prod-data-survives-destroy.md).
"""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from python_stacks.aws.keys import PlatformKey
from python_stacks.config import StackConfig
from python_stacks.stacks.workspace_stack import WorkspaceStack
from python_stacks.workspace import data_protection_stack_id


class DataProtectionStack(WorkspaceStack):
    def __init__(self, scope: Construct, config: StackConfig) -> None:
        super().__init__(scope, data_protection_stack_id(config), config)
        key = PlatformKey(
            self, "kms", naming=config.naming, deletion_window_days=config.settings.kms_deletion_window_days
        )
        TerraformOutput(self, "kms_key_arn", value=key.key.arn, description="ARN of the platform KMS key.")
        TerraformOutput(self, "kms_key_alias", value=key.alias.name, description="Alias of the platform KMS key.")
