"""Per-workspace settings: the only place where dev, staging and prod differ.

Everything that is the same in every workspace lives in ``constants``; everything that depends on local emulator vs.
real AWS lives in ``target``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from python_stacks.constants import REGION
from python_stacks.errors import UserError


class UnknownWorkspaceError(UserError, ValueError):
    """The Terraform workspace is not one this project knows."""


@dataclass(frozen=True)
class NetworkSettings:
    """The workspace's address plan in us-east-1; subnets are carved from ``vpc_cidr`` in AZ order."""

    vpc_cidr: str
    azs: tuple[str, ...]
    single_nat_gateway: bool

    def _subnets(self, offset: int) -> tuple[str, ...]:
        # /20 blocks: public subnets take 0..n-1, private subnets 8..8+n-1, leaving room to add AZs.
        blocks = list(ipaddress.ip_network(self.vpc_cidr).subnets(new_prefix=20))
        return tuple(str(blocks[offset + i]) for i in range(len(self.azs)))

    @property
    def public_subnets(self) -> tuple[str, ...]:
        return self._subnets(0)

    @property
    def private_subnets(self) -> tuple[str, ...]:
        return self._subnets(8)


@dataclass(frozen=True)
class DatabaseSettings:
    """How the Aurora cluster is protected; see docs/decisions/0003-prod-data-survives-destroy.md."""

    skip_final_snapshot: bool
    backup_retention_days: int
    # prod keeps the data-protection stack (KMS key, final snapshots) when the application stack is destroyed.
    keep_data_on_destroy: bool


@dataclass(frozen=True)
class ComputeSettings:
    """Guards that keep Lambda concurrency, and so database connections, within what the cluster accepts."""

    reserved_concurrency: int
    api_throttle_rate_limit: float
    api_throttle_burst_limit: int


@dataclass(frozen=True)
class WorkspaceSettings:
    workspace: str
    network: NetworkSettings
    database: DatabaseSettings
    compute: ComputeSettings
    kms_deletion_window_days: int
    # Host name label under the platform domain: "api.dev" -> api.dev.<domain>; prod serves at api.<domain>.
    api_host_label: str

    @property
    def region(self) -> str:
        return REGION


WORKSPACES: dict[str, WorkspaceSettings] = {
    "dev": WorkspaceSettings(
        workspace="dev",
        network=NetworkSettings(
            vpc_cidr="10.10.0.0/16", azs=("us-east-1a", "us-east-1b"), single_nat_gateway=True
        ),
        database=DatabaseSettings(skip_final_snapshot=True, backup_retention_days=1, keep_data_on_destroy=False),
        compute=ComputeSettings(reserved_concurrency=10, api_throttle_rate_limit=50, api_throttle_burst_limit=100),
        kms_deletion_window_days=7,
        api_host_label="api.dev",
    ),
    "staging": WorkspaceSettings(
        workspace="staging",
        network=NetworkSettings(
            vpc_cidr="10.20.0.0/16", azs=("us-east-1a", "us-east-1b"), single_nat_gateway=True
        ),
        database=DatabaseSettings(skip_final_snapshot=True, backup_retention_days=7, keep_data_on_destroy=False),
        compute=ComputeSettings(reserved_concurrency=20, api_throttle_rate_limit=200, api_throttle_burst_limit=400),
        kms_deletion_window_days=7,
        api_host_label="api.staging",
    ),
    "prod": WorkspaceSettings(
        workspace="prod",
        network=NetworkSettings(
            vpc_cidr="10.30.0.0/16",
            azs=("us-east-1a", "us-east-1b", "us-east-1c"),
            single_nat_gateway=False,
        ),
        database=DatabaseSettings(skip_final_snapshot=False, backup_retention_days=14, keep_data_on_destroy=True),
        compute=ComputeSettings(
            reserved_concurrency=100, api_throttle_rate_limit=1000, api_throttle_burst_limit=2000
        ),
        # A longer window leaves time to cancel an accidental deletion of the key that encrypts prod snapshots.
        kms_deletion_window_days=30,
        api_host_label="api",
    ),
}


def settings_for(workspace: str | None) -> WorkspaceSettings:
    """The settings of ``workspace``, or a one-line error naming the valid workspaces."""
    valid = ", ".join(WORKSPACES)
    if not workspace:
        raise UnknownWorkspaceError(f"no workspace selected: set TF_WORKSPACE to one of: {valid}")
    try:
        return WORKSPACES[workspace]
    except KeyError:
        raise UnknownWorkspaceError(f"unknown workspace {workspace!r}: valid workspaces are {valid}") from None
