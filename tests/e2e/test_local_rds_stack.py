"""The deployed stack's Aurora clusters are real databases: prod's rows survive destroy and recreate byte for byte,
and a destroyed dev leaves no database server and no data directory behind.

Real Terraform and provider against a private emulator, as tools/deploy.py runs them (dev and prod side by side).
The rows are written with the master credentials of the RDS-managed secret, over TLS verified for the writer
endpoint; after the restore they are read with the *new* cluster's new secret.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from python_stacks.stacks import load_configs
from tests.support import local_rds
from tools.deploy import Deployment
from tools.emulator import Emulator, aws_client
from tools.synth import synth

pytestmark = pytest.mark.e2e
WORKSPACES = ("dev", "prod")
ROWS = [(1, b"\x00\x01\xfe\xff", "prod \u20ac \U0001F4C8"), (2, b"", "second")]


class World:
    def __init__(self, emulator: Emulator, outdir: Path) -> None:
        self.emulator = emulator
        env = {"TARGET": "local", "LOCAL_AWS_ENDPOINT": emulator.endpoint}
        self.deployments = {c.workspace: Deployment(c, outdir) for c in load_configs(WORKSPACES, env)}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.servers: dict[str, dict[str, Any]] = {}

    def credentials(self, workspace: str) -> dict[str, str]:
        secret = aws_client(self.emulator.endpoint, "secretsmanager").get_secret_value(
            SecretId=str(self.outputs[workspace]["db_secret_arn"]))
        return dict(json.loads(secret["SecretString"]))

    def database(self, workspace: str) -> str:
        cluster = aws_client(self.emulator.endpoint, "rds").describe_db_clusters(
            DBClusterIdentifier=f"aurora-{workspace}")["DBClusters"][0]
        return str(cluster["DatabaseName"])

    def connect(self, workspace: str) -> Any:
        credentials = self.credentials(workspace)
        entry = local_rds.cluster(self.emulator.endpoint, f"aurora-{workspace}")
        assert entry["endpoint"] == self.outputs[workspace]["db_writer_endpoint"]
        return local_rds.connect(entry, credentials["username"], credentials["password"],
                                 database=self.database(workspace))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, lambda_zip: Path) -> Iterator[World]:
    emulator = Emulator.private()
    try:
        world = World(emulator, tmp_path_factory.mktemp("rds-stack") / "cdktf.out")
        first = next(iter(world.deployments.values()))
        synth([d.config for d in world.deployments.values()], first.outdir)
        first.ensure_account_settings()
        yield world
    finally:
        emulator.stop()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_each_deployed_cluster_is_a_database_with_the_stack_settings(world: World) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = dict(zip(WORKSPACES, pool.map(lambda ws: world.deployments[ws].deploy(synthesize=False), WORKSPACES),
                           strict=True))
    world.outputs.update(outputs)
    for workspace in WORKSPACES:
        world.servers[workspace] = local_rds.cluster(world.emulator.endpoint, f"aurora-{workspace}")
        with world.connect(workspace) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT DATABASE(), @@require_secure_transport")
            assert cursor.fetchone() == (world.database(workspace), 1)
    with world.connect("prod") as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE kept (id INT PRIMARY KEY, raw VARBINARY(16), "
                       "note VARCHAR(40) CHARACTER SET utf8mb4)")
        cursor.executemany("INSERT INTO kept VALUES (%s, %s, %s)", ROWS)


def test_destroyed_dev_leaves_no_server_and_no_data(world: World) -> None:
    server = world.servers["dev"]
    world.deployments["dev"].destroy(with_data=True, synthesize=False)
    deadline = time.monotonic() + 30
    while _alive(server["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(server["pid"])
    assert not Path(server["data_directory"]).exists()
    assert "aurora-dev" not in {c["identifier"] for c in local_rds.clusters(world.emulator.endpoint)}
    assert not [d for d in local_rds.snapshots(world.emulator.endpoint) if "-dev-" in d["identifier"]]


def test_prod_rows_survive_destroy_and_recreate_byte_for_byte(world: World) -> None:
    prod = world.deployments["prod"]
    with world.connect("prod") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id, raw, note FROM kept ORDER BY id")
        before = cursor.fetchall()
    assert [tuple(row) for row in before] == ROWS
    old_secret = world.credentials("prod")
    prod.destroy(with_data=False, synthesize=False)
    final = str(world.outputs["prod"]["db_final_snapshot_identifier"])
    assert [d["identifier"] for d in local_rds.snapshots(world.emulator.endpoint)] == [final]
    assert not _alive(world.servers["prod"]["pid"])

    world.outputs["prod"] = prod.deploy(synthesize=False)
    assert world.credentials("prod") != old_secret
    with world.connect("prod") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id, raw, note FROM kept ORDER BY id")
        assert cursor.fetchall() == before
    prod.destroy(with_data=True, synthesize=False)
    assert local_rds.clusters(world.emulator.endpoint) == []
