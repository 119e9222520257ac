"""What execute-api receives and sends: the client's request as read once from WSGI, the response, and API Gateway's
own error answers (its "gateway responses") with the exact bodies clients see on AWS.

The bodies are byte for byte what API Gateway sends by default: most gateway responses render
``{"message":$context.error.messageString}`` (no space), while the integration failures (500/502/504) carry the
historical ``{"message": "..."}`` with a space. ``x-amzn-ErrorType`` carries the error type SDKs parse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from werkzeug.wsgi import get_input_stream

# API Gateway refuses request payloads above 10 MB before anything else runs.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    """One client request, read once: the raw pieces SigV4 needs and the decoded ones routing and events need."""

    method: str
    host: str  # the Host header as sent (with a port when the client sent one)
    raw_path: str  # the request target's path as sent on the wire (percent-encoded)
    path: str  # the same path, percent-decoded (UTF-8)
    query: str  # the raw query string, without '?'
    headers: tuple[tuple[str, str], ...]  # (Canonical-Case name, value), in arrival order
    body: bytes
    source_ip: str
    protocol: str

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        raw_target = str(environ.get("REQUEST_URI") or environ.get("RAW_URI") or "")
        # Latin-1 is WSGI's transport encoding of the raw bytes (PEP 3333).
        raw_target = raw_target.encode("latin-1").decode("utf-8", "replace")
        if "://" in raw_target.split("?", 1)[0]:  # absolute-form request target (through a proxy)
            raw_target = "/" + raw_target.split("://", 1)[1].split("/", 1)[-1]
        raw_path = raw_target.split("?", 1)[0] or "/"
        path = str(environ.get("PATH_INFO") or "/").encode("latin-1").decode("utf-8", "replace")
        length = str(environ.get("CONTENT_LENGTH") or "")
        stream = get_input_stream(environ, safe_fallback=True)
        # One byte past the limit is enough to refuse a payload as too large (the caller checks).
        limit = MAX_PAYLOAD_BYTES + 1
        body = stream.read(min(int(length), limit)) if length.isdigit() else stream.read(limit)
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            host=str(environ.get("HTTP_HOST") or ""),
            raw_path=raw_path,
            path=path,
            query=str(environ.get("QUERY_STRING") or "").encode("latin-1").decode("utf-8", "replace"),
            headers=tuple(_headers(environ)),
            body=body,
            source_ip=str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
            protocol=str(environ.get("SERVER_PROTOCOL") or "HTTP/1.1"),
        )


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    # WSGI keeps no header's original spelling; API Gateway passes the client's. Clients send canonical case, so
    # X-Amz-Date / Content-Type is what a handler sees on AWS too.
    found = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key
        else:
            continue
        decoded = str(value).encode("latin-1").decode("utf-8", "replace")
        found.append(("-".join(part.capitalize() for part in name.split("_")), decoded))
    return found


@dataclass(frozen=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True)
class GatewayResponse:
    """One of API Gateway's own answers: status, body, error type, and the gateway response type it belongs to."""

    status: int
    body: bytes
    error_type: str | None
    response_type: str

    @property
    def message(self) -> str:
        return str(json.loads(self.body).get("message", ""))


class GatewayError(Exception):
    """Raised anywhere in the request's path; the front answers with ``response``."""

    def __init__(self, response: GatewayResponse, log: str | None = None) -> None:
        super().__init__(log or response.message)
        self.response = response
        self.log = log  # what the emulator's log says about it (API Gateway's execution log would say it)


def _message(status: int, message: str, error_type: str | None, response_type: str) -> GatewayResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return GatewayResponse(status, body, error_type, response_type)


def _spaced(status: int, message: str, error_type: str | None, response_type: str) -> GatewayResponse:
    return GatewayResponse(status, json.dumps({"message": message}).encode(), error_type, response_type)


MISSING_AUTHENTICATION_TOKEN = _message(
    403, "Missing Authentication Token", "MissingAuthenticationTokenException", "MISSING_AUTHENTICATION_TOKEN"
)
# Unknown stage, a custom domain path without a base path mapping, a disabled execute-api endpoint.
FORBIDDEN = _message(403, "Forbidden", "ForbiddenException", "DEFAULT_4XX")
UNRECOGNIZED_CLIENT = _message(
    403, "The security token included in the request is invalid.", "UnrecognizedClientException", "UNAUTHORIZED"
)
THROTTLED = _message(429, "Too Many Requests", "TooManyRequestsException", "THROTTLED")
REQUEST_TOO_LARGE = _message(413, "Request Too Long", "RequestTooLongException", "REQUEST_TOO_LARGE")
# Configuration errors: no permission to invoke the function, an unknown function, an integration not emulated.
INTERNAL_SERVER_ERROR = _spaced(500, "Internal server error", "InternalServerErrorException", "DEFAULT_5XX")
# The function failed, or answered something that is not a proxy response.
INTEGRATION_FAILURE = _spaced(502, "Internal server error", "InternalServerErrorException", "INTEGRATION_FAILURE")
INTEGRATION_TIMEOUT = _spaced(504, "Endpoint request timed out", "InternalServerErrorException", "INTEGRATION_TIMEOUT")


def incomplete_signature(message: str) -> GatewayResponse:
    return _message(403, message, "IncompleteSignatureException", "MISSING_AUTHENTICATION_TOKEN")


def invalid_signature(message: str) -> GatewayResponse:
    return _message(403, message, "InvalidSignatureException", "INVALID_SIGNATURE")


def missing_request_parameters(names: list[str]) -> GatewayResponse:
    return _spaced(
        400,
        f"Missing required request parameters: [{', '.join(names)}]",
        "BadRequestException",
        "BAD_REQUEST_PARAMETERS",
    )
