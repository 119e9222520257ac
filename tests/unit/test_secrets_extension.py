"""local_cloud/secrets_extension.py: the Parameters and Secrets Lambda Extension's HTTP API over moto."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.config import Config

from local_cloud import secrets_extension
from local_cloud.secrets_extension import ExtensionSettings, settings_from_env
from tests.support.moto import fresh_aws

REGION = "us-east-1"
TOKEN = "session-token-1"


@pytest.fixture
def tag() -> str:
    """Unique secret names per test: another test package may keep moto's state alive in the same process."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in (
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with fresh_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


class Counting:
    """A client factory whose clients count GetSecretValue calls (and how often the factory ran)."""

    def __init__(self, **client_options: Any) -> None:
        self.fetches = 0
        self.clients = 0
        self._options = client_options

    def __call__(self) -> Any:
        self.clients += 1
        client = boto3.client("secretsmanager", region_name=REGION, **self._options)
        client.meta.events.register("before-call.secrets-manager.GetSecretValue", self._count)
        return client

    def _count(self, **_: Any) -> None:
        self.fetches += 1


@pytest.fixture
def serve(aws: Any) -> Iterator[Any]:
    started: list[secrets_extension.SecretsExtension] = []

    def _serve(
        ttl: float = 300, factory: Any = None, **options: Any
    ) -> tuple[secrets_extension.SecretsExtension, Counting]:
        counting = factory or Counting()
        extension = secrets_extension.start(port=0, client_factory=counting, token=TOKEN, ttl=ttl, **options)
        started.append(extension)
        return extension, counting

    yield _serve
    for extension in started:
        extension.stop()


def get(
    extension: secrets_extension.SecretsExtension,
    target: str,
    token: str | None = TOKEN,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", extension.port, timeout=10)
    try:
        sent = dict(headers or {})
        if token is not None:
            sent["X-Aws-Parameters-Secrets-Token"] = token
        connection.request(method, target, headers=sent)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def secret_path(secret_id: str, **extra: str) -> str:
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in {"secretId": secret_id, **extra}.items())
    return f"/secretsmanager/get?{query}"


def test_returns_the_get_secret_value_document(tag: str, aws: Any, serve: Any) -> None:
    created = aws.create_secret(Name=f"app/db-{tag}", SecretString='{"username": "u", "password": "p"}')
    extension, _ = serve()
    for secret_id in (f"app/db-{tag}", created["ARN"]):
        status, body = get(extension, secret_path(secret_id))
        assert status == 200
        document = json.loads(body)
        assert document["SecretString"] == '{"username": "u", "password": "p"}'
        assert (document["ARN"], document["Name"]) == (created["ARN"], f"app/db-{tag}")
        assert document["VersionStages"] == ["AWSCURRENT"] and document["VersionId"]
        assert isinstance(document["CreatedDate"], float)
        assert "ResponseMetadata" not in document


def test_versions_by_stage_and_id(tag: str, aws: Any, serve: Any) -> None:
    aws.create_secret(Name=f"versioned-{tag}", SecretString="one")
    second = aws.put_secret_value(SecretId=f"versioned-{tag}", SecretString="two")
    extension, _ = serve(ttl=0)
    previous = json.loads(get(extension, secret_path(f"versioned-{tag}", versionStage="AWSPREVIOUS"))[1])
    assert previous["SecretString"] == "one"
    by_id = json.loads(get(extension, secret_path(f"versioned-{tag}", versionId=second["VersionId"]))[1])
    assert by_id["SecretString"] == "two"


def test_binary_secrets_are_base64(tag: str, aws: Any, serve: Any) -> None:
    aws.create_secret(Name=f"binary-{tag}", SecretBinary=b"\x00\xffkey")
    extension, _ = serve()
    document = json.loads(get(extension, secret_path(f"binary-{tag}"))[1])
    assert base64.b64decode(document["SecretBinary"]) == b"\x00\xffkey" and "SecretString" not in document


