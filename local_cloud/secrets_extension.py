"""The AWS Parameters and Secrets Lambda Extension's local HTTP API (its Secrets Manager half), for local runs.

On AWS the extension is a layer: a process beside the function that answers on ``localhost`` and caches what it
fetched from Secrets Manager. Locally this module plays it, backed by any boto3 Secrets Manager client (moto
in-process or the emulator's endpoint). Users: the handler tests, the cold-start benchmark and the emulator's
Lambda runtime, which starts one per execution environment of a function that has the extension layer::

    extension = start(port=0, client_factory=lambda: boto3.client("secretsmanager"), token=session_token)
    ...  # GET http://127.0.0.1:{extension.port}/secretsmanager/get?secretId=...
    extension.stop()

``settings_from_env(env)`` reads the extension's own variables from a function's environment.

The protocol, as AWS documents it and as the open-source AWS Secrets Manager Agent (the same interface)
implements it:

- ``GET /secretsmanager/get?secretId=<name or ARN>[&versionId=<id>][&versionStage=<label>]``; another query
  parameter or no ``secretId`` -> 400 with a one-line text; another path -> 404 ``Not found``; another method ->
  405 ``Not allowed``.
- Header ``X-Aws-Parameters-Secrets-Token`` must equal the execution environment's ``AWS_SESSION_TOKEN``, else
  403 ``Bad Token``; a request carrying ``X-Forwarded-For`` gets 400 ``Forwarded`` (both guard against SSRF).
- 200: the GetSecretValue response as JSON (``ARN``, ``Name``, ``VersionId``, ``SecretString`` or base64
  ``SecretBinary``, ``VersionStages``, ``CreatedDate`` in epoch seconds).
- A Secrets Manager error keeps its HTTP status, with ``{"__type": <code>, "message": <text>}``; Secrets Manager
  unreachable -> 502 ``ConnectionError``, timed out -> 504 ``TimeoutError``, anything else -> 500
  ``{"__type": "InternalFailure"}``.
- Answers are cached per (secretId, versionId, versionStage) for ``SECRETS_MANAGER_TTL`` seconds (default 300,
  at most 300, ``0`` turns caching off), at most ``PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE`` entries (default
  1000, the oldest goes first); errors are never cached. Port: ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT``
  (default 2773).

Not modelled: the Parameter Store half (``/systemsmanager/...`` answers 404), the connection limit, the
extension's own log lines.
"""

from __future__ import annotations

import base64
import datetime
import hmac
import json
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_PORT = 2773
DEFAULT_TTL_SECONDS = 300
MAX_TTL_SECONDS = 300  # the real extension caps SECRETS_MANAGER_TTL at five minutes
DEFAULT_CACHE_SIZE = 1000
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
GET_PATH = "/secretsmanager/get"
_QUERY_PARAMETERS = {"secretId": "SecretId", "versionId": "VersionId", "versionStage": "VersionStage"}

ClientFactory = Callable[[], Any]


@dataclass(frozen=True)
class ExtensionSettings:
    """The extension's configuration, as its environment variables give it."""

    port: int = DEFAULT_PORT
    ttl_seconds: float = DEFAULT_TTL_SECONDS
    cache_size: int = DEFAULT_CACHE_SIZE


