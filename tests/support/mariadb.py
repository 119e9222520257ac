"""A private, throw-away MariaDB server for tests and benchmarks (MySQL-compatible, no Docker needed).

How to run the server is defined once, in ``local_cloud/mariadb.py`` (the emulator runs every Aurora cluster the
same way); this is its face for tests: ``MariaDB.create(directory)`` prepares a data directory (a copy of the
cached template); ``start()`` runs ``mariadbd`` on a free loopback port and waits until it accepts connections;
``stop()`` shuts it down and waits for the process itself; ``kill()`` SIGKILLs it to simulate a crash, and
``start()`` again restarts it on the same port and data. Unlike an emulated cluster, root may connect over TCP
without a password (``connect()``), and TLS is offered but not required.

When the binaries are missing the fixture fails with the command to install them: these tests are never silently
skipped.

Use the session fixture from another conftest with ``from tests.support.mariadb import mariadb_server``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import pymysql
import pytest

from local_cloud import tls as local_tls
from local_cloud.mariadb import INSTALL_HINT, MariaDBNotInstalled, ServerSpec, find_binary, free_port
from local_cloud.tls import TlsFiles

__all__ = [
    "INSTALL_HINT",
    "MariaDB",
    "MariaDBNotInstalled",
    "TlsFiles",
    "find_binary",
    "free_port",
    "make_tls_files",
    "mariadb_server",
]


def make_tls_files(directory: Path, common_name: str = "Test MariaDB CA") -> TlsFiles:
    """Write a throw-away CA and a server certificate it signed (SANs ``localhost`` and ``127.0.0.1``)."""
    authority = local_tls.new_authority(directory, common_name)
    return authority.issue(directory, ["localhost"], ["127.0.0.1"])


class MariaDB:
    """One private server: data, socket, pid and log files all under ``directory``."""

    host = "127.0.0.1"
    user = "root"
    password = ""

    def __init__(self, directory: Path, port: int, tls: TlsFiles | None) -> None:
        self.directory = directory
        self.port = port
        self.spec = ServerSpec(directory, port, tls)
        self.datadir = self.spec.datadir
        self.log_path = self.spec.log_path
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, directory: Path | None = None, *, tls: bool = False, port: int | None = None) -> MariaDB:
        """Prepare a new data directory (``directory`` defaults to a new temporary folder)."""
        find_binary("mariadbd")
        directory = Path(directory or tempfile.mkdtemp(prefix="mariadb-"))
        server = cls(directory, port or free_port(), make_tls_files(directory / "tls") if tls else None)
        server.spec.initialise()
        return server

    @property
    def tls(self) -> TlsFiles | None:
        return self.spec.tls

    @tls.setter
    def tls(self, files: TlsFiles | None) -> None:
        """Serve other certificates from the next start on (a test may swap them before starting)."""
        self.spec = dataclasses.replace(self.spec, tls=files)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def connect(self, **kwargs: Any) -> pymysql.connections.Connection:
        """A root connection over TCP (plaintext unless ``ssl`` options are passed)."""
        options: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "connect_timeout": 5,
            "ssl_disabled": True,
            "autocommit": True,
        }
        options.update(kwargs)
        return pymysql.connect(**options)

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (again, after ``stop``/``kill``) and wait until it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the server is already running")
        self.process = subprocess.Popen(
            self.spec.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            self.spec.wait_ready(self.process, timeout)
        except Exception:
            self.kill()
            raise

    def stop(self, timeout: float = 60.0) -> None:
        """Graceful shutdown (SIGTERM), then wait for the process to be gone."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Crash the server (SIGKILL) and wait until the process is gone."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(timeout=30)

    def destroy(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        return self.spec.log_tail(lines)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()


@contextlib.contextmanager
def running_server(directory: Path, tls: bool) -> Iterator[MariaDB]:
    """A started MariaDB in ``directory``, stopped afterwards; the test fails in one line when MariaDB is missing."""
    try:
        server = MariaDB.create(directory, tls=tls)
    except MariaDBNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A running MariaDB with TLS enabled (plaintext connections are accepted too), for the whole session."""
    with running_server(tmp_path_factory.mktemp("mariadb"), tls=True) as server:
        yield server