@pytest.mark.parametrize(
    ("token", "headers", "status", "text"),
    [
        (None, {}, 403, b"Bad Token"),
        ("another-token", {}, 403, b"Bad Token"),
        ("", {}, 403, b"Bad Token"),
        (TOKEN, {"X-Forwarded-For": "203.0.113.9"}, 400, b"Forwarded"),
    ],
)
def test_only_callers_inside_the_environment_are_served(
    tag: str, aws: Any, serve: Any, token: str | None, headers: dict[str, str], status: int, text: bytes
) -> None:
    aws.create_secret(Name=f"guarded-{tag}", SecretString="value")
    extension, counting = serve()
    assert get(extension, secret_path(f"guarded-{tag}"), token=token, headers=headers) == (status, text)
    assert counting.fetches == 0


@pytest.mark.parametrize(
    ("method", "target", "status", "text"),
    [
        ("POST", secret_path("x"), 405, b"Not allowed"),
        ("DELETE", secret_path("x"), 405, b"Not allowed"),
        ("GET", "/systemsmanager/parameters/get?name=x", 404, b"Not found"),
        ("GET", "/", 404, b"Not found"),
        ("GET", "/secretsmanager/get", 400, b"missing parameter secretId"),
        ("GET", "/secretsmanager/get?secretId=", 400, b"missing parameter secretId"),
        ("GET", secret_path("x", refreshNow="true"), 400, b"unknown parameter: refreshNow"),
    ],
)
def test_requests_outside_the_protocol(serve: Any, method: str, target: str, status: int, text: bytes) -> None:
    extension, _ = serve()
    assert get(extension, target, method=method) == (status, text)


def test_secrets_manager_errors_keep_their_status_and_code(tag: str, aws: Any, serve: Any) -> None:
    extension, _ = serve()
    status, body = get(extension, secret_path(f"does-not-exist-{tag}"))
    assert 400 <= status < 500
    assert json.loads(body)["__type"] == "ResourceNotFoundException"
    aws.create_secret(Name=f"empty-secret-{tag}")  # no version yet, as Terraform creates the application secret
    status, body = get(extension, secret_path(f"empty-secret-{tag}"))
    assert 400 <= status < 500 and json.loads(body)["__type"] == "ResourceNotFoundException"