def settings_from_env(env: Mapping[str, str]) -> ExtensionSettings:
    """Read ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT``, ``SECRETS_MANAGER_TTL`` and the cache settings.

    Like the real extension, a TTL above 300 s is lowered to 300 s and ``PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED
    =false`` (or a cache size of 0) turns caching off; an unreadable value raises ``ValueError`` naming it.
    """

    def number(name: str, default: int, low: int) -> int:
        raw = env.get(name, "").strip()
        if not raw:
            return default
        if not raw.isdigit() or int(raw) < low:
            raise ValueError(f"{name}={raw!r} must be an integer >= {low}")
        return int(raw)

    port = number("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", DEFAULT_PORT, 1)
    if port > 65535:
        raise ValueError(f"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT={port} must be at most 65535")
    ttl = min(number("SECRETS_MANAGER_TTL", DEFAULT_TTL_SECONDS, 0), MAX_TTL_SECONDS)
    cache_size = number("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", DEFAULT_CACHE_SIZE, 0)
    if env.get("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "true").strip().lower() == "false" or cache_size == 0:
        ttl = 0
    return ExtensionSettings(port=port, ttl_seconds=ttl, cache_size=max(cache_size, 1))


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


class SecretsExtension:
    """A running extension endpoint; ``stop()`` ends it (idempotent)."""

    def __init__(
        self, host: str, port: int, client_factory: ClientFactory, token: str, ttl: float, cache_size: int
    ) -> None:
        if not token:
            raise ValueError("the extension needs the execution environment's AWS_SESSION_TOKEN as its token")
        self._client_factory = client_factory
        self._client: Any = None
        self._token = token.encode()
        self._ttl = ttl
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, ...], tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._server = _Server((host, port), self)
        self.host, self.port = self._server.server_address[:2]
        # A short poll interval: stop() returns within 50 ms instead of the default 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"secrets-extension-{self.port}"
        )
        self._thread.daemon = True
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host!s}:{self.port}"

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def answer(self, method: str, target: str, headers: Mapping[str, str] | Message) -> Answer:
        """The response to one request (the HTTP layer only moves bytes)."""
        supplied = (headers.get(TOKEN_HEADER) or "").encode()
        if headers.get("X-Forwarded-For") is not None:
            return _text(400, "Forwarded")
        if not hmac.compare_digest(supplied, self._token):
            return _text(403, "Bad Token")
        if method != "GET":
            return _text(405, "Not allowed")
        parts = urlsplit(target)
        if parts.path != GET_PATH:
            return _text(404, "Not found")
        request: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name not in _QUERY_PARAMETERS:
                return _text(400, f"unknown parameter: {name}")
            request[_QUERY_PARAMETERS[name]] = value
        if not request.get("SecretId"):
            return _text(400, "missing parameter secretId")
        key = tuple(request.get(name, "") for name in _QUERY_PARAMETERS.values())
        cached = self._cached(key)
        if cached is not None:
            return Answer(200, cached)
        answer = self._fetch(request)
        if answer.status == 200:
            self._remember(key, answer.body)
        return answer

    def _cached(self, key: tuple[str, ...]) -> bytes | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None or entry[0] <= time.monotonic():
                return None
            return entry[1]

    def _remember(self, key: tuple[str, ...], body: bytes) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._cache[key] = (time.monotonic() + self._ttl, body)
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _secrets_manager(self) -> Any:
        with self._lock:
            if self._client is None:  # made on first use, as the real extension does: starting stays cheap
                self._client = self._client_factory()
            return self._client

    def _fetch(self, request: dict[str, str]) -> Answer:
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        try:
            response = self._secrets_manager().get_secret_value(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
            return _error(status, str(error.get("Code") or "InternalFailure"), str(error.get("Message") or ""))
        except (ConnectTimeoutError, ReadTimeoutError):
            return _error(504, "TimeoutError", "Timeout")
        except (EndpointConnectionError, ConnectionClosedError):
            return _error(502, "ConnectionError", "Read Error")
        except Exception:  # any other failure is the extension's 500, as on AWS
            return _error(500, "InternalFailure", "")
        document: dict[str, Any] = {
            name: response[name] for name in ("ARN", "Name", "VersionId", "VersionStages") if name in response
        }
        if "SecretString" in response:
            document["SecretString"] = response["SecretString"]
        if "SecretBinary" in response:
            document["SecretBinary"] = base64.b64encode(response["SecretBinary"]).decode()
        created = response.get("CreatedDate")
        if isinstance(created, datetime.datetime):
            document["CreatedDate"] = created.timestamp()
        return Answer(200, json.dumps(document).encode())


def start(
    port: int = DEFAULT_PORT,
    client_factory: ClientFactory | None = None,
    token: str = "",
    ttl: float = DEFAULT_TTL_SECONDS,
    *,
    cache_size: int = DEFAULT_CACHE_SIZE,
    host: str = "127.0.0.1",
) -> SecretsExtension:
    """Serve the extension API on ``host:port`` (``port=0``: a free one, see ``.port``) until ``stop()``."""
    if client_factory is None:
        raise ValueError("start() needs a client_factory that returns a boto3 Secrets Manager client")
    return SecretsExtension(host, port, client_factory, token, min(ttl, MAX_TTL_SECONDS), cache_size)


def _text(status: int, message: str) -> Answer:
    return Answer(status, message.encode(), "text/plain; charset=utf-8")


def _error(status: int, code: str, message: str) -> Answer:
    if code == "InternalFailure" or not message:
        return Answer(status, b'{"__type":"InternalFailure"}')
    return Answer(status, json.dumps({"__type": code, "message": message}).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], extension: SecretsExtension) -> None:
        self.extension = extension
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        # Without TCP_NODELAY a keep-alive client waits for the delayed ACK (~40 ms) on every small request.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a client reusing its connection expects
    server: _Server

    def _reply(self) -> None:
        answer = self.server.extension.answer(self.command, self.path, self.headers)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _reply  # HEAD and others: the base class's 501

    def log_message(self, format: str, *args: Any) -> None:  # the base class's signature
        """Quiet: the real extension logs nothing per request at its default level."""
