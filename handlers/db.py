"""One MySQL connection per role (writer, reader) per execution environment, and DB error classification.

Lambda runs one invocation at a time per execution environment, so a connection opened during one invocation
is reused by the next ones instead of paying TCP + TLS + authentication on every request. A connection that
failed is dropped and the next call opens a new one. Errors are classified by MySQL errno (pymysql maps
unknown errnos >= 1000, such as CHECK violations, to ``OperationalError``, so the exception class alone
cannot tell a dead server from a rejected row). Every network wait of a request is bounded by its
``Deadline`` (handlers/deadline.py).
"""

from __future__ import annotations

import contextlib
import enum
import ssl
from collections.abc import Callable
from typing import TypeVar

import pymysql
from pymysql.connections import Connection

from handlers.config import Settings, TlsMode
from handlers.credentials import CredentialSource, CredentialsUnavailable
from handlers.deadline import Deadline, DeadlineExceeded, call_timeout

T = TypeVar("T")

# The connection itself is gone or unusable: drop it; a request may be retried once on a new connection.
_CONNECTION_LOST = frozenset(
    {
        2002,  # can't connect through socket
        2003,  # can't connect to server (refused, timeout)
        2006,  # server has gone away
        2013,  # lost connection during query
        2055,  # lost connection at handshake / system error
        1053,  # server shutdown in progress
        1927,  # MariaDB: connection was killed
        4031,  # MySQL 8: disconnected by the server because of inactivity
        1152,  # aborted connection
        1158,  # network read error
        1159,  # network read timeout
        1160,  # network write error
        1161,  # network write timeout
    }
)
# The server is up but cannot take this statement now: worth retrying later (HTTP 503).
_BUSY = frozenset(
    {
        1040,  # too many connections
        1203,  # user has too many connections
        1205,  # lock wait timeout
        1213,  # deadlock, transaction rolled back
        1290,  # --read-only: after an Aurora failover the old writer is a reader now
        1836,  # read-only mode
        1792,  # read-only transaction
        3024,  # MySQL max_execution_time exceeded
        1969,  # MariaDB max_statement_time exceeded
        1045,  # access denied: the password changed and the secrets extension still serves the old one
        2026,  # TLS handshake failed
    }
)
# Statements that keep the connection healthy: no need to reconnect after these.
_KEEP_CONNECTION = frozenset({1205, 1213})
# The row itself was refused by a constraint: the request is wrong, nothing was written (HTTP 422).
_REJECTED = frozenset(
    {
        1048,  # column cannot be null
        1062,  # duplicate key
        1264,  # out of range value
        1265,  # data truncated
        1292,  # incorrect value
        1366,  # incorrect value for column
        1406,  # data too long
        1690,  # value out of range in an expression
        3819,  # MySQL 8: CHECK constraint violated
        4025,  # MariaDB: CHECK constraint failed
    }
)


class ErrorKind(enum.Enum):
    CONNECTION_LOST = "connection_lost"
    BUSY = "busy"
    REJECTED = "rejected"
    PERMANENT = "permanent"


class DatabaseUnavailable(RuntimeError):
    """The database cannot serve the request now; the client should retry later (HTTP 503)."""


class DatabaseRejected(RuntimeError):
    """A constraint refused the data (HTTP 422); the transaction was rolled back."""


class DatabaseFailure(RuntimeError):
    """A non-retryable database error such as a missing table (HTTP 500, details only in the log)."""


def errno_of(exc: BaseException) -> int | None:
    """The MySQL error number carried by a pymysql exception, if any."""
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def classify(exc: BaseException) -> ErrorKind:
    """Map a pymysql (or socket) exception to what the handler should do about it."""
    if isinstance(exc, (pymysql.err.InterfaceError, OSError)):
        return ErrorKind.CONNECTION_LOST  # "(0, '')": the socket was closed under us
    code = errno_of(exc)
    if code is None or code in _CONNECTION_LOST:
        return ErrorKind.CONNECTION_LOST
    if code in _BUSY:
        return ErrorKind.BUSY
    if code in _REJECTED:
        return ErrorKind.REJECTED
    return ErrorKind.PERMANENT


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The SSLContext for ``settings.tls_mode``; None means plaintext (local tests only).

    Passing an SSLContext makes pymysql *require* TLS: it refuses a server that does not offer it instead of
    silently falling back to plaintext (its behaviour when no TLS option is given).
    """
    if settings.tls_mode is TlsMode.DISABLED:
        return None
    if settings.tls_mode is TlsMode.REQUIRED:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # encryption only: no RDS CA bundle to verify against
    else:
        context = ssl.create_default_context(cafile=str(settings.tls_ca_bundle))
        context.check_hostname = settings.tls_mode is TlsMode.VERIFY_IDENTITY
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ConnectionSlot:
    """Holds at most one open connection to one endpoint and knows how to open a new one."""

    def __init__(
        self,
        host: str,
        settings: Settings,
        credentials: CredentialSource,
        autocommit: bool,
        use_database: bool = True,
    ) -> None:
        self.host = host
        self._database = settings.database if use_database else None  # None: the migration creates it
        self._settings = settings
        self._credentials = credentials
        self._autocommit = autocommit
        self._tls = tls_context(settings)
        self._connection: Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    def acquire(self, deadline: Deadline | None = None) -> Connection:
        """The open connection, or a new one (raises ``DatabaseUnavailable`` when none can be opened in time)."""
        if self._connection is None:
            self._connection = self._open(deadline)
        return self._connection

    def discard(self) -> None:
        """Drop the connection without waiting for the server (it may be gone)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            # close() sends COM_QUIT, ignores a write failure on a dead socket and always closes it.
            with contextlib.suppress(pymysql.MySQLError, OSError):
                connection.close()

    def _open(self, deadline: Deadline | None) -> Connection:
        settings = self._settings
        try:
            credentials = self._credentials.get(deadline)
            wait = call_timeout(deadline, settings.connect_timeout_seconds)
            return pymysql.connect(
                host=self.host,
                port=settings.port,
                user=credentials.username,
                password=credentials.password,
                database=self._database,
                charset="utf8mb4",
                autocommit=self._autocommit,
                connect_timeout=wait,
                read_timeout=wait,  # the handshake; each statement sets its own bound (``run``)
                write_timeout=wait,
                ssl=self._tls,
                ssl_disabled=self._tls is None,
                # Strict mode turns silent truncation into errors; UTC so DATETIME values mean the same everywhere.
                init_command="SET SESSION sql_mode='STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone='+00:00'",
            )
        except (CredentialsUnavailable, DeadlineExceeded) as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        except (pymysql.MySQLError, OSError) as exc:
            raise DatabaseUnavailable(f"cannot connect to {self.host}: {exc}") from exc


