"""Inside a Lambda worker: database endpoints reach the emulator's servers, as far as the deployed network allows.

Standard library only; runs in the worker's CPython (3.12, as Lambda's) before the handler is imported: the worker
bootstrap calls ``install()`` (contract 5). It reads only the standard Lambda variables ``AWS_ENDPOINT_URL``,
``AWS_LAMBDA_FUNCTION_NAME`` and ``AWS_LAMBDA_FUNCTION_VERSION``.

For host names under ``.rds.amazonaws.com`` name resolution asks the emulator
(``GET {AWS_ENDPOINT_URL}/_local_cloud/network/resolve?function=&qualifier=&host=&port=``) at every lookup, so a
rule deleted a moment ago shows at the next connection:

- 200: ``getaddrinfo`` answers with the cluster's local server (``127.0.0.1:<port>``) instead of ``endpoint:3306``.
  Only the address changes: a TLS client still verifies the certificate against the endpoint name it asked for
  (pymysql passes ``server_hostname=host``).
- 403: the deployed security groups or subnets do not let this function through. On AWS the packets are dropped
  and the client's connect times out after its own timeout; here ``getaddrinfo`` answers with an address of the
  documentation range (``192.0.2.0/24``, which nothing routes) and ``connect`` to it waits out the socket's timeout
  and raises ``TimeoutError`` — never an instant refusal. A socket without a timeout waits as long as Linux's SYN
  retries would (~130 s) and fails with ``ETIMEDOUT``; Lambda's own timeout usually ends it first.
- 404 (no emulated endpoint) or an emulator that does not answer: normal resolution (fails for a made-up name, as
  DNS would).

Clients that resolve through ``socket.getaddrinfo`` and connect with ``socket.socket.connect``/``connect_ex`` (or
``socket.create_connection``: pymysql, http.client, asyncio's blocking helpers) are covered; ``gethostbyname``
keeps its usual answer (it cannot carry a port). Non-blocking connects to a blocked endpoint are left to the
kernel (the address is unroutable there too).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
import time
import urllib.parse
from http.client import HTTPConnection
from typing import Any

RDS_SUFFIX = ".rds.amazonaws.com"
# TEST-NET-1 (RFC 5737): reserved for documentation, routed nowhere. Blocked endpoints resolve to it.
BLOCKED_ADDRESS = "192.0.2.1"
# What Linux's default tcp_syn_retries (6) adds up to before connect() fails with ETIMEDOUT.
KERNEL_CONNECT_TIMEOUT = 127.0
RESOLVE_PATH = "/_local_cloud/network/resolve"

_original_getaddrinfo = socket.getaddrinfo
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_install_lock = threading.Lock()
_installed = False


class Resolution:
    """The emulator's answer for one host and port."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body


def ask_emulator(
    endpoint: str, function: str, qualifier: str, host: str, port: int, timeout: float = 5.0
) -> Resolution:
    url = urllib.parse.urlsplit(endpoint)
    query = urllib.parse.urlencode({"function": function, "qualifier": qualifier, "host": host, "port": str(port)})
    connection = HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=timeout)
    try:
        connection.request("GET", f"{RESOLVE_PATH}?{query}")
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {"reason": raw.decode(errors="replace")}
    return Resolution(response.status, body if isinstance(body, dict) else {})


def _is_database_host(host: Any) -> bool:
    return isinstance(host, str) and host.rstrip(".").lower().endswith(RDS_SUFFIX)


def _numeric_port(port: Any) -> int | None:
    if isinstance(port, int):
        return port
    if isinstance(port, (str, bytes)) and str(port if isinstance(port, str) else port.decode()).isdigit():
        return int(port)
    return None


def getaddrinfo(  # the signature of socket.getaddrinfo
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[Any]:
    number = _numeric_port(port)
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not (_is_database_host(host) and number is not None and endpoint and family in (0, socket.AF_INET)):
        return _original_getaddrinfo(host, port, family, type, proto, flags)
    try:
        answer = ask_emulator(
            endpoint,
            os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            host.rstrip(".").lower(),
            number,
        )
    except OSError:
        answer = Resolution(0, {})
    if answer.status == 200:
        address = (str(answer.body["address"]), int(answer.body["port"]))
    elif answer.status == 403:
        address = (BLOCKED_ADDRESS, number)
    else:
        return _original_getaddrinfo(host, port, family, type, proto, flags)
    kinds = [type] if type else [socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW]
    protocols: dict[int, int] = {socket.SOCK_STREAM: socket.IPPROTO_TCP, socket.SOCK_DGRAM: socket.IPPROTO_UDP}
    return [(socket.AF_INET, kind, proto or protocols.get(kind, 0), "", address) for kind in kinds]


def _blocked(sock: socket.socket, address: Any) -> bool:
    return (
        sock.family == socket.AF_INET
        and isinstance(address, tuple)
        and address[:1] == (BLOCKED_ADDRESS,)
        and sock.gettimeout() != 0.0
    )


def _wait_like_a_dropped_syn(sock: socket.socket) -> OSError:
    """Wait as a connect whose packets are dropped waits, then return the error it would raise."""
    timeout = sock.gettimeout()
    if timeout is not None:
        time.sleep(timeout)
        return TimeoutError("timed out")  # what a socket with a timeout raises (socket.timeout)
    time.sleep(KERNEL_CONNECT_TIMEOUT)
    return OSError(errno.ETIMEDOUT, os.strerror(errno.ETIMEDOUT))


def connect(self: socket.socket, address: Any) -> None:
    if _blocked(self, address):
        raise _wait_like_a_dropped_syn(self)
    _original_connect(self, address)


def connect_ex(self: socket.socket, address: Any) -> int:
    if _blocked(self, address):
        error = _wait_like_a_dropped_syn(self)
        return errno.EAGAIN if isinstance(error, TimeoutError) else errno.ETIMEDOUT
    return _original_connect_ex(self, address)


def install() -> None:
    """Hook name resolution and connect in this process (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        socket.getaddrinfo = getaddrinfo
        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        _installed = True


def uninstall() -> None:
    global _installed
    with _install_lock:
        socket.getaddrinfo = _original_getaddrinfo
        socket.socket.connect = _original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _original_connect_ex  # type: ignore[method-assign]
        _installed = False
