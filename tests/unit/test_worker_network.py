"""local_cloud/worker_network.py against a stand-in emulator: mapping, AWS-like timeouts, TLS names, stdlib only.

The real emulator's answers are tested in tests/e2e/test_local_network.py; here a tiny HTTP server plays it, so
every answer (200/403/404, a change between two lookups) can be chosen.
"""

from __future__ import annotations

import ast
import errno
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from local_cloud import tls, worker_network

ENDPOINT = "aurora-dev.cluster-abc123.us-east-1.rds.amazonaws.com"


class StandIn:
    """The emulator's resolve endpoint, answering what the test sets; records every query."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self.queries: list[dict[str, str]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                stand_in.queries.append({"path": url.path, **{k: v[0] for k, v in parse_qs(url.query).items()}})
                status, body = stand_in.answers.pop(0) if stand_in.answers else (404, {"reason": "unknown"})
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture()
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    emulator = StandIn()
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "trading-api-dev")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
    worker_network.install()
    try:
        yield emulator
    finally:
        worker_network.uninstall()
        emulator.server.shutdown()


@pytest.fixture()
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    try:
        yield server
    finally:
        server.close()


def test_an_allowed_endpoint_resolves_to_the_local_server_and_connects(
    stand_in: StandIn, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    stand_in.answers.append((200, {"address": "127.0.0.1", "port": port}))
    with socket.create_connection((ENDPOINT, 3306), timeout=5) as client:
        accepted, _ = listener.accept()
        assert client.getpeername() == ("127.0.0.1", port)
        accepted.close()
    assert stand_in.queries == [
        {
            "path": "/_local_cloud/network/resolve",
            "function": "trading-api-dev",
            "qualifier": "7",
            "host": ENDPOINT,
            "port": "3306",
        }
    ]


def test_a_blocked_endpoint_times_out_after_the_callers_timeout_instead_of_refusing(stand_in: StandIn) -> None:
    stand_in.answers.append((403, {"reason": "no ingress rule"}))
    started = time.monotonic()
    with pytest.raises(TimeoutError):  # socket.timeout, as when AWS drops the SYN
        socket.create_connection((ENDPOINT, 3306), timeout=0.3)
    assert time.monotonic() - started >= 0.3  # waited: never an instant refusal

    stand_in.answers.append((403, {"reason": "no ingress rule"}))
    address = socket.getaddrinfo(ENDPOINT, 3306, type=socket.SOCK_STREAM)[0][4]
    with socket.socket() as sock:
        sock.settimeout(0.1)
        assert sock.connect_ex(address) == errno.EAGAIN


def test_every_connection_asks_again_so_a_revoked_rule_shows_at_the_next_connect(
    stand_in: StandIn, listener: socket.socket
) -> None:
    stand_in.answers += [
        (200, {"address": "127.0.0.1", "port": listener.getsockname()[1]}),
        (403, {"reason": "revoked"}),
    ]
    socket.create_connection((ENDPOINT, 3306), timeout=5).close()
    with pytest.raises(TimeoutError):
        socket.create_connection((ENDPOINT, 3306), timeout=0.1)
    assert len(stand_in.queries) == 2


def test_unknown_endpoints_and_other_hosts_resolve_normally(stand_in: StandIn) -> None:
    stand_in.answers.append((404, {"reason": "unknown"}))
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("nothing.cluster-zzz.us-east-1.rds.amazonaws.com", 3306)
    assert len(stand_in.queries) == 1
    assert socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)[0][4] == ("127.0.0.1", 80)
    assert len(stand_in.queries) == 1, "only *.rds.amazonaws.com names are asked about"


def test_tls_still_verifies_the_endpoint_name(stand_in: StandIn, tmp_path: Path) -> None:
    authority = tls.new_authority(tmp_path / "ca", "Stand-in CA")
    files = authority.issue(tmp_path / "server", [ENDPOINT])
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(files.cert, files.key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with server_context.wrap_socket(connection, server_side=True) as secure:
            secure.sendall(b"hello")

    threading.Thread(target=serve, daemon=True).start()
    stand_in.answers.append((200, {"address": "127.0.0.1", "port": listener.getsockname()[1]}))
    client_context = ssl.create_default_context(cafile=str(files.ca))
    try:
        with (
            socket.create_connection((ENDPOINT, 3306), timeout=5) as raw,
            client_context.wrap_socket(raw, server_hostname=ENDPOINT) as secure,
        ):
            assert secure.recv(5) == b"hello"
            assert ENDPOINT in [value for _, value in secure.getpeercert()["subjectAltName"]]
    finally:
        listener.close()


def test_install_is_idempotent_and_uninstall_restores_the_socket_module() -> None:
    original = socket.getaddrinfo
    worker_network.install()
    worker_network.install()
    assert socket.getaddrinfo is worker_network.getaddrinfo
    worker_network.uninstall()
    assert socket.getaddrinfo is original and socket.socket.connect is worker_network._original_connect


def test_the_module_needs_only_the_standard_library() -> None:
    # It runs inside Lambda workers, which see the function's ZIP and boto3, not the project's packages.
    tree = ast.parse(Path(worker_network.__file__).read_text())
    nodes = list(ast.walk(tree))
    imported = {alias.name.split(".")[0] for node in nodes if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in nodes if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)
