"""The REST API in front of the trades function, from tf_modules/api."""

from __future__ import annotations

from cdktf import TerraformHclModule, TerraformStack
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias

from python_stacks.config import StackConfig
from python_stacks.modules import hcl_module

# Trade routes are signed with SigV4 by callers; /health stays open for load balancers and probes.
TRADE_ROUTES_AUTHORIZATION = "AWS_IAM"


def rest_api(
    stack: TerraformStack,
    *,
    config: StackConfig,
    alias: LambdaAlias,
    kms_key_arn: str,
    zone_id: str,
) -> TerraformHclModule:
    """``module.api``: routes, stage, access logs and the custom domain; outputs as in tf_modules/api/README.md."""
    compute = config.settings.compute
    return hcl_module(
        stack,
        "api",
        module="api",
        variables={
            "environment_suffix": config.naming.environment_suffix,
            "kms_key_arn": kms_key_arn,
            # Every route invokes the alias (a qualified invoke ARN); the permission is scoped to the same alias.
            "lambda_function_name": alias.function_name,
            "lambda_invoke_arn": alias.invoke_arn,
            "lambda_qualifier": alias.name,
            "trade_routes_authorization": TRADE_ROUTES_AUTHORIZATION,
            "stage_name": config.workspace,
            "throttling_rate_limit": compute.api_throttle_rate_limit,
            "throttling_burst_limit": compute.api_throttle_burst_limit,
            "create_custom_domain": True,
            "domain_name": config.api_domain_name,
            "zone_id": zone_id,
        },
    )
