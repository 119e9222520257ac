"""RDS-managed master secrets with real credentials, and a rotation that changes the password on the server too.

moto 5.2.5 writes ``{"username": "admin", "password": "P@55w0rd!"}`` into every RDS-managed secret whatever the
cluster's ``MasterUsername``, and its rotation (``ModifyDBCluster RotateMasterUserPassword``, or Secrets Manager's
``RotateSecret`` on the managed secret) leaves a new AWSCURRENT version without a value. RDS itself stores
``{"username": <MasterUsername>, "password": <random>}`` and, on rotation, sets a new password on the database and
in the secret. The ``rds`` extension installs both behaviours through the two hooks here.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from typing import Any

from moto.rds import models as rds_models
from moto.secretsmanager import models as sm_models

# Like RDS's generated passwords: letters, digits and punctuation, without the characters RDS never uses in a
# master password (/ @ " and space) and without ' and \ (kept out of the password so shell-quoted copies of it
# work, as RDS's console advice assumes).
PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#$%&()*+,-.:;<=>?[]^_{|}~"
PASSWORD_LENGTH = 28

# Set by the rds extension: called with (secret ARN, new password) before a rotation stores the password, sets it
# on the cluster's database if the secret has one; raises when the database refused it.
RotationHook = Callable[[str, str], None]

_generate_secret_string = rds_models.MasterUserSecret._generate_secret_string
_rotate_secret = sm_models.SecretsManagerBackend.rotate_secret


def new_password() -> str:
    # At least one digit, one letter and one punctuation mark, as RDS's own passwords have.
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password) and not password.isalnum():
            return password


def secret_value(username: str, password: str) -> str:
    return json.dumps({"username": username, "password": password})


def current_credentials(secret: Any) -> dict[str, str]:
    """The AWSCURRENT value of a moto ``FakeSecret`` as a dict."""
    version = secret.versions[secret.default_version_id]
    return dict(json.loads(version["secret_string"]))


def _realistic_secret_string(self: Any) -> str:
    return secret_value(self.resource.master_username, new_password())


def install(rotation: RotationHook) -> None:
    """Patch moto: realistic secret values, and rotations that go through ``rotation``."""

    def rotate_secret(
        self: Any,
        secret_id: str,
        client_request_token: str | None = None,
        rotation_lambda_arn: str | None = None,
        rotation_rules: dict[str, Any] | None = None,
        rotate_immediately: bool = True,
    ) -> str:
        secret = self.secrets.get(secret_id) if self._is_valid_identifier(secret_id) else None
        managed = (
            isinstance(secret, sm_models.FakeSecret)
            and secret.owning_service == "rds"
            and not (rotation_lambda_arn or secret.rotation_lambda_arn)
            and rotate_immediately
            and bool(secret.versions)
        )
        result = _rotate_secret(
            self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules, rotate_immediately
        )
        if not managed:
            return result
        assert isinstance(secret, sm_models.FakeSecret)  # what `managed` checked
        # moto made an empty version AWSCURRENT and the old one AWSPREVIOUS: give the new version its value.
        previous = next(v for v in secret.versions.values() if "AWSPREVIOUS" in v["version_stages"])
        old = json.loads(previous["secret_string"])
        password = new_password()
        assert secret.default_version_id is not None  # moto made the new version the default
        current = secret.versions[secret.default_version_id]
        try:
            rotation(secret.arn, password)
        except BaseException:
            current["secret_string"] = previous["secret_string"]  # the database kept the old password
            raise
        current["secret_string"] = secret_value(old["username"], password)
        secret.secret_string = current["secret_string"]
        return result

    rds_models.MasterUserSecret._generate_secret_string = _realistic_secret_string  # type: ignore[method-assign]
    sm_models.SecretsManagerBackend.rotate_secret = rotate_secret  # type: ignore[method-assign]


def uninstall() -> None:
    rds_models.MasterUserSecret._generate_secret_string = _generate_secret_string  # type: ignore[method-assign]
    sm_models.SecretsManagerBackend.rotate_secret = _rotate_secret  # type: ignore[method-assign]
