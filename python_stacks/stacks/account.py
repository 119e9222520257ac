"""Account-wide settings, shared by every workspace: API Gateway's CloudWatch Logs role, one per account and region.

API Gateway writes stage logs through one role per account and region (``aws_api_gateway_account``), so no
workspace may own it alone (docs/decisions/0006-compute-and-api.md). Both entry points, ``make deploy`` and the
cdktf CLI, apply this stack in the Terraform workspace they run in, which is the state they share
(docs/decisions/0013-account-settings-state.md). The role may therefore already exist when a state does not hold
it (another workspace, another machine, a wiped ``.state/``): an ``import`` block, decided at plan time from what
the account holds, adopts it instead of failing with ``EntityAlreadyExists``. Applying is idempotent, so the
tooling simply applies this stack on every deploy.
"""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_iam_roles import DataAwsIamRoles
from constructs import Construct

from python_stacks.aws.modules import ModuleFace
from python_stacks.config import StackConfig
from python_stacks.stacks.workspace_stack import configure_aws
from python_stacks.workspace import ACCOUNT_STACK_ID

MODULE_ID = "api_account_settings"
# tf_modules/api/modules/account-settings names its role `role-apigateway-cloudwatch-<environment_suffix>`
# (its `locals.role_name`); tests/unit/test_account_settings.py fails when the two drift apart.
CLOUDWATCH_ROLE_PREFIX = "role-apigateway-cloudwatch"
ROLE_ADDRESS = f"module.{MODULE_ID}.aws_iam_role.cloudwatch"
# `for_each` in an import block, with an expression known only at plan time, needs Terraform 1.7.
TERRAFORM_CONSTRAINT = ">= 1.7"


class ApiAccountSettings(ModuleFace):
    """``module.api_account_settings``: tf_modules/api/modules/account-settings, API Gateway's logging role."""

    SOURCE = "api/modules/account-settings"
    VARIABLES = frozenset({"environment_suffix"})
    OUTPUTS = frozenset({"cloudwatch_role_arn"})

    def __init__(self, scope: Construct, construct_id: str, *, environment_suffix: str) -> None:
        super().__init__(scope, construct_id, {"environment_suffix": environment_suffix})

    @property
    def cloudwatch_role_arn(self) -> str:
        return self._output("cloudwatch_role_arn")


def cloudwatch_role_name(region: str) -> str:
    # Per account and region, so the region stands where an environment suffix would.
    return f"{CLOUDWATCH_ROLE_PREFIX}-{region}"


class AccountSettingsStack(TerraformStack):
    def __init__(self, scope: Construct, config: StackConfig) -> None:
        super().__init__(scope, ACCOUNT_STACK_ID)
        region = config.settings.region
        configure_aws(self, ACCOUNT_STACK_ID, config, {"environment": "account"})
        self.add_override("terraform.required_version", TERRAFORM_CONSTRAINT)
        settings = ApiAccountSettings(self, MODULE_ID, environment_suffix=region)
        # Zero or one name: the role as the account holds it right now, read before anything is planned.
        existing = DataAwsIamRoles(self, "existing-cloudwatch-role", name_regex=f"^{cloudwatch_role_name(region)}$")
        # Already in this state: Terraform skips the import. In the account but not in this state: adopted.
        # Nowhere: the set is empty and the module creates the role.
        self.add_override(
            "import", [{"for_each": f"${{{existing.fqn}.names}}", "to": ROLE_ADDRESS, "id": "${each.value}"}]
        )
        TerraformOutput(
            self,
            "apigateway_cloudwatch_role_arn",
            value=settings.cloudwatch_role_arn,
            description="Role API Gateway uses to write stage logs in this account and region.",
        )
