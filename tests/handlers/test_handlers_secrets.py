"""The API's credentials come through the secrets extension: its cache, its token, and every way it can fail."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from handlers.config import Settings
from handlers.credentials import CredentialsUnavailable, ExtensionSecret
from local_cloud import secrets_extension
from tests.handlers.lambda_support import REGION, SESSION_TOKEN, assert_error_contract, invoke, rest_event, trade_body
from tests.support.mariadb import MariaDB, free_port

USER = "rotating_app"


class CountingExtension:
    """A private extension whose Secrets Manager client counts GetSecretValue calls."""

    def __init__(self, ttl: float) -> None:
        self.fetches = 0
        self.server = secrets_extension.start(port=0, client_factory=self._client, token=SESSION_TOKEN, ttl=ttl)

    def _client(self) -> Any:
        client = boto3.client("secretsmanager", region_name=REGION)
        client.meta.events.register("before-call.secrets-manager.GetSecretValue", self._count)
        return client

    def _count(self, **_: Any) -> None:
        self.fetches += 1


@pytest.fixture
def counting(aws: Any, request: pytest.FixtureRequest) -> Iterator[CountingExtension]:
    extension = CountingExtension(ttl=getattr(request, "param", 300))
    try:
        yield extension
    finally:
        extension.server.stop()


def _with(settings: Settings, **changes: Any) -> Settings:
    return Settings(**{**settings.__dict__, **changes})


def _set_db_password(server: MariaDB, password: str) -> None:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (USER, password))
        cursor.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (USER, password))
        cursor.execute(f"GRANT SELECT, INSERT ON trading_test.trades TO '{USER}'@'%'")


def _post(api: Any, client_order_id: str) -> Any:
    return invoke(api.handler, rest_event("POST", "/trades", json.dumps(trade_body(client_order_id))))


def test_the_extension_serves_the_secret_from_its_cache(
    api_module: Any, settings: Settings, counting: CountingExtension, db: Any
) -> None:
    apis = [api_module.build(_with(settings, extension_port=counting.server.port)) for _ in range(3)]
    for number, api in enumerate(apis):  # three execution environments, each opening its connection
        assert _post(api, f"cache-{number}").status == 201
        api.database.close()
    assert counting.fetches == 1


@pytest.mark.parametrize("counting", [1], indirect=True)
def test_a_password_change_is_picked_up_once_the_extension_cache_expires(
    aws: Any, api_module: Any, settings: Settings, mariadb_server: MariaDB, counting: CountingExtension, db: Any
) -> None:
    _set_db_password(mariadb_server, "pw-one")
    secret = aws.create_secret(Name="rotating-test", SecretString=json.dumps({"username": USER, "password": "pw-one"}))
    rotating = _with(settings, secret_arn=secret["ARN"], extension_port=counting.server.port)
    api = api_module.build(rotating)
    assert _post(api, "rot-1").status == 201

    _set_db_password(mariadb_server, "pw-two")
    aws.put_secret_value(SecretId=secret["ARN"], SecretString=json.dumps({"username": USER, "password": "pw-two"}))
    assert _post(api, "rot-2").status == 201  # the open connection is unaffected
    api.database.close()  # the next request must log in again
    reply = _post(api, "rot-3")  # the extension still serves the cached old password
    assert reply.status == 503 and reply.headers["retry-after"] == "2"
    time.sleep(1.1)  # the extension's TTL (1 s here, 300 s by default)
    assert _post(api, "rot-3").status == 201
    assert counting.fetches == 2
    api.database.close()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"secret_arn": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:does-not-exist-AbCdEf"}, "answered 4"),
        ({"extension_port": free_port()}, "cannot reach the secrets extension"),
    ],
)
def test_no_secret_means_503(
    api_module: Any, settings: Settings, caplog: pytest.LogCaptureFixture, change: dict[str, Any], reason: str
) -> None:
    api = api_module.build(_with(settings, **change))
    for method, path, body in (("GET", "/health", None), ("POST", "/trades", json.dumps(trade_body("no-secret")))):
        reply = invoke(api.handler, rest_event(method, path, body))
        assert reply.status == 503
        assert_error_contract(reply)
    assert any(reason in str(getattr(record, "reason", "")) for record in caplog.records), caplog.records


def test_a_wrong_session_token_is_refused_by_the_extension(
    api_module: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "another-environment")
    api = api_module.build(settings)
    assert invoke(api.handler, rest_event("GET", "/health")).status == 503
    assert any("answered 403: Bad Token" in str(getattr(record, "reason", "")) for record in caplog.records)


@pytest.mark.parametrize(
    "secret_string",
    [
        "not json s3cr3t-value",
        json.dumps(["u", "s3cr3t-value"]),
        json.dumps({"username": "u"}),
        json.dumps({"username": "", "password": "s3cr3t-value"}),
        json.dumps({"username": "u", "password": 12345}),
    ],
)
def test_unusable_secret_is_reported_without_its_value(
    aws: Any, extension: secrets_extension.SecretsExtension, secret_string: str
) -> None:
    name = f"bad-{abs(hash(secret_string))}"
    secret = aws.create_secret(Name=name, SecretString=secret_string)
    with pytest.raises(CredentialsUnavailable) as caught:
        ExtensionSecret(secret["ARN"], extension.port, 2).get()
    assert "s3cr3t-value" not in str(caught.value) and "12345" not in str(caught.value)


def test_credentials_never_show_the_password(aws: Any, extension: secrets_extension.SecretsExtension) -> None:
    secret = aws.create_secret(Name="repr-test", SecretString=json.dumps({"username": "u", "password": "s3cr3t"}))
    credentials = ExtensionSecret(secret["ARN"], extension.port, 2).get()
    assert credentials.password == "s3cr3t"
    assert "s3cr3t" not in repr(credentials)
