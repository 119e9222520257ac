"""Route 53: the workspace's hosted zone (created, or looked up by id) and the API's alias record."""

from __future__ import annotations

from cdktf import TerraformHclModule
from cdktf_cdktf_provider_aws.data_aws_route53_zone import DataAwsRoute53Zone
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone
from constructs import Construct

from python_stacks.config import StackConfig


class Dns(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        if config.hosted_zone_id:
            # An existing, delegated zone (required on real AWS for the certificate's DNS validation to complete).
            self.zone_id = DataAwsRoute53Zone(self, "zone", zone_id=config.hosted_zone_id).zone_id
        else:
            # The API host without its first label: api.dev.example.com is served from the zone dev.example.com.
            zone_name = config.api_domain_name.split(".", 1)[1]
            name = config.naming.name("zone")
            zone = Route53Zone(
                self,
                "zone",
                name=zone_name,
                comment=f"Trading platform ({config.naming.environment_suffix})",
                force_destroy=True,
                tags={"Name": name},
            )
            self.zone_id = zone.zone_id

    def alias_api(self, api: TerraformHclModule) -> Route53Record:
        return Route53Record(
            self,
            "api-alias",
            zone_id=self.zone_id,
            name=self._config.api_domain_name,
            type="A",
            alias=Route53RecordAlias(
                name=api.get_string("domain_regional_domain_name"),
                zone_id=api.get_string("domain_regional_zone_id"),
                evaluate_target_health=False,
            ),
        )
