"""What every stack of this project shares: provider, version constraints, backend and the workspace guard."""

from __future__ import annotations

from cdktf import LocalBackend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from python_stacks.config import StackConfig
from python_stacks.constants import PROJECT

# Written by the bindings as an exact pin; users run any 5.x or 6.x provider.
AWS_PROVIDER_CONSTRAINT = ">= 5.0, < 7.0"
TERRAFORM_CONSTRAINT = ">= 1.5"

# Local state lives beside the project, outside cdktf.out, so a re-synth or `rm -rf cdktf.out` never loses it.
# Stacks run from cdktf.out/stacks/<stack>/, three levels below the project root.
LOCAL_STATE_ROOT = "../../../.state"


class TradingStackBase(TerraformStack):
    """A stack bound to one workspace: it refuses to plan in any other."""

    def __init__(self, scope: Construct, stack_id: str, config: StackConfig) -> None:
        super().__init__(scope, stack_id)
        self.config = config
        AwsProvider(
            self,
            "aws",
            region=config.settings.region,
            default_tags=[
                {
                    "tags": {
                        "project": PROJECT,
                        "environment": config.naming.environment_suffix,
                        "workspace": config.workspace,
                        "managed-by": "cdktf",
                    }
                }
            ],
            **config.target.provider_settings(),
        )
        self.add_override("terraform.required_version", TERRAFORM_CONSTRAINT)
        self.add_override("terraform.required_providers.aws.version", AWS_PROVIDER_CONSTRAINT)
        LocalBackend(
            self,
            path=f"{LOCAL_STATE_ROOT}/{stack_id}/terraform.tfstate",
            workspace_dir=f"{LOCAL_STATE_ROOT}/{stack_id}",
        )
        TerraformOutput(
            self,
            "workspace",
            value="${terraform.workspace}",
            description="The Terraform workspace this configuration was synthesized for.",
        )
        # cdktf 0.21 drops TerraformOutput(precondition=...) from the JSON, so the guard goes in as an override.
        self.add_override(
            "output.workspace.precondition",
            [
                {
                    "condition": f'${{terraform.workspace == "{config.workspace}"}}',
                    "error_message": (
                        f"This configuration was synthesized for workspace '{config.workspace}'. Select it with "
                        f"`terraform workspace select {config.workspace}` (or TF_WORKSPACE={config.workspace}), "
                        "or synthesize again for the workspace you are in."
                    ),
                }
            ],
        )