def test_unreachable_secrets_manager_is_502(serve: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    factory = Counting(endpoint_url=f"http://127.0.0.1:{closed_port}", config=Config(retries={"max_attempts": 1}))
    extension, _ = serve(factory=factory)
    status, body = get(extension, secret_path("any"))
    assert (status, json.loads(body)) == (502, {"__type": "ConnectionError", "message": "Read Error"})


def test_a_secrets_manager_that_does_not_answer_is_504(serve: Any) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        config = Config(retries={"max_attempts": 1}, read_timeout=0.5, connect_timeout=2)
        factory = Counting(endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}", config=config)
        extension, _ = serve(factory=factory)
        status, body = get(extension, secret_path("any"))
    assert (status, json.loads(body)) == (504, {"__type": "TimeoutError", "message": "Timeout"})


def test_answers_are_cached_for_the_ttl(tag: str, aws: Any, serve: Any) -> None:
    aws.create_secret(Name=f"cached-{tag}", SecretString="one")
    extension, counting = serve(ttl=300)
    assert json.loads(get(extension, secret_path(f"cached-{tag}"))[1])["SecretString"] == "one"
    aws.put_secret_value(SecretId=f"cached-{tag}", SecretString="two")
    for _ in range(3):
        assert json.loads(get(extension, secret_path(f"cached-{tag}"))[1])["SecretString"] == "one"
    assert counting.fetches == 1
    # Another version selector is another cache entry.
    current = get(extension, secret_path(f"cached-{tag}", versionStage="AWSCURRENT"))
    assert json.loads(current[1])["SecretString"] == "two"
    assert counting.fetches == 2


def test_ttl_zero_turns_the_cache_off(tag: str, aws: Any, serve: Any) -> None:
    aws.create_secret(Name=f"uncached-{tag}", SecretString="one")
    extension, counting = serve(ttl=0)
    get(extension, secret_path(f"uncached-{tag}"))
    aws.put_secret_value(SecretId=f"uncached-{tag}", SecretString="two")
    assert json.loads(get(extension, secret_path(f"uncached-{tag}"))[1])["SecretString"] == "two"
    assert counting.fetches == 2


def test_errors_are_not_cached(tag: str, aws: Any, serve: Any) -> None:
    extension, _ = serve(ttl=300)
    assert get(extension, secret_path(f"late-{tag}"))[0] != 200
    aws.create_secret(Name=f"late-{tag}", SecretString="here now")
    assert get(extension, secret_path(f"late-{tag}"))[0] == 200


def test_the_oldest_entry_leaves_a_full_cache(tag: str, aws: Any, serve: Any) -> None:
    for name in (f"first-{tag}", f"second-{tag}"):
        aws.create_secret(Name=name, SecretString=name)
    extension, counting = serve(ttl=300, cache_size=1)
    for name in (f"first-{tag}", f"second-{tag}", f"first-{tag}"):
        get(extension, secret_path(name))
    assert counting.fetches == 3


def test_one_client_made_on_first_use_shared_by_concurrent_requests(tag: str, aws: Any, serve: Any) -> None:
    aws.create_secret(Name=f"shared-{tag}", SecretString="value")
    extension, counting = serve(ttl=0)
    assert counting.clients == 0  # starting is cheap: no boto3 client yet
    statuses: list[int] = []
    path = secret_path(f"shared-{tag}")
    threads = [threading.Thread(target=lambda: statuses.append(get(extension, path)[0])) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * 8
    assert counting.clients == 1


def test_keep_alive_and_stop(tag: str, aws: Any, serve: Any) -> None:
    aws.create_secret(Name=f"alive-{tag}", SecretString="value")
    extension, _ = serve()
    connection = http.client.HTTPConnection("127.0.0.1", extension.port, timeout=10)
    for _ in range(3):  # several requests on one connection, as a client reusing it sends them
        connection.request("GET", secret_path(f"alive-{tag}"), headers={"X-Aws-Parameters-Secrets-Token": TOKEN})
        response = connection.getresponse()
        assert (response.status, response.getheader("Content-Type")) == (200, "application/json")
        response.read()
    connection.close()
    extension.stop()
    extension.stop()  # idempotent
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", extension.port), timeout=2).close()


def test_a_token_is_required() -> None:
    with pytest.raises(ValueError, match="AWS_SESSION_TOKEN"):
        secrets_extension.start(port=0, client_factory=lambda: None, token="")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ExtensionSettings(port=2773, ttl_seconds=300, cache_size=1000)),
        (
            {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "2999", "SECRETS_MANAGER_TTL": "60"},
            ExtensionSettings(port=2999, ttl_seconds=60, cache_size=1000),
        ),
        ({"SECRETS_MANAGER_TTL": "900"}, ExtensionSettings(ttl_seconds=300)),  # capped, as the real one does
        ({"SECRETS_MANAGER_TTL": "0"}, ExtensionSettings(ttl_seconds=0)),
        ({"PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED": "FALSE"}, ExtensionSettings(ttl_seconds=0)),
        ({"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE": "0"}, ExtensionSettings(ttl_seconds=0, cache_size=1)),
        ({"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE": "10"}, ExtensionSettings(cache_size=10)),
    ],
)
def test_settings_from_the_function_environment(env: dict[str, str], expected: ExtensionSettings) -> None:
    assert settings_from_env(env) == expected


@pytest.mark.parametrize(
    "env",
    [
        {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "0"},
        {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "70000"},
        {"SECRETS_MANAGER_TTL": "5m"},
        {"SECRETS_MANAGER_TTL": "-1"},
    ],
)
def test_unreadable_settings_are_named(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=next(iter(env))):
        settings_from_env(env)
