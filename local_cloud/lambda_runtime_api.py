"""Lambda's Runtime API (2018-06-01) for one worker: what AWS's Runtime Interface Client inside the worker talks to.

One small threaded HTTP/1.1 server per worker on a free loopback port (``AWS_LAMBDA_RUNTIME_API``): the client's
address is all it knows, so the port tells workers apart. Two details matter to awslambdaric 4.2.2's native
client (measured): every response carries ``Content-Type`` (without one on ``/next`` it crashed), and every
accepted socket sets ``TCP_NODELAY`` (without it each invocation waited ≈ 44 ms for delayed ACKs).
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

API_VERSION = "2018-06-01"
NEXT_PATH = f"/{API_VERSION}/runtime/invocation/next"
INIT_ERROR_PATH = f"/{API_VERSION}/runtime/init/error"
_INVOCATION_PATH = re.compile(rf"^/{API_VERSION}/runtime/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


@dataclass(frozen=True)
class Invocation:
    """One event handed to the runtime by ``/next``."""

    request_id: str
    payload: bytes
    deadline_ms: int  # epoch milliseconds: the function's context.get_remaining_time_in_millis() counts down to it
    function_arn: str  # the ARN the caller invoked (qualified when it named a version or alias)
    trace_id: str
    client_context: str | None = None


class RuntimeBackend(Protocol):
    """The worker behind the API."""

    def next_invocation(self) -> Invocation | None:
        """Block until there is an event; None when the worker is being stopped."""

    def invocation_response(self, request_id: str, body: bytes) -> bool:
        """The handler's result; False for an unknown request id."""

    def invocation_error(self, request_id: str, body: bytes, error_type: str) -> bool:
        """The handler raised; False for an unknown request id."""

    def init_error(self, body: bytes, error_type: str) -> None:
        """Importing the handler failed (INIT)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, backend: RuntimeBackend) -> None:
        self.backend = backend
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # A worker that is killed (timeout, stop) drops its connections; that is no error of the API.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # the base class's name
        pass  # the emulator's log is not the place for every runtime call

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, document: dict[str, str]) -> None:
        self._send(status, json.dumps(document).encode())

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:  # http.server's naming
        if self.path != NEXT_PATH:
            self._send_json(404, {"errorType": "InvalidRequest", "errorMessage": f"unknown path {self.path}"})
            return
        invocation = self.server.backend.next_invocation()
        if invocation is None:
            stopping = {"errorType": "Runtime.Stopping", "errorMessage": "the execution environment is stopping"}
            self._send_json(500, stopping)
            self.close_connection = True
            return
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        }
        if invocation.client_context:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        self._send(200, invocation.payload, headers)

    def do_POST(self) -> None:
        body = self._body()
        backend = self.server.backend
        if self.path == INIT_ERROR_PATH:
            backend.init_error(body, self.headers.get(ERROR_TYPE_HEADER, "Runtime.Unknown"))
            self._send_json(202, {"status": "OK"})
            return
        match = _INVOCATION_PATH.match(self.path)
        if match is None:
            self._send_json(404, {"errorType": "InvalidRequest", "errorMessage": f"unknown path {self.path}"})
            return
        request_id = match["id"]
        if match["kind"] == "response":
            accepted = backend.invocation_response(request_id, body)
        else:
            error_type = self.headers.get(ERROR_TYPE_HEADER, "Runtime.Unknown")
            accepted = backend.invocation_error(request_id, body, error_type)
        if accepted:
            self._send_json(202, {"status": "OK"})
        else:
            self._send_json(400, {"errorType": "InvalidRequestID", "errorMessage": f"unknown request id {request_id}"})


class RuntimeApiServer:
    """Serves one worker's Runtime API on a free loopback port until ``close``."""

    def __init__(self, backend: RuntimeBackend) -> None:
        self._server = _Server(backend)
        self._thread = threading.Thread(target=self._server.serve_forever, name="lambda-runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
