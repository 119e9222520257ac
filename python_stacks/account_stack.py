"""Account-wide settings, applied once per account and region and shared by every workspace.

API Gateway writes stage logs through one CloudWatch role per account and region (``aws_api_gateway_account``).
A workspace must not own it: destroying that workspace would break the others' logging
(docs/decisions/0006-compute-and-api.md). This stack runs in Terraform's ``default`` workspace and ``make destroy``
never touches it.
"""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformStack
from constructs import Construct

from python_stacks.base import configure_aws
from python_stacks.config import StackConfig
from python_stacks.modules import hcl_module
from python_stacks.stack_names import ACCOUNT_STACK_ID


class AccountSettingsStack(TerraformStack):
    def __init__(self, scope: Construct, config: StackConfig) -> None:
        super().__init__(scope, ACCOUNT_STACK_ID)
        region = config.settings.region
        configure_aws(self, ACCOUNT_STACK_ID, config, {"environment": "account"})
        settings = hcl_module(
            self,
            "api_account_settings",
            module="api/modules/account-settings",
            # Per account and region, so the region stands where an environment suffix would.
            variables={"environment_suffix": region},
        )
        TerraformOutput(
            self,
            "apigateway_cloudwatch_role_arn",
            value=settings.get_string("cloudwatch_role_arn"),
            description="Role API Gateway uses to write stage logs in this account and region.",
        )
