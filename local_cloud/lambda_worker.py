"""One Lambda execution environment: a sandboxed CPython 3.12 process running AWS's Runtime Interface Client, its
Runtime API server, and the capture of what it prints.

The process is started through the emulator's Supervisor (one long-lived spawner thread, parent-death signal, own
process group, janitor after a SIGKILL), first as ``lambda_sandbox.py`` (mounts, limits, unprivileged user), which
then executes ``lambda_bootstrap.py`` and awslambdaric inside the sandbox. One invocation at a time, as on Lambda.

Output: stdout and stderr share one pipe (their order is kept). A reader thread splits it into lines (on ``\\n``
only: awslambdaric joins a traceback's lines with ``\\r`` so that it stays one log event, as on Lambda). When an
invocation ends, ``OutputCapture.sync`` drains everything the worker wrote before it answered, so each line is
attributed to the invocation that printed it.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from local_cloud import lambda_sandbox
from local_cloud.lambda_runtime_api import Invocation, RuntimeApiServer
from local_cloud.processes import Child, Supervisor

OutcomeKind = Literal["ok", "error", "timeout", "exited", "init_error"]
# A line of output: (epoch milliseconds when read, text).
Line = tuple[int, str]
SANDBOX_SCRIPT = Path(lambda_sandbox.__file__)
_MAX_LINE = 256 * 1024  # CloudWatch Logs truncates an event at 256 KB


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Outcome:
    """How an INIT or an invocation ended."""

    kind: OutcomeKind
    body: bytes = b""
    error_type: str = ""
    exit_status: str = ""  # for "exited": Lambda's wording, e.g. "exit status 1" or "signal: killed"


@dataclass(frozen=True)
class WorkerSpec:
    """Everything the sandbox needs to start one worker (see lambda_sandbox.py for the meaning of each part)."""

    name: str  # for the process list
    mounts: dict[str, str]
    interpreter: str  # the runtime interpreter inside the sandbox, e.g. /var/lang/bin/python3.12
    env: dict[str, str]  # exactly the worker's environment (AWS_LAMBDA_RUNTIME_API is added here)
    memory_mb: int
    tmp_mb: int
    hide: tuple[str, ...]
    uid: int
    gid: int


class OutputCapture:
    """Reads a worker's output pipe on a thread of its own; ``sync`` + ``take`` give the lines written so far."""

    def __init__(self, stream: object, on_eof: Callable[[], None]) -> None:
        self._fd = stream.fileno()  # type: ignore[attr-defined]
        os.set_blocking(self._fd, False)
        self._stream = stream  # kept open (and referenced) as long as we read its descriptor
        self._on_eof = on_eof
        self._wake_r, self._wake_w = os.pipe()
        self._lines: list[Line] = []
        self._partial = b""
        self._lock = threading.Lock()
        self._synced = threading.Event()
        self._eof = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lambda-worker-output", daemon=True)
        self._thread.start()

    def _feed(self, chunk: bytes) -> None:
        stamp = now_ms()
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        if len(self._partial) > _MAX_LINE:
            complete.append(self._partial)
            self._partial = b""
        with self._lock:
            self._lines.extend((stamp, line.decode("utf-8", "replace")) for line in complete)

    def _flush_partial(self) -> None:
        if self._partial:
            line, self._partial = self._partial, b""
            with self._lock:
                self._lines.append((now_ms(), line.decode("utf-8", "replace")))

    def _drain(self) -> bool:
        """Read until the pipe is empty; False at end of file."""
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            self._feed(chunk)

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._fd, selectors.EVENT_READ, "output")
        selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while True:
                for key, _ in selector.select():
                    if key.data == "wake":
                        os.read(self._wake_r, 64)
                        alive = self._drain()
                        self._flush_partial()
                        self._synced.set()
                    else:
                        alive = self._drain()
                    if not alive:
                        return
        finally:
            self._flush_partial()
            selector.close()
            self._eof.set()
            self._synced.set()
            self._on_eof()

    def sync(self, timeout: float = 2.0) -> None:
        """Wait until every byte written before this call is in the line buffer."""
        if self._eof.is_set():
            return
        self._synced.clear()
        os.write(self._wake_w, b"s")
        self._synced.wait(timeout)

    def wait_eof(self, timeout: float) -> None:
        self._eof.wait(timeout)

    def take(self) -> list[Line]:
        with self._lock:
            lines, self._lines = self._lines, []
        return lines

    def close(self) -> None:
        self._thread.join(timeout=2.0)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            self._stream.close()  # type: ignore[attr-defined]


