"""The MariaDB servers behind the emulator's Aurora clusters: start, stop, dump, load, look up.

One server per cluster, started through the emulator's supervisor (so it never outlives the emulator), with its data
directory under the emulator's run directory, TLS from the emulator's CA (SANs: the cluster's endpoints) and
``require_secure_transport``. Its accounts are what RDS gives a new cluster: the master user with all privileges,
and the cluster's first database. The emulator itself administers it as root over the server's Unix socket.

Keyed by the cluster's resource id (``DbClusterResourceId``): it is unique and, unlike the identifier, the ARN and
the endpoints, survives a rename.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from local_cloud.mariadb import MariaDBError, ServerSpec, find_binary, free_port
from local_cloud.processes import Child, Supervisor
from local_cloud.tls import CertificateAuthority

PORT_ATTEMPTS = 5


@dataclass(frozen=True)
class ClusterIdentity:
    """What the server needs to know of the RDS cluster it stands for."""

    resource_id: str
    account_id: str
    region: str
    identifier: str
    endpoint: str
    reader_endpoint: str
    master_username: str
    secret_arn: str | None
    database_name: str | None

    @property
    def host_names(self) -> tuple[str, str]:
        return (self.endpoint, self.reader_endpoint)


@dataclass
class ClusterServer:
    identity: ClusterIdentity
    spec: ServerSpec
    child: Child | None = None  # None while the cluster is stopped

    @property
    def pid(self) -> int | None:
        return self.child.process.pid if self.child is not None else None

    @property
    def running(self) -> bool:
        return self.child is not None and self.child.process.poll() is None


class ClusterServers:
    def __init__(self, processes: Supervisor, root: Path, authority: CertificateAuthority) -> None:
        self._processes = processes
        self._root = root
        self._authority = authority
        self._servers: dict[str, ClusterServer] = {}
        self._lock = threading.Lock()
        find_binary("mariadb-dump")  # fail at emulator start, not at the first snapshot

    def __iter__(self) -> Iterator[ClusterServer]:
        with self._lock:
            return iter(list(self._servers.values()))

    def get(self, resource_id: str) -> ClusterServer | None:
        with self._lock:
            return self._servers.get(resource_id)

    def by_host(self, host: str) -> ClusterServer | None:
        host = host.rstrip(".").lower()
        return next((server for server in self if host in server.identity.host_names), None)

    def by_secret(self, secret_arn: str) -> ClusterServer | None:
        return next((server for server in self if server.identity.secret_arn == secret_arn), None)

    def create(self, identity: ClusterIdentity, master_password: str) -> ClusterServer:
        """A new server from the template: the master user, the cluster's database, nothing else."""
        directory = self._root / identity.resource_id
        tls = self._authority.issue(directory / "tls", list(identity.host_names), common_name=identity.identifier)
        spec = ServerSpec(directory, 0, tls, require_secure_transport=True)
        spec.initialise()
        server = ClusterServer(identity, spec)
        with self._lock:
            self._servers[identity.resource_id] = server
        try:
            self._spawn(server)
            spec = server.spec
            spec.restrict_root()
            statements: list[tuple[str, tuple[object, ...]]] = [
                ("CREATE USER %s@'%%' IDENTIFIED BY %s", (identity.master_username, master_password)),
                ("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (identity.master_username,)),
            ]
            if identity.database_name:
                statements.append((f"CREATE DATABASE IF NOT EXISTS {quote_identifier(identity.database_name)}", ()))
            spec.execute(statements)
        except BaseException:
            self.remove(identity.resource_id)
            raise
        return server

    def update(self, resource_id: str, identity: ClusterIdentity) -> None:
        """The cluster was renamed or got another secret: new endpoints need a new certificate (``FLUSH SSL``)."""
        server = self.get(resource_id)
        if server is None:
            return
        if identity.host_names != server.identity.host_names:
            self._authority.issue(
                server.spec.directory / "tls", list(identity.host_names), common_name=identity.identifier
            )
            if server.running:
                server.spec.execute([("FLUSH SSL", ())])
        server.identity = identity

    def set_master_password(self, resource_id: str, password: str) -> None:
        server = self._require(resource_id)
        server.spec.execute([("ALTER USER %s@'%%' IDENTIFIED BY %s", (server.identity.master_username, password))])

    def dump(self, resource_id: str, path: Path) -> None:
        self._require(resource_id).spec.dump(path)

    def load(self, resource_id: str, path: Path) -> None:
        self._require(resource_id).spec.load(path)

    def stop(self, resource_id: str) -> None:
        """Stop the process, keep the data (StopDBCluster)."""
        server = self.get(resource_id)
        if server is not None and server.child is not None:
            self._processes.stop(server.child, timeout=30)
            server.child = None

    def start(self, resource_id: str) -> None:
        """Start a stopped cluster's server again (StartDBCluster); it may get another local port."""
        server = self.get(resource_id)
        if server is not None and not server.running:
            self._spawn(server)

    def remove(self, resource_id: str) -> None:
        """Stop the server and delete its data directory."""
        with self._lock:
            server = self._servers.pop(resource_id, None)
        if server is None:
            return
        if server.child is not None:
            self._processes.stop(server.child, timeout=30)
            server.child = None
        shutil.rmtree(server.spec.directory, ignore_errors=True)

    def clear(self) -> None:
        # All at once: each server takes a fraction of a second to shut down, and a reset is one HTTP request.
        servers = list(self)
        if servers:
            with ThreadPoolExecutor(max_workers=len(servers)) as pool:
                list(pool.map(self.remove, [server.identity.resource_id for server in servers]))

    def _require(self, resource_id: str) -> ClusterServer:
        server = self.get(resource_id)
        if server is None or not server.running:
            raise MariaDBError(f"the database server of cluster {resource_id} is not running")
        return server

    def _spawn(self, server: ClusterServer) -> None:
        # A free port can be taken by someone else before mariadbd binds it: then try another one.
        for attempt in range(PORT_ATTEMPTS):
            server.spec = replace(server.spec, port=free_port())
            server.spec.log_path.unlink(missing_ok=True)
            child = self._processes.spawn(
                f"mariadbd {server.identity.identifier}",
                server.spec.command(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                server.spec.wait_ready(child.process)
            except MariaDBError:
                self._processes.stop(child)
                if server.spec.port_in_use() and attempt + 1 < PORT_ATTEMPTS:
                    continue
                raise
            server.child = child
            return


def quote_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
