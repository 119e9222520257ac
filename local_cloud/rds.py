"""Aurora MySQL backed by a real MySQL-compatible server: every emulated cluster runs its own MariaDB.

Hooks on moto's RDS backend (tests/unit/test_moto_contract_rds.py pins each one):

- ``create_db_cluster``: after moto records the cluster, a private MariaDB starts for it (``rds_servers``) with the
  master user and password of its secret (or of ``MasterUserPassword``) and its ``DatabaseName``. The RDS API keeps
  answering with AWS-shaped endpoints and port 3306; Lambda workers reach the server through ``network``.
- ``create_db_cluster_snapshot`` (manual snapshots, and the final snapshot ``delete_db_cluster`` takes through it):
  a ``mariadb-dump`` of the server. Automated snapshots are taken by moto while the cluster is being created, before
  there is a server: they hold no dump, and restoring one gives the cluster as it was created.
- ``restore_db_cluster_from_snapshot`` (which creates the cluster through ``create_db_cluster``): loads the dump,
  then sets the master password of the new cluster's secret again (the dump carries the old one).
- ``copy_db_cluster_snapshot`` / ``delete_db_cluster_snapshot``: copy / delete the dump.
- ``delete_db_cluster``: stops the server, deletes its data and the cluster's automated snapshots (as
  ``DeleteAutomatedBackups`` does; moto keeps ``rds:<id>-<minute>``, and a recreate within that minute collided).
- ``stop_db_cluster`` / ``start_db_cluster``: stop / start the process, keeping the data.
- ``modify_db_cluster``: follows a rename (new endpoints, new certificate) and a new master password or secret.
- Secrets: ``rds_secrets`` gives managed secrets real credentials and makes rotation change the server's password.

``GET /_local_cloud/rds/clusters/`` lists the clusters' servers for tests and tools (contract 5, plus each server's
PID and data directory), ``GET /_local_cloud/rds/snapshots/`` the dumps. ``POST /moto-api/reset`` stops
every server and deletes every dump. Engines other than MySQL-compatible ones (aurora-postgresql, neptune) get no
server.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moto.rds import models as rds_models

from local_cloud import rds_secrets
from local_cloud.front import Environ, StartResponse
from local_cloud.rds_servers import ClusterIdentity, ClusterServer, ClusterServers
from local_cloud.tls import emulator_authority

if TYPE_CHECKING:
    from local_cloud.server import Context

MYSQL_ENGINES = frozenset({"aurora-mysql", "aurora", "mysql"})

# The moto methods hooked here, kept so that tests (and a second install in one process) can reach the originals.
ORIGINALS: dict[str, Callable[..., Any]] = {
    name: getattr(rds_models.RDSBackend, name)
    for name in (
        "create_db_cluster",
        "create_db_cluster_snapshot",
        "copy_db_cluster_snapshot",
        "restore_db_cluster_from_snapshot",
        "delete_db_cluster_snapshot",
        "delete_db_cluster",
        "stop_db_cluster",
        "start_db_cluster",
        "modify_db_cluster",
    )
}

_state: RdsState | None = None


def state() -> RdsState | None:
    """The running extension's state (None when ``rds`` is switched off); ``network`` resolves hosts through it."""
    return _state


@dataclass(frozen=True)
class Dump:
    snapshot_identifier: str
    path: Path


class RdsState:
    """Servers of the clusters and dumps of the snapshots, for one emulator."""

    def __init__(self, servers: ClusterServers, dump_dir: Path) -> None:
        self.servers = servers
        self.dump_dir = dump_dir
        self._dumps: dict[str, Dump] = {}  # by snapshot ARN
        self._lock = threading.Lock()

    def dumps(self) -> dict[str, Dump]:
        with self._lock:
            return dict(self._dumps)

    def dump_of(self, snapshot_arn: str) -> Path | None:
        with self._lock:
            dump = self._dumps.get(snapshot_arn)
        return dump.path if dump is not None else None

    def new_dump_path(self) -> Path:
        return self.dump_dir / f"{uuid.uuid4().hex}.sql"

    def keep_dump(self, snapshot: Any, path: Path) -> None:
        with self._lock:
            self._dumps[snapshot.arn] = Dump(snapshot.db_cluster_snapshot_identifier, path)

    def drop_dump(self, snapshot_arn: str) -> None:
        with self._lock:
            dump = self._dumps.pop(snapshot_arn, None)
        if dump is not None:
            dump.path.unlink(missing_ok=True)

    def clear(self) -> None:
        self.servers.clear()
        with self._lock:
            self._dumps.clear()
        shutil.rmtree(self.dump_dir, ignore_errors=True)

    def cluster_of(self, server: ClusterServer) -> Any | None:
        """The moto ``DBCluster`` the server stands for (None once moto forgot it)."""
        identity = server.identity
        backend = rds_models.rds_backends[identity.account_id][identity.region]
        cluster = backend.clusters.get(identity.identifier)
        return cluster if cluster is not None and cluster.db_cluster_resource_id == identity.resource_id else None


