"""Credentials from Secrets Manager (moto ``mock_aws``): caching, refresh after rotation, broken secrets."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from handlers.config import Settings
from handlers.credentials import CredentialsUnavailable, SecretCredentials
from tests.handlers.lambda_support import REGION, invoke, rest_event, trade_body, trade_rows
from tests.support.mariadb import MariaDB

USER = "rotating_app"


class CountingSecrets:
    """A Secrets Manager client (on moto) that counts GetSecretValue calls."""

    def __init__(self) -> None:
        self.client = boto3.client("secretsmanager", region_name=REGION)
        self.fetches = 0
        self.client.meta.events.register("before-call.secrets-manager.GetSecretValue", self._count)

    def _count(self, **_: Any) -> None:
        self.fetches += 1

    def credentials(self, arn: str, max_age: int = 300) -> SecretCredentials:
        return SecretCredentials(arn, max_age=max_age, provider=SecretsProvider(boto3_client=self.client))


def _set_db_password(server: MariaDB, password: str) -> None:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        cursor.execute(f"ALTER USER '{USER}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1'")


def _kill_connections(server: MariaDB) -> int:
    """Kill the app user's sessions (what a server restart or an idle timeout does to a Lambda's connection)."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s", (USER,))
        ids = [row[0] for row in cursor.fetchall()]
        for session_id in ids:
            cursor.execute(f"KILL CONNECTION {int(session_id)}")
    return len(ids)


def _post(api: Any, client_order_id: str) -> Any:
    return invoke(api.handler, rest_event("POST", "/trades", json.dumps(trade_body(client_order_id))))


def test_rotation_is_picked_up_after_an_authentication_failure(
    aws: Any, api_module: Any, settings: Settings, mariadb_server: MariaDB, db: Any
) -> None:
    _set_db_password(mariadb_server, "pw-one")
    secret = aws.create_secret(
        Name="rds!rotation-test", SecretString=json.dumps({"username": USER, "password": "pw-one"})
    )
    secrets = CountingSecrets()
    rotating = Settings(**{**settings.__dict__, "secret_arn": secret["ARN"]})
    api = api_module.build(rotating, secrets.credentials(secret["ARN"]))

    assert _post(api, "rot-1").status == 201
    assert secrets.fetches == 1

    # Rotation: the database password changes, then the secret's AWSCURRENT version.
    _set_db_password(mariadb_server, "pw-two")
    aws.put_secret_value(SecretId=secret["ARN"], SecretString=json.dumps({"username": USER, "password": "pw-two"}))
    assert _post(api, "rot-2").status == 201  # the open connection is unaffected; the cache is not consulted
    assert secrets.fetches == 1

    assert _kill_connections(mariadb_server) == 1
    # Reconnect with the cached (old) password -> 1045 -> forced refresh -> new password -> success.
    assert _post(api, "rot-3").status == 201
    assert secrets.fetches == 2

    # Mid-rotation: the database already has the next password, the secret not yet.
    _set_db_password(mariadb_server, "pw-three")
    _kill_connections(mariadb_server)
    reply = _post(api, "rot-4")
    assert reply.status == 503 and reply.headers["retry-after"] == "2"
    assert secrets.fetches == 3  # it did try a fresh copy before giving up
    aws.put_secret_value(SecretId=secret["ARN"], SecretString=json.dumps({"username": USER, "password": "pw-three"}))
    assert _post(api, "rot-4").status == 201

    assert [row[0] for row in trade_rows(db)] == ["rot-1", "rot-2", "rot-3", "rot-4"]
    api.database.close()


def test_secret_is_cached_for_its_max_age(aws: Any) -> None:
    secret = aws.create_secret(
        Name="rds!ttl-test", SecretString=json.dumps({"username": "u", "password": "s3cr3t-value"})
    )
    secrets = CountingSecrets()
    credentials = secrets.credentials(secret["ARN"], max_age=1)
    for _ in range(5):
        assert credentials.get().username == "u"
    assert secrets.fetches == 1
    time.sleep(1.1)
    credentials.get()
    assert secrets.fetches == 2
    credentials.get(refresh=True)
    assert secrets.fetches == 3
    assert "s3cr3t-value" not in repr(credentials.get())


@pytest.mark.parametrize(
    "secret_string",
    [
        "not json s3cr3t-value",
        json.dumps(["u", "s3cr3t-value"]),
        json.dumps({"username": "u"}),
        json.dumps({"username": "", "password": "s3cr3t-value"}),
    ],
)
def test_unusable_secret_is_reported_without_its_value(aws: Any, secret_string: str) -> None:
    name = f"rds!bad-{abs(hash(secret_string))}"
    secret = aws.create_secret(Name=name, SecretString=secret_string)
    with pytest.raises(CredentialsUnavailable) as caught:
        CountingSecrets().credentials(secret["ARN"]).get()
    assert "s3cr3t-value" not in str(caught.value)


def test_missing_secret_gives_503(aws: Any, api_module: Any, settings: Settings) -> None:
    missing = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:rds!does-not-exist-AbCdEf"
    api = api_module.build(Settings(**{**settings.__dict__, "secret_arn": missing}))
    reply = invoke(api.handler, rest_event("GET", "/health"))
    assert reply.status == 503
    assert reply.body["error"] == "service_unavailable"
