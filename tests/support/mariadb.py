"""A private, throw-away MariaDB server for tests and benchmarks (MySQL-compatible, no Docker needed).

``MariaDB.create(directory)`` initialises a data directory with ``mariadb-install-db``; ``start()`` runs
``mariadbd`` on a free loopback port and waits until it accepts connections; ``stop()`` shuts it down and
waits for the process itself (``mariadb-admin shutdown`` returns before the server has exited); ``kill()``
SIGKILLs it to simulate a crash, and ``start()`` again restarts it on the same port and data.

The binaries come from the Debian packages ``mariadb-server-core`` and ``mariadb-client-core`` (``mariadbd``
is in /usr/sbin, often not on PATH). When they are missing the fixture fails with the command to install them:
these tests are never silently skipped.

Use the session fixture from another conftest with ``from tests.support.mariadb import mariadb_server``.
"""

from __future__ import annotations

import datetime
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pymysql
import pytest

INSTALL_HINT = "apt-get install -y mariadb-server-core mariadb-client-core"
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin", "/sbin"]
)
# Small InnoDB files make install + start take about a second; durability settings stay at their defaults
# (flush at every commit), so a SIGKILL loses no committed transaction.
_SERVER_OPTIONS = ("--innodb-log-file-size=16M", "--innodb-buffer-pool-size=64M", "--max-connections=200")


class MariaDBNotInstalled(RuntimeError):
    pass


def find_binary(name: str) -> str:
    path = shutil.which(name, path=_SEARCH_PATH)
    if path is None:
        raise MariaDBNotInstalled(
            f"`{name}` was not found (searched PATH and the sbin folders). The MariaDB test server needs the "
            f"Debian packages mariadb-server-core and mariadb-client-core: {INSTALL_HINT}"
        )
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class TlsFiles:
    """A throw-away CA and a server certificate for 127.0.0.1 / localhost."""

    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path, common_name: str = "Test MariaDB CA") -> TlsFiles:
    """Write a self-signed CA and a server certificate it signed (SANs ``localhost`` and ``127.0.0.1``)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(ca=directory / "ca.pem", cert=directory / "server-cert.pem", key=directory / "server-key.pem")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return files


class MariaDB:
    """One private server: data, socket, pid and log files all under ``directory``."""

    host = "127.0.0.1"
    user = "root"
    password = ""

    def __init__(self, directory: Path, port: int, tls: TlsFiles | None) -> None:
        self.directory = directory
        self.datadir = directory / "data"
        self.port = port
        self.tls = tls
        self.log_path = directory / "mariadbd.log"
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, directory: Path | None = None, *, tls: bool = False, port: int | None = None) -> MariaDB:
        """Initialise a new data directory (``directory`` defaults to a new temporary folder)."""
        install_db = find_binary("mariadb-install-db")
        find_binary("mariadbd")
        directory = Path(directory or tempfile.mkdtemp(prefix="mariadb-"))
        server = cls(directory, port or free_port(), make_tls_files(directory / "tls") if tls else None)
        server.datadir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                install_db,
                "--no-defaults",
                f"--datadir={server.datadir}",
                f"--user={getpass.getuser()}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *_SERVER_OPTIONS,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return server

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
        command = [
            find_binary("mariadbd"),
            "--no-defaults",
            f"--user={getpass.getuser()}",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.directory / 'mysqld.sock'}",
            f"--pid-file={self.directory / 'mysqld.pid'}",
            f"--log-error={self.log_path}",
            "--skip-name-resolve",
            *_SERVER_OPTIONS,
        ]
        if self.tls is not None:
            command += [f"--ssl-ca={self.tls.ca}", f"--ssl-cert={self.tls.cert}", f"--ssl-key={self.tls.key}"]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.connect(connect_timeout=1).close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"mariadbd was not ready after {timeout} s:\n{self.log_tail()}") from None
                time.sleep(0.05)

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
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A running MariaDB with TLS enabled (plaintext connections are accepted too), for the whole session."""
    try:
        server = MariaDB.create(tmp_path_factory.mktemp("mariadb"), tls=True)
    except MariaDBNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()
