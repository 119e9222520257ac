"""The edge of the API: what an API Gateway REST proxy event may look like, and what every response carries.

- ``normalize_event``: a clean copy of the event, or ``MalformedEvent`` when it is not an API Gateway REST proxy
  request at all. API Gateway may send ``headers: null`` and the Lambda Invoke API lets anyone send anything, so
  nothing below this function has to defend against odd types (a raise out of the handler is a 502).
- ``read_json_body``: the media type, charset, transfer encoding, size and BOM rules of a JSON request body.
- ``finish``: the headers every response carries, and no body for HEAD.
The decisions behind each rule are in docs/decisions/0009-api-input-rules.md.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from handlers.errors import ApiError

MAX_BODY_BYTES = 16 * 1024
JSON_MEDIA_TYPE = "application/json"
REQUEST_ID_HEADER = "X-Request-Id"
_UTF8_NAMES = ("utf-8", "utf8")
_BOM = "\ufeff"
# Request ids go into a response header: only characters that cannot break it (API Gateway's are UUIDs).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_STANDARD_HEADERS = {
    "Content-Type": JSON_MEDIA_TYPE,  # every body is JSON, errors included
    "Cache-Control": "no-store",  # trades and errors are per request: no cache or proxy may keep them
    "X-Content-Type-Options": "nosniff",
}


class MalformedEvent(ValueError):
    """The Lambda event is not an API Gateway REST proxy request (the message says why, in one line)."""


def normalize_event(event: object) -> dict[str, Any]:
    """A copy of ``event`` with every field the resolver reads in the type API Gateway documents."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"the event is not a JSON object but a {type(event).__name__}")
    method, path, body = event.get("httpMethod"), event.get("path"), event.get("body")
    if not isinstance(method, str) or not method:
        raise MalformedEvent("the event has no httpMethod string")
    if not isinstance(path, str):
        raise MalformedEvent("the event has no path string")
    if body is not None and not isinstance(body, str):
        raise MalformedEvent(f"the event's body is a {type(body).__name__}, not a string or null")
    clean = dict(event)
    clean["isBase64Encoded"] = _flag(event.get("isBase64Encoded"))
    headers = _string_map(event.get("headers"))
    multi = event.get("multiValueHeaders")
    for name, values in multi.items() if isinstance(multi, Mapping) else ():
        # API Gateway sends both forms; a header only in the multi-value form counts with its last value.
        last = values[-1] if isinstance(values, list) and values else None
        if isinstance(name, str) and name not in headers and isinstance(last, str):
            headers[name] = last
    clean["headers"] = headers
    # Rebuilt from the clean headers: the resolver reads one value per header, and a list of odd types must
    # not reach it through the multi-value form.
    clean["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    context = event.get("requestContext")
    clean["requestContext"] = dict(context) if isinstance(context, Mapping) else {}
    for name in ("queryStringParameters", "pathParameters", "stageVariables"):
        clean[name] = _string_map(event.get(name)) or None
    clean.pop("multiValueQueryStringParameters", None)  # not used by any route
    return clean


def request_id(event: object, context: object) -> str:
    """API Gateway's request id (what it returns as ``x-amzn-RequestId``), else the Lambda request id."""
    request_context = event.get("requestContext") if isinstance(event, Mapping) else None
    for candidate in (
        request_context.get("requestId") if isinstance(request_context, Mapping) else None,
        getattr(context, "aws_request_id", None),
    ):
        if isinstance(candidate, str) and _REQUEST_ID.fullmatch(candidate):
            return candidate
    return "unknown"


def read_json_body(body: str | None, is_base64: bool, content_type: str | None) -> str:
    """The JSON text of a request body, after the media type, size, encoding and BOM rules; raises ``ApiError``."""
    _check_content_type(content_type)
    if is_base64:
        # API Gateway base64-encodes bodies whose type matches a binary media type of the API: decode, same rules.
        if len(body or "") > (MAX_BODY_BYTES + 2) // 3 * 4:
            raise _too_large()
        try:
            raw = base64.b64decode(body or "", validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "the request body is not valid base64",
                ["isBase64Encoded is true, so the body must be base64 text"],
            ) from None
        if len(raw) > MAX_BODY_BYTES:
            raise _too_large()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(
                HTTPStatus.BAD_REQUEST, "the request body is not UTF-8", [f"invalid byte at offset {exc.start}"]
            ) from None
    else:
        text = body or ""
        if len(text) > MAX_BODY_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
            raise _too_large()
    # RFC 8259 section 8.1: a parser may ignore a byte order mark; one leading BOM is not part of the JSON text.
    text = text.removeprefix(_BOM)
    if not text.strip():
        raise ApiError(HTTPStatus.BAD_REQUEST, "the request body is empty", ["send the trade as a JSON object"])
    return text


def proxy_response(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A proxy-integration response built without the resolver (events it never sees)."""
    multi = {name: [value] for name, value in (headers or {}).items()}
    text = json.dumps(body, separators=(",", ":"))  # as the resolver serializes
    return {"statusCode": int(status), "multiValueHeaders": multi, "body": text, "isBase64Encoded": False}


def finish(response: Mapping[str, Any], request: str, head: bool) -> dict[str, Any]:
    """``response`` with the headers every response carries (they win over same-named ones), no body for HEAD."""
    headers: dict[str, list[str]] = {}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = list(values)
    for name, value in (response.get("headers") or {}).items():
        headers[name] = [value]
    standard = {**_STANDARD_HEADERS, REQUEST_ID_HEADER: request}
    replaced = {name.lower() for name in standard}
    headers = {name: values for name, values in headers.items() if name.lower() not in replaced}
    headers.update({name: [value] for name, value in standard.items()})
    return {
        "statusCode": int(response["statusCode"]),
        "multiValueHeaders": headers,
        "body": "" if head else response.get("body") or "",
        "isBase64Encoded": False,
    }


def _check_content_type(value: str | None) -> None:
    media_type, _, parameters = (value or "").partition(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        given = f"got {json.dumps(value[:60])}" if value else "the request has no Content-Type header"
        raise ApiError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json", [given])
    for parameter in parameters.split(";"):
        name, _, raw = parameter.partition("=")
        if name.strip().lower() == "charset" and raw.strip().strip('"').lower() not in _UTF8_NAMES:
            # JSON between systems is UTF-8 (RFC 8259 section 8.1); a body declared otherwise would be misread.
            raise ApiError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                "the request body must be UTF-8",
                [f"charset {json.dumps(raw.strip()[:40])} is not supported: send charset=utf-8 or no charset"],
            )


def _too_large() -> ApiError:
    return ApiError(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        f"the request body is larger than {MAX_BODY_BYTES} bytes",
        [f"a trade is a few hundred bytes; the limit is {MAX_BODY_BYTES} bytes of UTF-8"],
    )


def _flag(value: object) -> bool:
    """``isBase64Encoded``: a JSON boolean as API Gateway sends it, or the strings some emulators send."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MalformedEvent(f"the event's isBase64Encoded is {json.dumps(value, default=repr)[:40]}, not a boolean")


def _string_map(value: object) -> dict[str, str]:
    """Only the string-to-string entries of a header or parameter map (null or another type: empty)."""
    if not isinstance(value, Mapping):
        return {}
    return {name: item for name, item in value.items() if isinstance(name, str) and isinstance(item, str)}
