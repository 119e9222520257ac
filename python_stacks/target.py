"""Local emulator vs. real AWS: the only place where the two targets differ.

``TARGET=local`` (the default) points the AWS provider at the moto server on loopback with test credentials;
``TARGET=aws`` uses the caller's real credentials and AWS endpoints. Each emulator concession is a named flag here
and is explained in docs/decisions/0004-local-emulator-target.md; the stack reads the flags, never the target name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from python_stacks import UserError

DEFAULT_LOCAL_ENDPOINT = "http://127.0.0.1:4566"
# The emulator accepts any credentials; these are the ones every local client presents.
TEST_ACCESS_KEY = TEST_SECRET_KEY = "test"

# Every AWS API the stack (and its modules) calls; the local target routes each one to the emulator.
AWS_SERVICES = (
    "acm",
    "apigateway",
    "cloudwatch",
    "cloudwatchlogs",
    "ec2",
    "iam",
    "kms",
    "lambda",
    "rds",
    "route53",
    "s3",
    "secretsmanager",
    "sns",
    "sts",
)
# What the S3 state backend calls: the bucket, the optional DynamoDB lock table, and STS/IAM for credentials.
S3_BACKEND_SERVICES = ("s3", "dynamodb", "sts", "iam")


class InvalidTargetError(UserError, ValueError):
    """TARGET or the local endpoint is not usable."""


@dataclass(frozen=True)
class EmulatorConcessions:
    """Differences the local emulator forces on the stack. All False on real AWS."""

    # moto's bucket-policy engine evaluates only StringEquals, so the deny-non-TLS statement denies every request.
    omit_tls_only_bucket_policy: bool = False


@dataclass(frozen=True)
class Target:
    name: str
    endpoint: str | None = None
    concessions: EmulatorConcessions = field(default_factory=EmulatorConcessions)

    @property
    def is_local(self) -> bool:
        return self.endpoint is not None

    def provider_settings(self) -> dict[str, Any]:
        """Extra AwsProvider keyword arguments for this target."""
        if not self.is_local:
            return {}
        return {
            "access_key": TEST_ACCESS_KEY,
            "secret_key": TEST_SECRET_KEY,
            "skip_credentials_validation": True,
            "skip_requesting_account_id": False,
            "skip_metadata_api_check": "true",
            "skip_region_validation": True,
            "s3_use_path_style": True,
            "endpoints": [{service: self.endpoint for service in AWS_SERVICES}],
        }

    def s3_backend_settings(self) -> dict[str, Any]:
        """Extra S3Backend keyword arguments for this target (the `endpoints` form needs Terraform >= 1.6)."""
        if not self.is_local:
            return {}
        return {
            "access_key": TEST_ACCESS_KEY,
            "secret_key": TEST_SECRET_KEY,
            # The backend needs no account id and no credential check against the emulator.
            "skip_credentials_validation": True,
            "skip_requesting_account_id": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
            "use_path_style": True,
            "endpoints": {service: self.endpoint for service in S3_BACKEND_SERVICES},
        }


def target_for(name: str | None, local_endpoint: str | None = None) -> Target:
    name = (name or "local").strip()
    if name == "aws":
        return Target(name="aws")
    if name == "local":
        endpoint = local_endpoint or DEFAULT_LOCAL_ENDPOINT
        parsed = urlparse(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InvalidTargetError(f"invalid LOCAL_AWS_ENDPOINT {endpoint!r}: expected http://HOST:PORT")
        return Target(
            name="local",
            endpoint=endpoint.rstrip("/"),
            concessions=EmulatorConcessions(omit_tls_only_bucket_policy=True),
        )
    raise InvalidTargetError(f"unknown TARGET {name!r}: valid targets are local, aws")