class Worker:
    """One execution environment; the Runtime API's backend. Thread-safe: one invocation at a time by contract."""

    def __init__(self, spec: WorkerSpec, supervisor: Supervisor, on_stop: Callable[[], None] | None = None) -> None:
        self.spec = spec
        self._supervisor = supervisor
        self._on_stop = on_stop  # stops what belongs to this environment only (e.g. its secrets extension)
        self._cond = threading.Condition()
        self._pending: Invocation | None = None
        self._current: Invocation | None = None
        self._result: Outcome | None = None
        self._init_error: Outcome | None = None
        self._exit: Outcome | None = None
        self._ready = False
        self._closing = False
        self._stopped = False
        self.started_ns = 0
        self.init_ms: float | None = None  # INIT duration, known once the runtime first asks for an event
        self.invocations = 0
        self.last_used = time.monotonic()
        self._api: RuntimeApiServer | None = None
        self._child: Child | None = None
        self.output: OutputCapture | None = None

    # --- life cycle ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._api = RuntimeApiServer(self)
        spec = self.spec
        env = {**spec.env, "AWS_LAMBDA_RUNTIME_API": self._api.address}
        sandbox_spec = {
            "mounts": spec.mounts,
            "tmp_mb": spec.tmp_mb,
            "memory_mb": spec.memory_mb,
            "hide": list(spec.hide),
            "uid": spec.uid,
            "gid": spec.gid,
            "parent": os.getpid(),
            "argv": [spec.interpreter, "/var/rapid/lambda_bootstrap.py", str(os.getpid())],
            "env": env,
        }
        self.started_ns = time.perf_counter_ns()
        self._child = self._supervisor.spawn(
            spec.name,
            [sys.executable, "-I", "-S", str(SANDBOX_SCRIPT)],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        process = self._child.process
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(sandbox_spec).encode())
            process.stdin.close()
        except BrokenPipeError:
            pass  # it died at once; the output capture reports the exit
        self.output = OutputCapture(process.stdout, self._on_eof)

    @property
    def pid(self) -> int | None:
        return self._child.process.pid if self._child else None

    @property
    def alive(self) -> bool:
        with self._cond:
            return self._exit is None and not self._closing

    def stop(self, kill: bool = False) -> None:
        """Stop the process (SIGKILL at once when ``kill``) and the Runtime API server; idempotent."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = self._closing = True
            self._cond.notify_all()
        if self._child is not None:
            self._supervisor.stop(self._child, timeout=0.0 if kill else 1.0)
        if self.output is not None:
            self.output.wait_eof(2.0)
            self.output.close()
        if self._api is not None:
            self._api.close()
        if self._on_stop is not None:
            self._on_stop()

    def _on_eof(self) -> None:
        assert self._child is not None
        try:
            code = self._child.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            status = "output closed"
        elif code < 0:
            status = "signal: killed" if -code == 9 else f"signal: {-code}"
        else:
            status = f"exit status {code}"
        with self._cond:
            self._exit = Outcome("exited", exit_status=status)
            self._cond.notify_all()

    def max_memory_mb(self) -> int:
        """Peak resident memory of the worker (Lambda's "Max Memory Used")."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return max(1, round(int(line.split()[1]) / 1024))
        return 0

    # --- the emulator's side ---------------------------------------------------------------------------------------

    def wait_init(self, timeout: float) -> Outcome | None:
        """None once the function's INIT has finished; else how it failed ("timeout" after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._ready:
                if self._init_error is not None:
                    return self._init_error
                if self._exit is not None:
                    return self._exit
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return Outcome("timeout")
                self._cond.wait(remaining)
        return None

    def run(self, invocation: Invocation, timeout: float) -> Outcome:
        """Hand the event to the runtime and wait for its answer, its exit, or ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._result = None
            self._pending = invocation
            self.invocations += 1
            self._cond.notify_all()
            while self._result is None:
                if self._exit is not None:
                    self._pending = self._current = None
                    return self._exit
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._pending = self._current = None
                    return Outcome("timeout")
                self._cond.wait(remaining)
            result, self._result = self._result, None
        self.last_used = time.monotonic()
        return result

    # --- the Runtime API's side (RuntimeBackend) -------------------------------------------------------------------

    def next_invocation(self) -> Invocation | None:
        with self._cond:
            if not self._ready:
                self._ready = True
                self.init_ms = (time.perf_counter_ns() - self.started_ns) / 1e6
                self._cond.notify_all()
            while self._pending is None and not self._closing:
                self._cond.wait()
            if self._closing:
                return None
            invocation, self._pending = self._pending, None
            self._current = invocation
            return invocation

    def _finish(self, request_id: str, outcome: Outcome) -> bool:
        with self._cond:
            if self._current is None or self._current.request_id != request_id:
                return False
            self._current = None
            self._result = outcome
            self._cond.notify_all()
            return True

    def invocation_response(self, request_id: str, body: bytes) -> bool:
        return self._finish(request_id, Outcome("ok", body))

    def invocation_error(self, request_id: str, body: bytes, error_type: str) -> bool:
        return self._finish(request_id, Outcome("error", body, error_type))

    def init_error(self, body: bytes, error_type: str) -> None:
        with self._cond:
            self._init_error = Outcome("init_error", body, error_type)
            self._cond.notify_all()
