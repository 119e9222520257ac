"""Route 53: the workspace's hosted zone (created, or looked up by id) and the API's alias record."""

from __future__ import annotations

from cdktf import Fn, Op, Precondition, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_route53_zone import DataAwsRoute53Zone
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone
from constructs import Construct

from python_stacks.aws.api import Api
from python_stacks.config import StackConfig


class Dns(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._preconditions: list[Precondition] = []
        if config.hosted_zone_id:
            # An existing, delegated zone (required on real AWS for the certificate's DNS validation to complete).
            existing = DataAwsRoute53Zone(self, "zone", zone_id=config.hosted_zone_id)
            self.zone_id = existing.zone_id
            # The API's name, its certificate's validation record and its alias must all live in that zone.
            # Built with Fn/Op, not as one string: cdktf's HCL export garbles strings holding both ${ and quotes.
            zone_name = Fn.trimsuffix(existing.name, ".")
            domain = config.api_domain_name
            self._preconditions.append(
                Precondition(
                    condition=Op.or_(Op.eq(domain, zone_name), Fn.endswith(domain, Fn.join("", [".", zone_name]))),
                    error_message=(
                        f"TRADING_HOSTED_ZONE_ID={config.hosted_zone_id} is not a zone of {domain}: name the "
                        "Route 53 zone of TRADING_DOMAIN (or of a parent of the API's host name)."
                    ),
                )
            )
        else:
            # The API host without its first label: api.dev.example.com is served from the zone dev.example.com.
            zone_name = config.api_domain_name.split(".", 1)[1]
            name = config.naming.name("zone")
            created = Route53Zone(
                self,
                "zone",
                name=zone_name,
                comment=f"Trading platform ({config.naming.environment_suffix})",
                force_destroy=True,
                tags={"Name": name},
            )
            self.zone_id = created.zone_id

    def alias_api(self, api: Api) -> Route53Record:
        return Route53Record(
            self,
            "api-alias",
            zone_id=self.zone_id,
            name=self._config.api_domain_name,
            type="A",
            alias=Route53RecordAlias(
                name=api.regional_domain_name,
                zone_id=api.regional_zone_id,
                evaluate_target_health=False,
            ),
            lifecycle=TerraformResourceLifecycle(precondition=self._preconditions) if self._preconditions else None,
        )
