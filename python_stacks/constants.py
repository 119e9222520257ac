"""Numbers fixed by the customer. They never vary by workspace; tests assert them by value."""

from __future__ import annotations

REGION = "us-east-1"
PROJECT = "trading-platform"

LAMBDA_MEMORY_MB = 512
LAMBDA_TIMEOUT_S = 30
LAMBDA_RUNTIME = "python3.12"
# AWS Parameters and Secrets Lambda Extension, us-east-1, x86_64 (the functions' architecture): the layer the API
# function reads its database secret through (CONTRACTS contract 2). From the ARN table "AWS Parameters and Secrets
# Lambda Extension ARNs" in AWS's Secrets Manager user guide, x86_64 table last updated 2026-01-09 (version 24).
# Move to a newer version deliberately: it is code that runs inside the function.
PARAMETERS_AND_SECRETS_EXTENSION_LAYER_ARN = (
    "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:24"
)
# The extension's own settings (its documented defaults, written out): its local port, and how long it caches a
# secret (seconds), matching the handlers' DB_SECRET_MAX_AGE_SECONDS default.
PARAMETERS_AND_SECRETS_EXTENSION_PORT = 2773
SECRETS_MANAGER_TTL_SECONDS = 300
# One execution at a time: migrations never run concurrently, and the function takes one unit of the account's
# concurrency budget instead of the workspace's figure.
MIGRATION_RESERVED_CONCURRENCY = 1

AURORA_INSTANCE_CLASS = "db.r5.large"
AURORA_READ_REPLICAS = 2

S3_EXPIRATION_DAYS = 90
LOG_RETENTION_DAYS = 30

# Aliases are unique per account and region, so the stack appends the environment suffix.
KMS_ALIAS_BASE = f"alias/trading-{REGION}"
