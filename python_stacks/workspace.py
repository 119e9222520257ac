"""The workspace: which deployments exist (dev, staging, prod), how each differs, and how its resources and stacks
are named. Importable without cdktf: the tooling reads it before (and without) synthesis.

- ``WORKSPACES`` / ``settings_for``: the only place where dev, staging and prod differ (``OPERATIONS``: their alarm
  thresholds and alert subscribers). What is the same everywhere lives in ``constants``; what depends on the local
  emulator vs. real AWS lives in ``target``.
- ``Naming``: resource names ``{resource-type}-{environment-suffix}``, and ``SUFFIX_RULE``, the one definition of a
  valid environment suffix (every tf_modules/*/variables.tf validates the same; tests/contract holds them together).
- Stack names: ``data_protection_stack_id`` / ``trading_stack_id`` / ``ACCOUNT_STACK_ID``, and the apply order.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from python_stacks import UserError
from python_stacks.constants import REGION

if TYPE_CHECKING:
    from python_stacks.config import StackConfig

# --- errors ---------------------------------------------------------------------------------------------------------


class UnknownWorkspaceError(UserError, ValueError):
    """The Terraform workspace is not one this project knows."""


class InvalidOperationsSettingError(UserError, ValueError):
    """An alarm threshold or an alert subscription in OPERATIONS cannot work."""


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

    # Reserved for the API function only (the migration function reserves MIGRATION_RESERVED_CONCURRENCY): AWS keeps
    # at least 100 executions of the account unreserved, so every reservation comes out of a shared budget
    # (docs/decisions/0006-compute-and-api.md; `make preflight` checks the account).
    api_reserved_concurrency: int
    api_throttle_rate_limit: float
    api_throttle_burst_limit: int
    # Environments of the API's live alias kept initialized ahead of traffic, so no request waits for INIT; 0 means
    # on demand (docs/decisions/0012-provisioned-concurrency-not-snapstart.md).
    api_provisioned_concurrency: int = 0

    def __post_init__(self) -> None:
        # Lambda takes provisioned concurrency out of the function's reserved concurrency.
        if not 0 <= self.api_provisioned_concurrency <= self.api_reserved_concurrency:
            raise ValueError(
                f"api_provisioned_concurrency {self.api_provisioned_concurrency} must be between 0 and "
                f"api_reserved_concurrency {self.api_reserved_concurrency}"
            )


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

    @property
    def operations(self) -> OperationsSettings:
        """Alarm thresholds and alert subscribers (``OPERATIONS``, kept in a table of their own)."""
        return OPERATIONS[self.workspace]


WORKSPACES: dict[str, WorkspaceSettings] = {
    "dev": WorkspaceSettings(
        workspace="dev",
        network=NetworkSettings(vpc_cidr="10.10.0.0/16", azs=("us-east-1a", "us-east-1b"), single_nat_gateway=True),
        database=DatabaseSettings(skip_final_snapshot=True, backup_retention_days=1, keep_data_on_destroy=False),
        compute=ComputeSettings(api_reserved_concurrency=10, api_throttle_rate_limit=50, api_throttle_burst_limit=100),
        kms_deletion_window_days=7,
        api_host_label="api.dev",
    ),
    "staging": WorkspaceSettings(
        workspace="staging",
        network=NetworkSettings(vpc_cidr="10.20.0.0/16", azs=("us-east-1a", "us-east-1b"), single_nat_gateway=True),
        database=DatabaseSettings(skip_final_snapshot=True, backup_retention_days=7, keep_data_on_destroy=False),
        compute=ComputeSettings(api_reserved_concurrency=20, api_throttle_rate_limit=200, api_throttle_burst_limit=400),
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
            api_reserved_concurrency=100,
            api_throttle_rate_limit=1000,
            api_throttle_burst_limit=2000,
            api_provisioned_concurrency=10,
        ),
        # A longer window leaves time to cancel an accidental deletion of the key that encrypts prod snapshots.
        kms_deletion_window_days=30,
        api_host_label="api",
    ),
}


# --- operations: alarm thresholds and alert subscribers (docs/operations.md) ----------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}$")
ALERT_PROTOCOLS = ("email", "https")


@dataclass(frozen=True)
class AlertSubscription:
    """A subscriber of the workspace's alert topic: an e-mail address or an HTTPS endpoint (chat, paging service).

    ``paging_only`` subscribers receive only the composite "trading degraded" alarm (an SNS filter on the message
    body's AlarmName); the others receive every alarm. HTTPS endpoints must confirm the subscription themselves.
    """

    protocol: str
    endpoint: str
    paging_only: bool = False

    def __post_init__(self) -> None:
        if self.protocol not in ALERT_PROTOCOLS:
            raise InvalidOperationsSettingError(
                f"invalid alert subscription protocol {self.protocol!r}: use one of {', '.join(ALERT_PROTOCOLS)}"
            )
        if self.protocol == "email" and not _EMAIL.match(self.endpoint):
            raise InvalidOperationsSettingError(
                f"invalid alert e-mail address {self.endpoint!r}: expected name@example.com"
            )
        if self.protocol == "https":
            url = urlparse(self.endpoint)
            if url.scheme != "https" or not url.hostname:
                raise InvalidOperationsSettingError(
                    f"invalid alert endpoint {self.endpoint!r}: expected an https:// URL with a host name"
                )


@dataclass(frozen=True)
class OperationsSettings:
    """What the workspace's alarms compare against. Every alarm fires when ``datapoints_to_alarm`` of the last
    ``evaluation_periods`` periods of ``period_s`` breach; docs/decisions/0014-operations.md explains the figures."""

    # API Gateway stage metrics: 5XXError/4XXError averages are the share of requests answered so.
    api_5xx_rate: float
    api_4xx_rate: float
    # p99 of Latency (request in to response out, ms) on each trade route.
    api_latency_p99_ms: int
    # Lambda, every function: unhandled errors (Sum per period) above this.
    lambda_errors_per_period: int
    # Aurora, on the WRITER/READER role metrics (tf_modules/aurora alarms.tf).
    aurora_writer_cpu_percent: int
    aurora_connections_percent_of_max: int
    aurora_replica_lag_ms: int
    # The same in every workspace today: how close to a hard limit (timeout, reserved concurrency, the instance
    # class's memory and local storage) is too close does not depend on the workspace.
    # Lambda p99 Duration above this share of the function's timeout.
    lambda_duration_p99_of_timeout: float = 0.8
    # Lambda ConcurrentExecutions at or above this share of the function's reserved concurrency.
    lambda_concurrency_of_reserved: float = 0.8
    aurora_freeable_memory_mib: int = 1024
    aurora_free_local_storage_mib: int = 3072
    # Throttles are never normal: any throttled invocation (Sum per period) above this fires.
    lambda_throttles_per_period: int = 0
    period_s: int = 60
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 3
    # Nobody is subscribed by default; add team addresses or paging endpoints here (docs/operations.md).
    subscriptions: tuple[AlertSubscription, ...] = ()

    def __post_init__(self) -> None:
        shares = {
            "api_5xx_rate": self.api_5xx_rate,
            "api_4xx_rate": self.api_4xx_rate,
            "lambda_duration_p99_of_timeout": self.lambda_duration_p99_of_timeout,
            "lambda_concurrency_of_reserved": self.lambda_concurrency_of_reserved,
        }
        for name, value in shares.items():
            if not 0 < value < 1:
                raise InvalidOperationsSettingError(f"invalid {name} {value!r}: expected a share between 0 and 1")
        percents = {
            "aurora_writer_cpu_percent": self.aurora_writer_cpu_percent,
            "aurora_connections_percent_of_max": self.aurora_connections_percent_of_max,
        }
        for name, value in percents.items():
            if not 0 < value <= 100:
                raise InvalidOperationsSettingError(f"invalid {name} {value!r}: expected a percentage from 1 to 100")
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise InvalidOperationsSettingError(
                f"invalid datapoints_to_alarm {self.datapoints_to_alarm!r}: expected 1 to evaluation_periods "
                f"({self.evaluation_periods})"
            )


OPERATIONS: dict[str, OperationsSettings] = {
    # dev takes experiments and cold starts: alarms mean "look when you can", not "something broke".
    "dev": OperationsSettings(
        api_5xx_rate=0.05,
        api_4xx_rate=0.25,
        api_latency_p99_ms=3000,
        lambda_errors_per_period=5,
        aurora_writer_cpu_percent=90,
        aurora_connections_percent_of_max=80,
        aurora_replica_lag_ms=2000,
    ),
    "staging": OperationsSettings(
        api_5xx_rate=0.02,
        api_4xx_rate=0.15,
        api_latency_p99_ms=2000,
        lambda_errors_per_period=2,
        aurora_writer_cpu_percent=80,
        aurora_connections_percent_of_max=80,
        aurora_replica_lag_ms=1000,
    ),
    # prod: one failed trade in a hundred, or a second at p99, is already a desk-visible problem.
    "prod": OperationsSettings(
        api_5xx_rate=0.01,
        api_4xx_rate=0.10,
        api_latency_p99_ms=1000,
        lambda_errors_per_period=1,
        aurora_writer_cpu_percent=75,
        aurora_connections_percent_of_max=75,
        aurora_replica_lag_ms=500,
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


# --- naming ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuffixRule:
    """What an environment suffix may be: lower-case words of letters and digits joined by single hyphens, short
    enough for the tightest AWS limits we name (IAM roles 64, RDS identifiers 63, S3 buckets 63 with the account
    id; tf_modules/aurora's README: 21). Every module's ``environment_suffix`` validation states the same regex and
    length (tests/contract/test_shared_rules.py)."""

    pattern: str
    max_length: int

    def accepts(self, suffix: str) -> bool:
        return len(suffix) <= self.max_length and re.fullmatch(self.pattern, suffix) is not None


SUFFIX_RULE = SuffixRule(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=21)


class InvalidSuffixError(UserError, ValueError):
    """The environment suffix cannot appear in AWS resource names."""


@dataclass(frozen=True)
class Naming:
    environment_suffix: str

    def __post_init__(self) -> None:
        if not SUFFIX_RULE.accepts(self.environment_suffix):
            raise InvalidSuffixError(
                f"invalid environment suffix {self.environment_suffix!r}: use 1-{SUFFIX_RULE.max_length} lower-case "
                "letters or digits, words joined by single '-'"
            )

    def name(self, resource_type: str) -> str:
        """``name("artifacts")`` -> ``artifacts-dev``."""
        return f"{resource_type}-{self.environment_suffix}"

    def log_group(self, service_path: str, resource_type: str) -> str:
        """CloudWatch log group under an AWS service prefix: ``/aws/lambda/trades-api-dev``."""
        return f"/aws/{service_path}/{self.name(resource_type)}"


def final_snapshot_prefix(naming: Naming) -> str:
    """What every final snapshot of the workspace's cluster is named with: tf_modules/aurora names it
    ``aurora-final-<suffix>-<YYYYMMDDhhmmss>`` (tests/contract/test_shared_rules.py holds the two together)."""
    return f"aurora-final-{naming.environment_suffix}-"


# --- stack names ----------------------------------------------------------------------------------------------------

# Account-wide settings, shared by every workspace, run in Terraform's default workspace.
ACCOUNT_STACK_ID = "account-settings"
ACCOUNT_WORKSPACE = "default"


def data_protection_stack_name(naming: Naming) -> str:
    return naming.name("data-protection")


def trading_stack_name(naming: Naming) -> str:
    return naming.name("trading")


def data_protection_stack_id(config: StackConfig) -> str:
    return data_protection_stack_name(config.naming)


def trading_stack_id(config: StackConfig) -> str:
    return trading_stack_name(config.naming)


def workspace_stack_ids(config: StackConfig) -> tuple[str, str]:
    """The stacks of one workspace, in apply order."""
    return data_protection_stack_id(config), trading_stack_id(config)
