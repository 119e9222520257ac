"""Aurora on the emulator is a real database: TLS, credentials, snapshots, restores, deletes, resets, hygiene.

boto3 against private emulators (no Terraform); connections verify the server certificate against the emulator's
CA for the cluster's endpoint name, as the functions do with ``DB_TLS=verify_identity``.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymysql
import pytest

from tests.support import local_rds
from tools.emulator import Emulator, aws_client

pytestmark = pytest.mark.e2e

# Values whose bytes a dump and load must keep: binary zero bytes, 4-byte UTF-8, exact decimals, microseconds.
ROWS = [
    (1, b"\x00\xff\x10binary\x00", "caf\u00e9 \U0001f680", Decimal("123456.789012"), "2024-02-29 23:59:59.999999"),
    (2, b"", "'quotes' \"and\" \\backslashes\\", Decimal("-0.000001"), "1970-01-01 00:00:01.000000"),
]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    server = Emulator.private()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def rds(emulator: Emulator) -> Any:
    return aws_client(emulator.endpoint, "rds")


@pytest.fixture(scope="module")
def secrets(emulator: Emulator) -> Any:
    return aws_client(emulator.endpoint, "secretsmanager")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _create(rds: Any, name: str) -> dict[str, Any]:
    return rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-mysql",
        EngineVersion="8.0.mysql_aurora.3.08.0",
        Port=3306,
        MasterUsername="trading_admin",
        ManageMasterUserPassword=True,
        DatabaseName="trading",
    )["DBCluster"]


def _credentials(secrets: Any, cluster: dict[str, Any]) -> dict[str, str]:
    return json.loads(secrets.get_secret_value(SecretId=cluster["MasterUserSecret"]["SecretArn"])["SecretString"])


def _connect(emulator: Emulator, identifier: str, credentials: dict[str, str], **kwargs: Any) -> Any:
    entry = local_rds.cluster(emulator.endpoint, identifier)
    return local_rds.connect(entry, credentials["username"], credentials["password"], **kwargs)


def _query(connection: Any, sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_until(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def test_a_cluster_is_a_real_server_with_tls_and_the_secrets_credentials(
    emulator: Emulator, rds: Any, secrets: Any
) -> None:
    name = _name("aurora-tls")
    cluster = _create(rds, name)
    # The RDS API answers as AWS would: no local port, no drift for Terraform.
    assert cluster["Port"] == 3306 and cluster["Endpoint"].endswith(".us-east-1.rds.amazonaws.com")
    entry = local_rds.cluster(emulator.endpoint, name)
    assert (entry["endpoint"], entry["reader_endpoint"]) == (cluster["Endpoint"], cluster["ReaderEndpoint"])
    assert entry["secret_arn"] == cluster["MasterUserSecret"]["SecretArn"] and entry["port"] != 3306
    credentials = _credentials(secrets, cluster)
    assert credentials["username"] == "trading_admin" == entry["master_username"]
    assert credentials["password"] != "P@55w0rd!" and len(credentials["password"]) >= 20

    with _connect(emulator, name, credentials) as connection:
        assert _query(connection, "SHOW SESSION STATUS LIKE 'Ssl_version'")[0][1].startswith("TLSv1.")
        assert "trading" in {row[0] for row in _query(connection, "SHOW DATABASES")}  # DatabaseName, as RDS makes it
        assert _query(connection, "SELECT @@require_secure_transport") == [(1,)]
        assert _query(connection, "SELECT CURRENT_USER()") == [("trading_admin@%",)]
    # The certificate names the reader endpoint too, and nothing else.
    _connect(emulator, name, credentials, server_hostname=cluster["ReaderEndpoint"]).close()
    with pytest.raises(pymysql.err.OperationalError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
        _connect(emulator, name, credentials, server_hostname="localhost")
    # Plaintext is refused even with the right password (MariaDB answers 1045, MySQL 8.0 3159).
    with pytest.raises(pymysql.err.OperationalError) as plaintext:
        pymysql.connect(
            host=entry["address"],
            port=entry["port"],
            user=credentials["username"],
            password=credentials["password"],
            ssl_disabled=True,
            connect_timeout=5,
        )
    assert plaintext.value.args[0] in (1045, 3159)
    # The emulator's root exists only behind the server's own Unix socket.
    with pytest.raises(pymysql.err.OperationalError) as root:
        _connect(emulator, name, {"username": "root", "password": ""})
    assert root.value.args[0] == 1045


@pytest.mark.parametrize("how", ["rds", "secretsmanager"])
def test_rotation_changes_the_password_in_the_secret_and_on_the_server(
    emulator: Emulator, rds: Any, secrets: Any, how: str
) -> None:
    name = _name("aurora-rot")
    cluster = _create(rds, name)
    before = _credentials(secrets, cluster)
    if how == "rds":
        rds.modify_db_cluster(DBClusterIdentifier=name, RotateMasterUserPassword=True, ApplyImmediately=True)
    else:
        secrets.rotate_secret(SecretId=cluster["MasterUserSecret"]["SecretArn"])
    after = _credentials(secrets, cluster)
    assert after["username"] == before["username"] and after["password"] != before["password"]
    _connect(emulator, name, after).close()
    with pytest.raises(pymysql.err.OperationalError) as old:
        _connect(emulator, name, before)
    assert old.value.args[0] == 1045


def test_snapshot_restore_gives_the_same_rows_byte_for_byte_and_keeps_the_accounts(
    emulator: Emulator, rds: Any, secrets: Any
) -> None:
    name = _name("aurora-snap")
    cluster = _create(rds, name)
    credentials = _credentials(secrets, cluster)
    select = "SELECT id, payload, note, amount, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f') FROM trading.facts ORDER BY id"
    with _connect(emulator, name, credentials) as connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE trading.facts (id INT PRIMARY KEY, payload VARBINARY(32), "
            "note VARCHAR(64) CHARACTER SET utf8mb4, amount DECIMAL(18,6), at TIMESTAMP(6) NULL)"
        )
        cursor.executemany("INSERT INTO trading.facts VALUES (%s, %s, %s, %s, %s)", ROWS)
        cursor.execute("CREATE USER 'reader'@'%' IDENTIFIED BY 'Reader-pass-1'")
        cursor.execute("GRANT SELECT ON trading.facts TO 'reader'@'%'")
        original = _query(connection, select)
    assert [row[:4] for row in original] == [row[:4] for row in ROWS]

    rds.create_db_cluster_snapshot(DBClusterIdentifier=name, DBClusterSnapshotIdentifier=f"{name}-snap")
    (dump,) = [d for d in local_rds.snapshots(emulator.endpoint) if d["identifier"] == f"{name}-snap"]
    assert Path(dump["dump"]).is_file()
    with _connect(emulator, name, credentials) as connection:
        _query(connection, "INSERT INTO trading.facts (id) VALUES (3)")  # after the snapshot: must not come back

    restored = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=f"{name}-restored", SnapshotIdentifier=f"{name}-snap", Engine="aurora-mysql"
    )["DBCluster"]
    assert restored["MasterUsername"] == "trading_admin"
    restored_credentials = _credentials(secrets, restored)
    assert restored_credentials["password"] != credentials["password"]  # a new managed secret, and it works
    with _connect(emulator, f"{name}-restored", restored_credentials) as connection:
        assert _query(connection, select) == original
        assert _query(connection, "CHECKSUM TABLE trading.facts")[0][1] is not None
    # Accounts and grants travel with the snapshot, as on Aurora.
    with _connect(emulator, f"{name}-restored", {"username": "reader", "password": "Reader-pass-1"}) as reader:
        assert len(_query(reader, "SELECT id FROM trading.facts")) == 2
        with pytest.raises(pymysql.err.OperationalError):
            _query(reader, "DELETE FROM trading.facts")

    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=f"{name}-snap")
    assert not Path(dump["dump"]).exists()
    assert f"{name}-snap" not in {d["identifier"] for d in local_rds.snapshots(emulator.endpoint)}


def test_delete_stops_the_server_removes_its_data_and_a_same_minute_recreate_works(
    emulator: Emulator, rds: Any, secrets: Any
) -> None:
    name = _name("aurora-del")
    cluster = _create(rds, name)
    with _connect(emulator, name, _credentials(secrets, cluster)) as connection:
        _query(connection, "CREATE TABLE trading.kept (id INT PRIMARY KEY)")
        _query(connection, "INSERT INTO trading.kept VALUES (42)")
    entry = local_rds.cluster(emulator.endpoint, name)
    assert _alive(entry["pid"]) and Path(entry["data_directory"]).is_dir()

    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=False, FinalDBSnapshotIdentifier=f"{name}-final")
    assert _wait_until(lambda: not _alive(entry["pid"])), "the server process is gone"
    assert not Path(entry["data_directory"]).exists()
    assert name not in {c["identifier"] for c in local_rds.clusters(emulator.endpoint)}
    left = rds.describe_db_cluster_snapshots(DBClusterIdentifier=name)["DBClusterSnapshots"]
    assert [(s["DBClusterSnapshotIdentifier"], s["SnapshotType"]) for s in left] == [(f"{name}-final", "manual")]

    again = _create(rds, name)  # the same minute: moto's automated snapshot name would have collided
    with _connect(emulator, name, _credentials(secrets, again)) as connection:
        assert _query(connection, "SHOW TABLES FROM trading") == []  # a new, empty cluster
    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
    restored = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=name, SnapshotIdentifier=f"{name}-final", Engine="aurora-mysql"
    )["DBCluster"]
    with _connect(emulator, name, _credentials(secrets, restored)) as connection:
        assert _query(connection, "SELECT id FROM trading.kept") == [(42,)]


def test_stop_and_start_keep_the_data(emulator: Emulator, rds: Any, secrets: Any) -> None:
    name = _name("aurora-stop")
    credentials = _credentials(secrets, _create(rds, name))
    with _connect(emulator, name, credentials) as connection:
        _query(connection, "CREATE TABLE trading.t (id INT PRIMARY KEY)")
    pid = local_rds.cluster(emulator.endpoint, name)["pid"]
    rds.stop_db_cluster(DBClusterIdentifier=name)
    assert _wait_until(lambda: not _alive(pid))
    assert local_rds.cluster(emulator.endpoint, name)["port"] is None
    rds.start_db_cluster(DBClusterIdentifier=name)
    with _connect(emulator, name, credentials) as connection:
        assert _query(connection, "SHOW TABLES FROM trading") == [("t",)]


def _servers(emulator: Emulator) -> list[dict[str, Any]]:
    return local_rds.clusters(emulator.endpoint)


@pytest.mark.parametrize("ending", ["reset", "sigterm", "sigkill"])
def test_reset_and_every_way_the_emulator_ends_leave_no_server_and_no_data(ending: str) -> None:
    emulator = Emulator.private()
    try:
        rds = aws_client(emulator.endpoint, "rds")
        _create(rds, _name("aurora-end"))
        rds.create_db_cluster_snapshot(
            DBClusterIdentifier=_servers(emulator)[0]["identifier"], DBClusterSnapshotIdentifier="kept-dump"
        )
        _create(rds, _name("aurora-end"))
        servers = _servers(emulator)
        dumps = local_rds.snapshots(emulator.endpoint)
        assert len(servers) == 2 and all(_alive(s["pid"]) for s in servers) and len(dumps) == 1
        run_dir = Path(servers[0]["data_directory"]).parents[2]
        if ending == "reset":
            emulator.reset()
            assert _servers(emulator) == [] and local_rds.snapshots(emulator.endpoint) == []
            assert rds.describe_db_clusters()["DBClusters"] == []
        else:
            pid = emulator.pid()
            assert pid is not None
            os.kill(pid, signal.SIGTERM if ending == "sigterm" else signal.SIGKILL)
            assert _wait_until(lambda: not run_dir.exists()), "the run directory (data, dumps) was removed"
        assert _wait_until(lambda: not any(_alive(s["pid"]) for s in servers)), "no mariadbd is left"
        assert not any(Path(s["data_directory"]).exists() for s in servers)
        assert not any(Path(d["dump"]).exists() for d in dumps)
    finally:
        emulator.stop()


def test_the_extension_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_CLOUD_EXTENSIONS", "none")
    emulator = Emulator.private()
    try:
        rds = aws_client(emulator.endpoint, "rds")
        secrets = aws_client(emulator.endpoint, "secretsmanager")
        cluster = _create(rds, _name("aurora-off"))
        assert _credentials(secrets, cluster) == {"username": "admin", "password": "P@55w0rd!"}  # plain moto
        with pytest.raises(urllib.error.HTTPError):
            local_rds.clusters(emulator.endpoint)
        with urllib.request.urlopen(f"{emulator.endpoint}/_local_cloud/status/", timeout=10) as response:
            assert json.load(response)["children"] == []
    finally:
        emulator.stop()
