"""Numbers fixed by the customer. They never vary by workspace; tests assert them by value."""

from __future__ import annotations

REGION = "us-east-1"
PROJECT = "trading-platform"

LAMBDA_MEMORY_MB = 512
LAMBDA_TIMEOUT_S = 30
LAMBDA_RUNTIME = "python3.12"
# One execution at a time: migrations never run concurrently, and the function takes one unit of the account's
# concurrency budget instead of the workspace's figure.
MIGRATION_RESERVED_CONCURRENCY = 1

AURORA_INSTANCE_CLASS = "db.r5.large"
AURORA_READ_REPLICAS = 2

S3_EXPIRATION_DAYS = 90
LOG_RETENTION_DAYS = 30

# Aliases are unique per account and region, so the stack appends the environment suffix.
KMS_ALIAS_BASE = f"alias/trading-{REGION}"
