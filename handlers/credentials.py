"""Database credentials from the RDS-managed secret in Secrets Manager, cached per execution environment.

Powertools' ``SecretsProvider`` does the fetching, JSON decoding and TTL caching; this module only adds the
shape check and the forced refresh the database layer asks for after an authentication failure (the secret
was rotated since it was cached).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError


class CredentialsUnavailable(RuntimeError):
    """The secret could not be read or does not hold a username and password."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return f"Credentials(username={self.username!r}, password=***)"


class SecretCredentials:
    """Reads ``{"username": ..., "password": ...}`` from one secret, cached for ``max_age`` seconds."""

    def __init__(self, secret_arn: str, max_age: int, provider: SecretsProvider | None = None) -> None:
        self._secret_arn = secret_arn
        self._max_age = max_age
        # The boto3 client is created once per execution environment (INIT phase), not per request.
        self._provider = provider if provider is not None else SecretsProvider()

    def get(self, refresh: bool = False) -> Credentials:
        """Cached credentials; ``refresh=True`` bypasses the cache (after a rotation)."""
        try:
            value: Any = self._provider.get(
                self._secret_arn, max_age=self._max_age, transform="json", force_fetch=refresh
            )
        except (GetParameterError, TransformParameterError) as exc:
            # The message names the secret and the AWS error code, never the secret's value.
            raise CredentialsUnavailable(f"cannot read the database secret: {exc}") from exc
        if not isinstance(value, dict):
            raise CredentialsUnavailable("the database secret is not a JSON object")
        username, password = value.get("username"), value.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username:
            raise CredentialsUnavailable("the database secret has no string `username` and `password`")
        return Credentials(username=username, password=password)
