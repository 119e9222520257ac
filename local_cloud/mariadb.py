"""How to run a private MariaDB server (the MySQL-compatible stand-in for Aurora MySQL): the one definition.

Used by the emulator (one server per Aurora cluster, ``local_cloud/rds_servers.py``) and by the tests and
benchmarks (``tests/support/mariadb.py``). Who starts the process is the caller's business (the emulator's
supervisor, or a plain ``subprocess.Popen``); this module says what to run, prepares the data directory, waits
until the server is ready and talks to it as its administrator.

- Data directories are copies of a template made once by ``mariadb-install-db`` and kept per checkout under
  ``.cache/local_cloud/mariadb/`` (keyed by server version and install options): a copy takes milliseconds where
  ``mariadb-install-db`` takes seconds.
- The administrator is ``root@localhost`` over the server's Unix socket, which lives in the server's own
  data directory; ``ServerSpec.restrict_root`` drops the TCP root accounts, so on an emulated cluster only the
  emulator is root (the part ``rdsadmin`` plays on RDS), and clients see the master user alone.
- Server defaults follow MySQL 8.0 (Aurora MySQL 3) where MariaDB's differ: utf8mb4 with the accent- and
  case-insensitive UCA collation (MariaDB's counterpart of ``utf8mb4_0900_ai_ci``) and MySQL 8.0's ``sql_mode``.

The binaries come from Debian's ``mariadb-server-core`` (``mariadbd``, ``mariadb-install-db``) and
``mariadb-client`` (``mariadb``, ``mariadb-dump``); ``tools/bootstrap.sh`` installs them.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from local_cloud.tls import TlsFiles
from python_stacks import project

INSTALL_HINT = "apt-get install -y mariadb-server-core mariadb-client"
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin", "/sbin"]
)
# Small InnoDB files keep a data directory at about 35 MB (the default redo log alone is 96 MB) and make a start
# take well under a second; durability stays at its defaults (flush at every commit), so a SIGKILL loses no
# committed transaction.
_FILE_OPTIONS = ("--innodb-log-file-size=16M", "--innodb-buffer-pool-size=64M")
SERVER_OPTIONS = (
    *_FILE_OPTIONS,
    "--max-connections=200",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_uca1400_ai_ci",
    "--sql-mode=ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION",
)
# Only what shapes the files: a collation given to mariadb-install-db would stick to the views it creates in
# ``mysql`` (``mysql.user``), and mariadb-dump's own queries on them then fail with "Illegal mix of collations".
_INSTALL_OPTIONS = ("--auth-root-authentication-method=normal", "--skip-test-db")
# Databases of the server itself: never dumped, never restored.
SYSTEM_DATABASES = frozenset({"mysql", "information_schema", "performance_schema", "sys"})


class MariaDBNotInstalled(RuntimeError):
    pass


class MariaDBError(RuntimeError):
    """The server or one of its tools failed; the message carries its output."""


def find_binary(name: str) -> str:
    path = shutil.which(name, path=_SEARCH_PATH)
    if path is None:
        raise MariaDBNotInstalled(
            f"`{name}` was not found (searched PATH and the sbin folders). The MariaDB server needs the Debian "
            f"packages mariadb-server-core and mariadb-client: {INSTALL_HINT}"
        )
    return path


def free_port() -> int:
    """A loopback port free right now (another process may take it before it is bound: callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cache_dir() -> Path:
    return project.cache_dir() / "local_cloud" / "mariadb"


def template_dir() -> Path:
    """A data directory as ``mariadb-install-db`` leaves it, made once per server version and install options.

    Built in a scratch directory and renamed into place (atomic), so parallel callers never see half of one.
    """
    version = subprocess.run(
        [find_binary("mariadbd"), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    key = hashlib.sha256("\n".join([version, *_INSTALL_OPTIONS, *_FILE_OPTIONS]).encode()).hexdigest()[:16]
    template = cache_dir() / f"template-{key}"
    if template.is_dir():
        return template
    template.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".template-", dir=template.parent))
    try:
        result = subprocess.run(
            [
                find_binary("mariadb-install-db"),
                "--no-defaults",
                f"--datadir={scratch}",
                f"--user={getpass.getuser()}",
                *_INSTALL_OPTIONS,
                *_FILE_OPTIONS,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise MariaDBError(f"mariadb-install-db failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        try:
            scratch.rename(template)
        except OSError:
            if not template.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return template


SOCKET_NAME = "mysqld.sock"
PID_FILE = "mysqld.pid"


def socket_of(pid: int) -> str:
    """The Unix socket of the server with this PID, through its working directory (see ``ServerSpec.socket``)."""
    return f"/proc/{pid}/cwd/{SOCKET_NAME}"


@dataclass(frozen=True)
class ServerSpec:
    """One private server: data, socket, pid and log files all under ``directory``; TCP on 127.0.0.1:``port``."""

    directory: Path
    port: int
    tls: TlsFiles | None = None
    # Refuse TCP connections without TLS (the Unix socket counts as secure), as Aurora's parameter group does.
    require_secure_transport: bool = False

    host = "127.0.0.1"

    @property
    def datadir(self) -> Path:
        return self.directory / "data"

    @property
    def socket(self) -> str:
        """Where clients reach the server's Unix socket.

        A socket path must fit in 107 bytes, which a deep checkout (``…/.cache/emulator/run-<pid>/rds/<cluster>/``)
        exceeds. So the server creates the socket under a relative name in its working directory (mariadbd works
        in its data directory), and clients go through ``/proc/<pid>/cwd``: short at any depth, and as private as
        the directory (only the server's owner may follow another process's cwd).
        """
        try:
            pid = int((self.directory / PID_FILE).read_text())
        except (OSError, ValueError):
            return str(self.datadir / SOCKET_NAME)  # not started yet: connecting fails and the caller retries
        return socket_of(pid)

    @property
    def log_path(self) -> Path:
        return self.directory / "mariadbd.log"

    def initialise(self) -> None:
        """A fresh data directory, copied from the template."""
        if self.datadir.exists():
            raise MariaDBError(f"{self.datadir} already exists")
        self.directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(template_dir(), self.datadir, symlinks=True)

    def command(self) -> list[str]:
        command = [
            find_binary("mariadbd"),
            "--no-defaults",
            f"--user={getpass.getuser()}",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            f"--bind-address={self.host}",
            f"--socket={SOCKET_NAME}",  # relative: created in the data directory (see ``socket``)
            f"--pid-file={self.directory / PID_FILE}",
            f"--log-error={self.log_path}",
            "--skip-name-resolve",
            *SERVER_OPTIONS,
        ]
        if self.tls is not None:
            command += [f"--ssl-ca={self.tls.ca}", f"--ssl-cert={self.tls.cert}", f"--ssl-key={self.tls.key}"]
        if self.require_secure_transport:
            command.append("--require-secure-transport=ON")
        return command

    def admin(self, **kwargs: Any) -> pymysql.connections.Connection:
        """``root`` over the Unix socket."""
        options: dict[str, Any] = {
            "unix_socket": self.socket,
            "user": "root",
            "password": "",
            "autocommit": True,
            "connect_timeout": 5,
        }
        options.update(kwargs)
        return pymysql.connect(**options)

    def wait_ready(self, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
        """Return once the server accepts connections; raise (with its log) if it exits or stays silent."""
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise MariaDBError(f"mariadbd exited with {process.returncode}:\n{self.log_tail()}")
            try:
                # By the process, not the pid file: after a crash the file names the dead server until the new one
                # rewrites it, which would make the restart look later than it is.
                self.admin(connect_timeout=1, unix_socket=socket_of(process.pid)).close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise MariaDBError(f"mariadbd was not ready after {timeout} s:\n{self.log_tail()}") from None
                time.sleep(0.02)

    def port_in_use(self) -> bool:
        """True when the server failed because another process holds its port (the caller retries elsewhere)."""
        return "Address already in use" in self.log_tail()

    def restrict_root(self) -> None:
        """Leave ``root@localhost`` (Unix socket only, given ``--skip-name-resolve``) as the only root account."""
        with self.admin() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT host FROM mysql.user WHERE user = 'root' AND host <> 'localhost'")
            for (host,) in cursor.fetchall():
                cursor.execute("DROP USER 'root'@%s", (host,))

    def user_databases(self) -> list[str]:
        with self.admin() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW DATABASES")
            return sorted(name for (name,) in cursor.fetchall() if name not in SYSTEM_DATABASES)

    def dump(self, path: Path) -> None:
        """A consistent logical dump: every user database (schema, rows, routines, triggers, events) and every
        account with its password hash and grants (``--system=users``, written after the tables it grants on)."""
        databases = self.user_databases()
        command = [
            find_binary("mariadb-dump"),
            "--no-defaults",
            f"--socket={self.socket}",
            "--user=root",
            "--single-transaction",
            "--hex-blob",
            "--routines",
            "--triggers",
            "--events",
            "--skip-dump-date",
            "--default-character-set=utf8mb4",
            "--system=users",
            "--insert-ignore",
        ]
        if databases:
            command += ["--databases", *databases]
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.tmp")
        with open(scratch, "wb") as out:
            result = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, check=False)
        if result.returncode != 0:
            scratch.unlink(missing_ok=True)
            raise MariaDBError(f"mariadb-dump failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
        scratch.replace(path)

    def load(self, path: Path) -> None:
        """Run a dump made by ``dump`` (accounts that exist already keep their password: ``--insert-ignore``)."""
        with open(path, "rb") as dump:
            result = subprocess.run(
                [
                    find_binary("mariadb"),
                    "--no-defaults",
                    f"--socket={self.socket}",
                    "--user=root",
                    "--default-character-set=utf8mb4",
                    "--batch",
                ],
                stdin=dump,
                capture_output=True,
                check=False,
            )
        if result.returncode != 0:
            raise MariaDBError(
                f"loading {path.name} failed ({result.returncode}): {result.stderr.decode(errors='replace').strip()}"
            )

    def execute(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        """Run parameterised statements as root."""
        with self.admin() as connection, connection.cursor() as cursor:
            for sql, args in statements:
                cursor.execute(sql, args or None)  # no args: no %-formatting of the statement

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"
