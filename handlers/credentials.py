"""Database credentials: the API reads its secret through the AWS Parameters and Secrets Lambda Extension.

The extension is a separate process in the execution environment with a local HTTP endpoint and its own cache
(``SECRETS_MANAGER_TTL``, at most 300 s): the API needs no AWS SDK at all, so boto3/botocore (about 470 ms of CPU
to import, build a client and sign the first request) stay off its cold path. The protocol (docs/decisions/0008):

    GET http://localhost:$PARAMETERS_SECRETS_EXTENSION_HTTP_PORT/secretsmanager/get?secretId=<url-encoded ARN>
    X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN
    200 -> the GetSecretValue response as JSON (``SecretString`` holds ``{"username", "password"}``)

There is no cache here on purpose: the extension is the cache, and the secret is only read to open a connection.
The migration, which also writes a secret, uses boto3 instead (``handlers.migration``).
"""

from __future__ import annotations

import http.client
import json
import os
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from handlers.deadline import Deadline, call_timeout

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
EXTENSION_HOST = "localhost"


class CredentialsUnavailable(RuntimeError):
    """The secret could not be read or does not hold a username and password (the message never holds a value)."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return f"Credentials(username={self.username!r}, password=***)"


class CredentialSource(Protocol):
    def get(self, deadline: Deadline | None = None) -> Credentials:
        """Current credentials; may raise ``CredentialsUnavailable`` or ``DeadlineExceeded``."""
        ...


def credentials_from_secret(secret_string: object) -> Credentials:
    """Credentials from a secret's ``SecretString`` (JSON with string ``username`` and ``password``)."""
    if not isinstance(secret_string, str):
        raise CredentialsUnavailable("the database secret has no SecretString")
    try:
        value: Any = json.loads(secret_string)
    except ValueError:
        raise CredentialsUnavailable("the database secret is not JSON") from None
    if not isinstance(value, dict):
        raise CredentialsUnavailable("the database secret is not a JSON object")
    username, password = value.get("username"), value.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise CredentialsUnavailable("the database secret has no string `username` and `password`")
    return Credentials(username=username, password=password)


class ExtensionSecret:
    """One secret read through the Parameters and Secrets Lambda Extension's HTTP API."""

    def __init__(self, secret_arn: str, port: int, timeout_seconds: float) -> None:
        self._path = f"/secretsmanager/get?secretId={quote(secret_arn, safe='')}"
        self._port = port
        self._timeout = timeout_seconds

    def get(self, deadline: Deadline | None = None) -> Credentials:
        # The token is the execution environment's session token: it proves the caller runs inside it.
        headers = {TOKEN_HEADER: os.environ.get("AWS_SESSION_TOKEN", "")}
        timeout = call_timeout(deadline, self._timeout)
        connection = http.client.HTTPConnection(EXTENSION_HOST, self._port, timeout=timeout)
        try:
            connection.request("GET", self._path, headers=headers)
            response = connection.getresponse()
            status, body = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise CredentialsUnavailable(f"cannot reach the secrets extension on port {self._port}: {exc}") from None
        finally:
            connection.close()
        if status != 200:
            # Error bodies are AWS error documents or short texts ("Bad Token"): no secret value in them.
            reason = body[:300].decode("utf-8", "replace")
            raise CredentialsUnavailable(f"the secrets extension answered {status}: {reason}")
        try:
            document = json.loads(body)
        except ValueError:
            raise CredentialsUnavailable("the secrets extension answered with something that is not JSON") from None
        return credentials_from_secret(document.get("SecretString") if isinstance(document, dict) else None)
