"""The local AWS endpoint: the emulator server (local_cloud, moto plus its extensions) on loopback, started once
and found again through its PID file.

Usage: ``python -m tools.emulator start|stop|status|reset [--port N]`` (default port from LOCAL_AWS_ENDPOINT or
4566). ``start`` reuses a healthy server already running on the port.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from python_stacks.project import CACHE_DIR, ROOT
from python_stacks.target import TEST_ACCESS_KEY, TEST_SECRET_KEY

DEFAULT_PORT = 4566
HOST = "127.0.0.1"

# What the PID file's process must be running for it to count as our server (PIDs wrap).
SERVER_MODULE = "local_cloud.server"


class EmulatorError(RuntimeError):
    pass


@dataclass(frozen=True)
class Emulator:
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def state_dir(self) -> Path:
        return CACHE_DIR / "emulator"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"moto-{self.port}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"moto-{self.port}.log"

    def healthy(self) -> bool:
        """True when an AWS API answers on the port (STS GetCallerIdentity: cheap at any emulator size)."""
        request = urllib.request.Request(
            self.endpoint,
            data=b"Action=GetCallerIdentity&Version=2011-06-15",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sts/aws4_request",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status == 200 and b"GetCallerIdentityResponse" in response.read()
        except (urllib.error.URLError, OSError):
            return False

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        # PIDs wrap: a stale file may name an unrelated process. Only our server on our port counts.
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return pid  # no /proc (not Linux): trust the file
        if SERVER_MODULE.encode() not in cmdline or str(self.port).encode() not in cmdline:
            return None
        return pid

    @classmethod
    def private(cls, attempts: int = 5) -> Emulator:
        """A server of its own on a free loopback port (tests, gates, benchmarks), never shared.

        Two processes can be handed the same free port before either binds it; the loser retries elsewhere.
        """
        for _ in range(attempts):
            emulator = cls(free_port())
            try:
                emulator.start(reuse=False)
            except EmulatorError:
                continue
            return emulator
        raise EmulatorError(f"no private moto server could start after {attempts} ports; see {CACHE_DIR}/emulator")

    def start(self, timeout: float = 30.0, reuse: bool = True) -> bool:
        """Start the server unless one is healthy on the port (reuse); returns True when this call started it."""
        if self.healthy():
            if reuse:
                return False
            raise EmulatorError(f"port {self.port} is already served by another emulator")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    SERVER_MODULE,
                    "-H",
                    HOST,
                    "-p",
                    str(self.port),
                    "--run-root",
                    str(self.state_dir),
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the make/pytest process that started it
            )
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise EmulatorError(f"moto server exited with {process.returncode}; see {self.log_file}")
            if self.healthy():
                return True
            time.sleep(0.2)
        self.stop()
        raise EmulatorError(f"moto server not ready on {self.endpoint} after {timeout:.0f}s; see {self.log_file}")

    def stop(self, timeout: float = 15.0) -> bool:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


def aws_client(endpoint: str, service: str, region: str = "us-east-1") -> Any:
    """A boto3 client of ``service`` talking to the emulator at ``endpoint``."""
    import boto3

    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=TEST_ACCESS_KEY,
        aws_secret_access_key=TEST_SECRET_KEY,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _alive(pid: int) -> bool:
    """True while the process runs; reaps it when it is our own exited child (a zombie still answers kill 0)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def port_of(endpoint: str | None) -> int:
    return (urlparse(endpoint).port if endpoint else None) or DEFAULT_PORT


def default_port() -> int:
    endpoint = os.environ.get("LOCAL_AWS_ENDPOINT")
    return port_of(endpoint) if endpoint else DEFAULT_PORT


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status", "reset"])
    parser.add_argument("--port", type=int, default=default_port())
    args = parser.parse_args(argv)
    emulator = Emulator(args.port)
    try:
        if args.command == "start":
            started = emulator.start()
            print(f"emulator: {'started' if started else 'reusing'} moto server at {emulator.endpoint}")
        elif args.command == "stop":
            print(f"emulator: {'stopped' if emulator.stop() else 'not running (no PID file)'} on port {args.port}")
        elif args.command == "reset":
            emulator.reset()
            print(f"emulator: reset {emulator.endpoint}")
        else:
            state = "running" if emulator.healthy() else "not running"
            print(f"emulator: {state} at {emulator.endpoint} (pid {emulator.pid()})")
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