class Database:
    """The writer and (optional) reader connections of one execution environment."""

    def __init__(self, settings: Settings, credentials: CredentialSource) -> None:
        # Writer: explicit transactions (INSERT + COMMIT). Reader: autocommit, so a long-lived connection does
        # not keep reading one old REPEATABLE READ snapshot.
        self.query_timeout = float(settings.query_timeout_seconds)
        self.writer = ConnectionSlot(settings.writer_host, settings, credentials, autocommit=False)
        self.reader = (
            ConnectionSlot(settings.reader_host, settings, credentials, autocommit=True)
            if settings.reader_host
            else None
        )

    def on_writer(self, work: Callable[[Connection], T], deadline: Deadline | None) -> T:
        return run(self.writer, work, deadline, self.query_timeout)

    def on_reader(self, work: Callable[[Connection], T], deadline: Deadline | None) -> T:
        return run(self.reader or self.writer, work, deadline, self.query_timeout)

    def ping(self, deadline: Deadline | None) -> dict[str, str | None]:
        """COM_PING each endpoint (one round trip, opening the connection if needed): role -> None or the problem.

        Without a separate reader the reader *is* the writer: it is not pinged twice, and the caller reports it
        as such.
        """
        problems: dict[str, str | None] = {}
        for role, slot in (("writer", self.writer), ("reader", self.reader)):
            if slot is None:
                continue
            try:
                run(slot, lambda connection: connection.ping(reconnect=False), deadline, self.query_timeout)
                problems[role] = None
            except (DatabaseUnavailable, DatabaseFailure) as exc:
                problems[role] = str(exc)
        return problems

    def close(self) -> None:
        for slot in (self.writer, self.reader):
            if slot is not None:
                slot.discard()


def run(
    slot: ConnectionSlot,
    work: Callable[[Connection], T],
    deadline: Deadline | None = None,
    query_timeout: float = 10.0,
) -> T:
    """Run ``work`` on the slot's connection and translate database errors into the three outcomes.

    ``work`` must be safe to run twice: when a connection that served earlier invocations turns out to be dead
    (server restart, idle timeout, failover) it is retried once on a new connection. The trade insert is
    idempotent by client order id, so a retry after a lost COMMIT finds the committed row instead of adding one.
    A statement that outlives the deadline loses its socket, so the server rolls back what was not committed.
    """
    for attempt in (1, 2):
        reused = slot.is_open
        connection = slot.acquire(deadline)
        try:
            bound_socket_waits(connection, call_timeout(deadline, query_timeout))
            return work(connection)
        except DeadlineExceeded as exc:
            _rollback_quietly(connection)  # raised between statements: the connection itself is fine
            raise DatabaseUnavailable(str(exc)) from exc
        except (pymysql.MySQLError, OSError) as exc:
            kind = classify(exc)
            if kind is ErrorKind.CONNECTION_LOST:
                slot.discard()
                if reused and attempt == 1:
                    continue
                raise DatabaseUnavailable(f"lost the connection to {slot.host}: {exc}") from exc
            _rollback_quietly(connection)
            if kind is ErrorKind.BUSY:
                if errno_of(exc) not in _KEEP_CONNECTION:
                    slot.discard()
                raise DatabaseUnavailable(f"{slot.host} is busy: {exc}") from exc
            if kind is ErrorKind.REJECTED:
                raise DatabaseRejected(str(exc)) from exc
            slot.discard()  # unknown state: start clean next time
            raise DatabaseFailure(str(exc)) from exc
        except BaseException:
            # Anything else (a bug) leaves the transaction state unknown; ``work`` returns normal outcomes
            # such as a conflicting trade instead of raising them, so this never drops a healthy connection.
            slot.discard()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def bound_socket_waits(connection: Connection, seconds: float) -> None:
    """Make every read and write on ``connection`` give up after ``seconds`` (until the next call).

    PyMySQL has no public setter after connecting, but it applies ``_read_timeout``/``_write_timeout`` to the
    socket before every packet it reads or writes (PyMySQL >= 1.1; the exact version is pinned in
    handlers/requirements.lock and tests/handlers/test_handlers_deadline.py proves the behaviour).
    """
    connection._read_timeout = seconds
    connection._write_timeout = seconds


def _rollback_quietly(connection: Connection) -> None:
    # A failed rollback means a broken connection, which the caller drops when it matters.
    with contextlib.suppress(pymysql.MySQLError, OSError):
        connection.rollback()
