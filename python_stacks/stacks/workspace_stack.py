"""What every stack of this project shares: provider, version constraints, backend; and the workspace guard of the
stacks bound to one workspace."""

from __future__ import annotations

from cdktf import DataResource, Precondition, TerraformOutput, TerraformResourceLifecycle, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from python_stacks.backend import add_backend
from python_stacks.config import StackConfig
from python_stacks.constants import PROJECT

# Written by the bindings as an exact pin; users run any 5.x or 6.x provider from 5.32 on: the functions'
# `logging_config` and the python3.12 runtime need 5.32. Every tf_modules/*/versions.tf (and their examples, and
# bootstrap/) states the same range; tests/unit/test_foundation.py holds them to this one definition.
AWS_PROVIDER_CONSTRAINT = ">= 5.32, < 7.0"
TERRAFORM_CONSTRAINT = ">= 1.5"
# terraform_data.<this>: the resource that carries the wrong-workspace guard.
WORKSPACE_GUARD_ID = "workspace_guard"


def configure_aws(stack: TerraformStack, stack_id: str, config: StackConfig, tags: dict[str, str]) -> None:
    """The AWS provider of the target, the version constraints and the state backend of one stack."""
    AwsProvider(
        stack,
        "aws",
        region=config.settings.region,
        default_tags=[{"tags": {"project": PROJECT, "managed-by": "cdktf", **tags}}],
        **config.target.provider_settings(),
    )
    stack.add_override("terraform.required_version", TERRAFORM_CONSTRAINT)
    stack.add_override("terraform.required_providers.aws.version", AWS_PROVIDER_CONSTRAINT)
    add_backend(stack, stack_id, config.backend, config.target)


class WorkspaceStack(TerraformStack):
    """A stack bound to one workspace (the data-protection and trading stacks): it refuses to plan in any other."""

    def __init__(self, scope: Construct, stack_id: str, config: StackConfig) -> None:
        super().__init__(scope, stack_id)
        configure_aws(
            self,
            stack_id,
            config,
            {"environment": config.naming.environment_suffix, "workspace": config.workspace},
        )
        TerraformOutput(
            self,
            "workspace",
            value="${terraform.workspace}",
            description="The Terraform workspace this configuration was synthesized for.",
        )
        # The guard is a precondition of a terraform_data resource, not of an output: `terraform validate` evaluates
        # output preconditions (so plain `init -backend=false && validate` failed in the default workspace), while
        # a resource's preconditions are checked at plan and apply only (docs/decisions/0001-workspace-model.md).
        DataResource(
            self,
            WORKSPACE_GUARD_ID,
            input={"workspace": config.workspace},
            lifecycle=TerraformResourceLifecycle(
                precondition=[
                    Precondition(
                        condition=f'${{terraform.workspace == "{config.workspace}"}}',
                        error_message=(
                            f"This configuration was synthesized for workspace '{config.workspace}'. Select it with "
                            f"`terraform workspace select {config.workspace}` (or TF_WORKSPACE={config.workspace}), "
                            "or synthesize again for the workspace you are in."
                        ),
                    )
                ]
            ),
        )
