"""Child processes of the emulator (Lambda workers, database servers): started from one thread, never orphaned.

Three layers, one per way the emulator can end:

- a graceful stop (SIGTERM, ``make emulator-stop``): ``Supervisor.close`` terminates every child's process group
  and removes the run directory;
- SIGKILL or a crash: every child is started with ``PR_SET_PDEATHSIG`` = SIGKILL. The kernel fires it when the
  *thread* that forked the child exits, and werkzeug serves each request on a short-lived thread, so all children
  are forked by one long-lived spawner thread. The janitor process (``janitor.py``) then also kills whatever is
  still listed (grandchildren included) and removes the run directory;
- a janitor that never ran: the next server start sweeps run directories whose server is gone.

Children are session leaders (their own process group), so stopping one also stops what it started.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_cloud import janitor

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    started: int  # start time in clock ticks (janitor.start_time), tells the PID apart from a recycled one


@dataclass
class _Request:
    name: str
    args: Sequence[str]
    kwargs: dict[str, Any]
    result: Future[Child] = field(default_factory=Future)


def _die_with(parent_pid: int) -> None:
    """Runs in the child between fork and exec: die when the spawner thread (and so the emulator) goes away."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


class Supervisor:
    """Starts, tracks and stops the emulator's child processes; one per server."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=False)
        self._children: dict[int, Child] = {}
        self._lock = threading.Lock()
        self._requests: queue.Queue[_Request | None] = queue.Queue()
        self._closed = False
        own = janitor.start_time(os.getpid())
        (run_dir / janitor.SERVER_FILE).write_text(f"{os.getpid()} {own}\n")
        self._spawner = threading.Thread(target=self._spawn_loop, name="local-cloud-spawner", daemon=True)
        self._spawner.start()
        # Started directly, not by the spawner: it must survive the server, so it gets no death signal.
        self._janitor = subprocess.Popen(
            [sys.executable, "-I", str(Path(janitor.__file__)), str(os.getpid()), str(own), str(run_dir)],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def spawn(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
        stdin: Any = subprocess.DEVNULL,
        stdout: Any = None,
        stderr: Any = None,
        pass_fds: Sequence[int] = (),
    ) -> Child:
        """Start ``args`` from the spawner thread and return it once running (raises what Popen raises)."""
        if self._closed:
            raise RuntimeError("the emulator is stopping: no new processes")
        request = _Request(
            name,
            list(args),
            {
                "env": dict(env) if env is not None else None,
                "cwd": cwd,
                "stdin": stdin,
                "stdout": stdout,
                "stderr": stderr,
                "pass_fds": tuple(pass_fds),
            },
        )
        self._requests.put(request)
        return request.result.result()

    def stop(self, child: Child, timeout: float = 5.0) -> int | None:
        """SIGTERM the child's process group, SIGKILL it after ``timeout``; returns the exit code."""
        process = child.process
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
        # Descendants may outlive their leader; the group is gone only when they are.
        _signal_group(process.pid, signal.SIGKILL)
        self._forget(process.pid)
        return process.returncode

    def children(self) -> list[Child]:
        with self._lock:
            return list(self._children.values())

    def close(self, timeout: float = 5.0) -> None:
        """Stop every child, the spawner and the janitor, and remove the run directory."""
        self._closed = True
        children = self.children()
        for child in children:
            if child.process.poll() is None:
                _signal_group(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(max(0.0, deadline - time.monotonic()))
            _signal_group(child.process.pid, signal.SIGKILL)
            child.process.wait()
            self._forget(child.process.pid)
        self._requests.put(None)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        # The run directory is gone, so the janitor exits by itself within a poll; do not wait for it to notice.
        self._janitor.terminate()
        self._janitor.wait()

    def _spawn_loop(self) -> None:
        parent = os.getpid()
        while (request := self._requests.get()) is not None:
            try:
                process = subprocess.Popen(
                    request.args,
                    start_new_session=True,
                    preexec_fn=lambda: _die_with(parent),  # evaluated in the child
                    **request.kwargs,
                )
            except BaseException as exc:  # handed to the caller
                request.result.set_exception(exc)
                continue
            child = Child(request.name, process, janitor.start_time(process.pid) or 0)
            with self._lock:
                self._children[process.pid] = child
                self._write_registry()
            request.result.set_result(child)

    def _forget(self, pid: int) -> None:
        with self._lock:
            if self._children.pop(pid, None) is not None:
                self._write_registry()

    def _write_registry(self) -> None:
        # Caller holds the lock. Written whole and renamed, so the janitor never reads half a file.
        if not self.run_dir.exists():
            return
        lines = "".join(f"{pid} {child.started} {child.name}\n" for pid, child in self._children.items())
        tmp = self.run_dir / f".{janitor.CHILDREN_FILE}.tmp"
        tmp.write_text(lines)
        tmp.replace(self.run_dir / janitor.CHILDREN_FILE)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
