"""Aurora on the emulator: what a cluster's MariaDB costs to create, snapshot (dump), restore (load) and reach.

Usage: ``python -m bench.rds_bench [--clusters 5] [--rows 20000] [--json PATH]``
Starts its own emulator on a free loopback port, with a cache directory of its own so the first cluster pays for
the template data directory (``mariadb-install-db``) as a fresh checkout does. Measured through the RDS API (what
Terraform waits for), plus the server start alone, the network decision a Lambda worker asks for at every connect,
and the MariaDB process's memory. Takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import local_rds
from tools.emulator import Emulator, aws_client


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.monotonic()
    result = work()
    return time.monotonic() - started, result


def _create(rds: Any, name: str) -> dict[str, Any]:
    return rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-mysql",
        MasterUsername="trading_admin",
        ManageMasterUserPassword=True,
        DatabaseName="trading",
    )["DBCluster"]


def _fill(emulator: Emulator, secrets: Any, cluster: dict[str, Any], rows: int) -> None:
    secret = secrets.get_secret_value(SecretId=cluster["MasterUserSecret"]["SecretArn"])
    credentials = json.loads(secret["SecretString"])
    entry = local_rds.cluster(emulator.endpoint, cluster["DBClusterIdentifier"])
    with (
        local_rds.connect(
            entry, credentials["username"], credentials["password"], database="trading", autocommit=False
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "CREATE TABLE trades (id BIGINT PRIMARY KEY, client_order_id VARCHAR(64), symbol VARCHAR(12), "
            "quantity DECIMAL(18,6), price DECIMAL(18,6), "
            "created_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6))"
        )
        batch = [(i, f"order-{i:012d}", "ACME", "10.5", "123.456789") for i in range(rows)]
        for start in range(0, rows, 1000):
            cursor.executemany(
                "INSERT INTO trades (id, client_order_id, symbol, quantity, price) VALUES (%s, %s, %s, %s, %s)",
                batch[start : start + 1000],
            )
        connection.commit()


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _resolve_ms(emulator: Emulator, host: str, samples: int = 50) -> float:
    query = urllib.parse.urlencode({"function": "none", "qualifier": "$LATEST", "host": host, "port": 3306})
    durations = []
    for _ in range(samples):
        started = time.monotonic()
        try:
            urllib.request.urlopen(f"{emulator.endpoint}/_local_cloud/network/resolve?{query}", timeout=10).read()
        except urllib.error.HTTPError as error:  # 403: no such function; the decision is what is timed
            error.read()
        durations.append(time.monotonic() - started)
    return statistics.median(durations) * 1000


def run(clusters: int, rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rds-bench-") as cache:
        os.environ["TRADING_CACHE_DIR"] = cache  # a cold template cache and CA, as in a fresh checkout
        emulator = Emulator.private()
        try:
            rds, secrets = aws_client(emulator.endpoint, "rds"), aws_client(emulator.endpoint, "secretsmanager")
            creates = [timed(lambda i=i: _create(rds, f"bench-{i}"))[0] for i in range(clusters)]
            first = local_rds.cluster(emulator.endpoint, "bench-0")
            rss = _rss_mib(first["pid"])
            template_mib = sum(f.stat().st_size for f in Path(cache).rglob("template-*/**/*") if f.is_file()) / 2**20
            cluster = rds.describe_db_clusters(DBClusterIdentifier="bench-0")["DBClusters"][0]
            _fill(emulator, secrets, cluster, rows)
            dump_s, _ = timed(
                lambda: rds.create_db_cluster_snapshot(
                    DBClusterIdentifier="bench-0", DBClusterSnapshotIdentifier="bench-snap"
                )
            )
            dump = local_rds.snapshots(emulator.endpoint)[0]
            dump_mib = Path(dump["dump"]).stat().st_size / 2**20
            load_s, _ = timed(
                lambda: rds.restore_db_cluster_from_snapshot(
                    DBClusterIdentifier="bench-restored", SnapshotIdentifier="bench-snap", Engine="aurora-mysql"
                )
            )
            empty_restore_s, _ = timed(
                lambda: rds.restore_db_cluster_from_snapshot(
                    DBClusterIdentifier="bench-empty",
                    SnapshotIdentifier=rds.describe_db_cluster_snapshots(
                        DBClusterIdentifier="bench-1", SnapshotType="automated"
                    )["DBClusterSnapshots"][0]["DBClusterSnapshotIdentifier"],
                    Engine="aurora-mysql",
                )
            )
            delete_s, _ = timed(lambda: rds.delete_db_cluster(DBClusterIdentifier="bench-1", SkipFinalSnapshot=True))
            resolve_ms = _resolve_ms(emulator, cluster["Endpoint"])
            reset_s, _ = timed(emulator.reset)
        finally:
            emulator.stop()
            os.environ.pop("TRADING_CACHE_DIR", None)
    return {
        "clusters": clusters,
        "rows": rows,
        "create_first_s": round(creates[0], 2),
        "create_later_median_s": round(statistics.median(creates[1:]), 2) if len(creates) > 1 else None,
        "create_later_s": [round(x, 2) for x in creates[1:]],
        "template_mib": round(template_mib, 1),
        "server_rss_mib": round(rss, 1),
        "snapshot_dump_s": round(dump_s, 2),
        "dump_mib": round(dump_mib, 2),
        "restore_load_s": round(load_s, 2),
        "restore_without_dump_s": round(empty_restore_s, 2),
        "delete_s": round(delete_s, 2),
        "resolve_median_ms": round(resolve_ms, 2),
        "reset_s": round(reset_s, 2),
        "remaining_clusters_at_reset": clusters + 1,
    }


def markdown(report: dict[str, Any]) -> str:
    """The section bench/report.py puts into bench/results.md."""
    rows = [
        ("CreateDBCluster, first (template data directory made, CA made)", f"{report['create_first_s']} s"),
        (
            f"CreateDBCluster, later (template copied; median of {len(report['create_later_s'])})",
            f"{report['create_later_median_s']} s",
        ),
        ("template data directory", f"{report['template_mib']} MiB"),
        ("one cluster's mariadbd, resident memory after start", f"{report['server_rss_mib']} MiB"),
        (f"CreateDBClusterSnapshot ({report['rows']} rows, mariadb-dump)", f"{report['snapshot_dump_s']} s"),
        ("dump size", f"{report['dump_mib']} MiB"),
        ("RestoreDBClusterFromSnapshot (new server + load)", f"{report['restore_load_s']} s"),
        ("RestoreDBClusterFromSnapshot of an automated snapshot (no dump)", f"{report['restore_without_dump_s']} s"),
        ("DeleteDBCluster (server stopped, data removed)", f"{report['delete_s']} s"),
        ("network resolve, one worker lookup (median)", f"{report['resolve_median_ms']} ms"),
        (f"POST /moto-api/reset with {report['remaining_clusters_at_reset']} clusters", f"{report['reset_s']} s"),
    ]
    lines = [
        "Through the RDS API of a private emulator (one MariaDB 10.11 per cluster, TLS and "
        "`require_secure_transport` on), with a cold template cache for the first cluster.",
        "",
        "| operation | time / size |",
        "| --- | ---: |",
    ]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = run(args.clusters, args.rows)
    print(markdown(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
