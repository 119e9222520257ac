"""The workspace's VPC, from tf_modules/vpc: public subnets with NAT gateways, private subnets for Aurora and Lambda."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from python_stacks.aws.modules import ModuleFace


class Vpc(ModuleFace):
    """``module.vpc``; inputs and outputs as in tf_modules/vpc/README.md."""

    SOURCE = "vpc"
    VARIABLES = frozenset(
        {"environment_suffix", "cidr", "azs", "public_subnets", "private_subnets", "single_nat_gateway", "kms_key_arn"}
    )
    OUTPUTS = frozenset({"vpc_id", "private_subnets", "public_subnets"})

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        cidr: str,
        azs: list[str],
        public_subnets: list[str],
        private_subnets: list[str],
        single_nat_gateway: bool,
        kms_key_arn: str,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            {
                "environment_suffix": environment_suffix,
                "cidr": cidr,
                "azs": azs,
                "public_subnets": public_subnets,
                "private_subnets": private_subnets,
                "single_nat_gateway": single_nat_gateway,
                "kms_key_arn": kms_key_arn,
            },
        )

    @property
    def vpc_id(self) -> str:
        return self._output("vpc_id")

    @property
    def private_subnets(self) -> Any:
        """The private subnet ids as one Terraform list value (module inputs, outputs)."""
        return self._output_any("private_subnets")

    @property
    def private_subnet_ids(self) -> list[str]:
        """The same ids as a list of strings, for resource attributes typed as such."""
        return self.module.get_list(self._checked("private_subnets"))

    @property
    def public_subnets(self) -> Any:
        return self._output_any("public_subnets")
