"""Resource names: ``{resource-type}-{environment-suffix}``, made in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

from python_stacks.errors import UserError

# Short enough for the tightest AWS limits we name (IAM roles 64, RDS identifiers 63, S3 buckets 63 with the
# account id), lower case so it is valid in S3 bucket and RDS identifiers.
SUFFIX_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,20}$")


class InvalidSuffixError(UserError, ValueError):
    """The environment suffix cannot appear in AWS resource names."""


@dataclass(frozen=True)
class Naming:
    environment_suffix: str

    def __post_init__(self) -> None:
        if not SUFFIX_PATTERN.match(self.environment_suffix) or self.environment_suffix.endswith("-"):
            raise InvalidSuffixError(
                f"invalid environment suffix {self.environment_suffix!r}: use 1-21 lower-case letters, digits "
                "or '-', starting with a letter or digit"
            )

    def name(self, resource_type: str) -> str:
        """``name("artifacts")`` -> ``artifacts-dev``."""
        return f"{resource_type}-{self.environment_suffix}"

    def log_group(self, service_path: str, resource_type: str) -> str:
        """CloudWatch log group under an AWS service prefix: ``/aws/lambda/trades-api-dev``."""
        return f"/aws/{service_path}/{self.name(resource_type)}"