def identity_of(cluster: Any) -> ClusterIdentity:
    secret = getattr(cluster, "master_user_secret", None) if cluster.manage_master_user_password else None
    return ClusterIdentity(
        resource_id=cluster.db_cluster_resource_id,
        account_id=cluster.account_id,
        region=cluster.region,
        identifier=cluster.db_cluster_identifier,
        endpoint=cluster.endpoint,
        reader_endpoint=cluster.reader_endpoint,
        master_username=cluster.master_username,
        secret_arn=secret.secret_arn if secret is not None else None,
        database_name=cluster.database_name,
    )


def master_password(cluster: Any) -> str:
    """What RDS would have set: the managed secret's current password, or the cluster's ``MasterUserPassword``."""
    if cluster.manage_master_user_password:
        return rds_secrets.current_credentials(cluster.master_user_secret.secret)["password"]
    return str(cluster.__dict__.get("_master_user_password") or "")


def _has_server(cluster: Any) -> bool:
    return cluster.engine in MYSQL_ENGINES and bool(cluster.master_username)


def _hooks(rds: RdsState) -> dict[str, Callable[..., Any]]:
    servers = rds.servers
    original = ORIGINALS

    def create_db_cluster(self: Any, kwargs: dict[str, Any]) -> Any:
        cluster = original["create_db_cluster"](self, kwargs)
        if _has_server(cluster):
            try:
                servers.create(identity_of(cluster), master_password(cluster))
            except BaseException:
                _forget_cluster(self, cluster)
                raise
        return cluster

    def create_db_cluster_snapshot(
        self: Any,
        db_cluster_identifier: str,
        db_cluster_snapshot_identifier: str,
        snapshot_type: str = "manual",
        tags: list[dict[str, str]] | None = None,
    ) -> Any:
        snapshot = original["create_db_cluster_snapshot"](
            self, db_cluster_identifier, db_cluster_snapshot_identifier, snapshot_type, tags
        )
        server = servers.get(self.clusters[db_cluster_identifier].db_cluster_resource_id)
        if snapshot_type != "automated" and server is not None:
            path = rds.new_dump_path()
            try:
                servers.dump(server.identity.resource_id, path)
            except BaseException:
                self.cluster_snapshots.pop(snapshot.db_cluster_snapshot_identifier, None)
                raise
            rds.keep_dump(snapshot, path)
        return snapshot

    def copy_db_cluster_snapshot(
        self: Any,
        source_db_cluster_snapshot_identifier: str,
        target_db_cluster_snapshot_identifier: str,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        target = original["copy_db_cluster_snapshot"](
            self, source_db_cluster_snapshot_identifier, target_db_cluster_snapshot_identifier, *args, **kwargs
        )
        source = self.get_db_cluster_snapshot(source_db_cluster_snapshot_identifier)
        dump = rds.dump_of(source.arn)
        if dump is not None:
            path = rds.new_dump_path()
            shutil.copyfile(dump, path)
            rds.keep_dump(target, path)
        return target

    def restore_db_cluster_from_snapshot(self: Any, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        cluster = original["restore_db_cluster_from_snapshot"](self, from_snapshot_id, overrides)
        snapshot = self.describe_db_cluster_snapshots(None, from_snapshot_id)[0]
        dump = rds.dump_of(snapshot.arn)
        server = servers.get(cluster.db_cluster_resource_id)
        if dump is not None and server is not None:
            try:
                servers.load(server.identity.resource_id, dump)
                # The dump restores the master's old password hash; RDS gives the restored cluster the new secret's.
                servers.set_master_password(server.identity.resource_id, master_password(cluster))
            except BaseException:
                servers.remove(server.identity.resource_id)
                _forget_cluster(self, cluster)
                raise
        return cluster

    def delete_db_cluster_snapshot(self: Any, db_snapshot_identifier: str) -> Any:
        snapshot = original["delete_db_cluster_snapshot"](self, db_snapshot_identifier)
        rds.drop_dump(snapshot.arn)
        return snapshot

    def delete_db_cluster(self: Any, cluster_identifier: str, snapshot_name: str | None = None) -> Any:
        cluster = original["delete_db_cluster"](self, cluster_identifier, snapshot_name)
        servers.remove(cluster.db_cluster_resource_id)
        automated = [
            key
            for key, snapshot in self.cluster_snapshots.items()
            if snapshot.snapshot_type == "automated" and snapshot.db_cluster_identifier == cluster.db_cluster_identifier
        ]
        for key in automated:
            rds.drop_dump(self.cluster_snapshots.pop(key).arn)
        return cluster

    def stop_db_cluster(self: Any, cluster_identifier: str) -> Any:
        result = original["stop_db_cluster"](self, cluster_identifier)
        servers.stop(self.clusters[cluster_identifier].db_cluster_resource_id)
        return result

    def start_db_cluster(self: Any, cluster_identifier: str) -> Any:
        result = original["start_db_cluster"](self, cluster_identifier)
        servers.start(self.clusters[cluster_identifier].db_cluster_resource_id)
        return result

    def modify_db_cluster(self: Any, kwargs: dict[str, Any]) -> Any:
        # moto rewrites kwargs (db_cluster_identifier becomes new_db_cluster_identifier, None without a rename).
        identifier = kwargs.get("new_db_cluster_identifier") or kwargs["db_cluster_identifier"]
        new_password = "master_user_password" in kwargs or "manage_master_user_password" in kwargs
        result = original["modify_db_cluster"](self, kwargs)
        cluster = self.clusters[identifier]
        server = servers.get(cluster.db_cluster_resource_id)
        if server is not None:
            servers.update(server.identity.resource_id, identity_of(cluster))
            if server.running and new_password:
                servers.set_master_password(server.identity.resource_id, master_password(cluster))
        return result

    return {
        "create_db_cluster": create_db_cluster,
        "create_db_cluster_snapshot": create_db_cluster_snapshot,
        "copy_db_cluster_snapshot": copy_db_cluster_snapshot,
        "restore_db_cluster_from_snapshot": restore_db_cluster_from_snapshot,
        "delete_db_cluster_snapshot": delete_db_cluster_snapshot,
        "delete_db_cluster": delete_db_cluster,
        "stop_db_cluster": stop_db_cluster,
        "start_db_cluster": start_db_cluster,
        "modify_db_cluster": modify_db_cluster,
    }


def _forget_cluster(backend: Any, cluster: Any) -> None:
    """Undo moto's record of a cluster whose server could not start: no cluster without a database."""
    backend.clusters.pop(cluster.db_cluster_identifier, None)
    for key, snapshot in list(backend.cluster_snapshots.items()):
        if snapshot.snapshot_type == "automated" and snapshot.db_cluster_identifier == cluster.db_cluster_identifier:
            backend.cluster_snapshots.pop(key)
    if cluster.manage_master_user_password:
        cluster.master_user_secret.delete_secret()


def _rotation(rds: RdsState) -> rds_secrets.RotationHook:
    def rotate(secret_arn: str, password: str) -> None:
        server = rds.servers.by_secret(secret_arn)
        if server is not None and server.running:
            rds.servers.set_master_password(server.identity.resource_id, password)

    return rotate


def describe(server: ClusterServer) -> dict[str, Any]:
    identity = server.identity
    return {
        "identifier": identity.identifier,
        "endpoint": identity.endpoint,
        "reader_endpoint": identity.reader_endpoint,
        "address": server.spec.host,
        "port": server.spec.port if server.running else None,
        "master_username": identity.master_username,
        "secret_arn": identity.secret_arn,
        # Beyond contract 5, for hygiene checks: the server's process and its data.
        "pid": server.pid,
        "data_directory": str(server.spec.directory),
        "account_id": identity.account_id,
        "region": identity.region,
    }


def _listing_route(rds: RdsState) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """``GET /_local_cloud/rds/clusters/`` (contract 5) and ``GET /_local_cloud/rds/snapshots/`` (the dumps)."""

    def listing(path: str) -> list[dict[str, Any]] | None:
        if path == "/_local_cloud/rds/clusters/":
            return [describe(server) for server in rds.servers]
        if path == "/_local_cloud/rds/snapshots/":
            return [
                {"identifier": dump.snapshot_identifier, "arn": arn, "dump": str(dump.path)}
                for arn, dump in rds.dumps().items()
            ]
        return None

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", "")).rstrip("/") + "/"
        found = listing(path) if environ.get("REQUEST_METHOD") == "GET" else None
        status = "200 OK" if found is not None else "404 Not Found"
        body = json.dumps(found if found is not None else {"error": f"no such resource: {path}"}).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def install(ctx: Context) -> None:
    global _state
    rds = RdsState(
        ClusterServers(ctx.processes, ctx.run_dir / "rds" / "clusters", emulator_authority()),
        ctx.run_dir / "rds" / "snapshots",
    )
    for name, hook in _hooks(rds).items():
        setattr(rds_models.RDSBackend, name, hook)
    rds_secrets.install(_rotation(rds))
    # At shutdown the supervisor stops every server at once and removes the run directory (data and dumps).
    ctx.on_reset(rds.clear)
    ctx.front.add_internal("rds", _listing_route(rds))
    _state = rds


def uninstall() -> None:
    """Put moto back as it was (tests that install the hooks in-process)."""
    global _state
    for name, method in ORIGINALS.items():
        setattr(rds_models.RDSBackend, name, method)
    rds_secrets.uninstall()
    _state = None
