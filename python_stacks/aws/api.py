"""The REST API in front of the trades function, from tf_modules/api (routes, stage, access logs, custom domain)."""

from __future__ import annotations

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias

from python_stacks.aws.modules import ModuleFace
from python_stacks.config import StackConfig

# Trade routes are signed with SigV4 by callers; /health stays open for load balancers and probes.
TRADE_ROUTES_AUTHORIZATION = "AWS_IAM"


class Api(ModuleFace):
    """``module.api``; inputs and outputs as in tf_modules/api/README.md."""

    SOURCE = "api"
    VARIABLES = frozenset(
        {
            "environment_suffix",
            "kms_key_arn",
            "lambda_function_name",
            "lambda_invoke_arn",
            "lambda_qualifier",
            "trade_routes_authorization",
            "stage_name",
            "throttling_rate_limit",
            "throttling_burst_limit",
            "create_custom_domain",
            "domain_name",
            "zone_id",
        }
    )
    OUTPUTS = frozenset(
        {"stage_invoke_url", "custom_domain_url", "domain_regional_domain_name", "domain_regional_zone_id"}
    )

    def __init__(
        self,
        stack: TerraformStack,
        construct_id: str,
        *,
        config: StackConfig,
        alias: LambdaAlias,
        kms_key_arn: str,
        zone_id: str,
    ) -> None:
        compute = config.settings.compute
        # The API and stage names the module gives them (api-<suffix>, stage_name as passed): what alarms watch.
        self.api_name = config.naming.name("api")
        self.stage_name = config.workspace
        super().__init__(
            stack,
            construct_id,
            {
                "environment_suffix": config.naming.environment_suffix,
                "kms_key_arn": kms_key_arn,
                # Every route invokes the alias (a qualified invoke ARN); the permission is scoped to the same alias.
                "lambda_function_name": alias.function_name,
                "lambda_invoke_arn": alias.invoke_arn,
                "lambda_qualifier": alias.name,
                "trade_routes_authorization": TRADE_ROUTES_AUTHORIZATION,
                "stage_name": self.stage_name,
                "throttling_rate_limit": compute.api_throttle_rate_limit,
                "throttling_burst_limit": compute.api_throttle_burst_limit,
                "create_custom_domain": True,
                "domain_name": config.api_domain_name,
                "zone_id": zone_id,
            },
        )

    @property
    def stage_invoke_url(self) -> str:
        return self._output("stage_invoke_url")

    @property
    def custom_domain_url(self) -> str:
        return self._output("custom_domain_url")

    @property
    def regional_domain_name(self) -> str:
        return self._output("domain_regional_domain_name")

    @property
    def regional_zone_id(self) -> str:
        return self._output("domain_regional_zone_id")
