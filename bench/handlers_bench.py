"""Benchmark of the trades handler: figures only, no pass/fail.

Measures, in one run against one private MariaDB (started and stopped here, TLS ``required`` like on AWS):

- ``POST /trades`` throughput and p50/p99 latency through ``handlers.api`` (Powertools resolver, validation,
  idempotent insert) versus a raw PyMySQL ``INSERT`` + ``COMMIT`` loop with the same statement, for 1 and 4
  workers. Workers are processes, each with its own handler instance and connection, like separate Lambda
  execution environments. The ratio handler/raw is the overhead figure (target >= 0.85).
- Cold import time of ``handlers.api`` from the unzipped artifact in a fresh interpreter (CPython 3.12, the
  runtime's version, when one is found), with and without the shipped bytecode. boto3 is imported first and
  not counted: the Lambda runtime provides it.
- The ZIP's size and SHA-256.

Usage: ``python -m bench.handlers_bench [--requests 2000] [--repeat 3] [--json bench/out/handlers.json]``
(or ``python bench/handlers_bench.py``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.mariadb import MariaDB
from tools import package

DB_NAME = "bench"
USER = "bench_app"
PASSWORD = "bench-password-1"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!bench-AbCdEf"
WARMUP = 50
INSERT = (
    "INSERT INTO trades (client_order_id, symbol, side, order_type, quantity, limit_price, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


class StaticSecret:
    """Stands in for Powertools' SecretsProvider: the bench measures the handler, not Secrets Manager."""

    def get(self, name: str, **_: Any) -> dict[str, str]:
        return {"username": USER, "password": PASSWORD}


def handler_env(server: MariaDB) -> dict[str, str]:
    return {
        "DB_SECRET_ARN": SECRET_ARN,
        "DB_WRITER_HOST": server.host,
        "DB_PORT": str(server.port),
        "DB_NAME": DB_NAME,
        "DB_TLS": "required",
        "POWERTOOLS_SERVICE_NAME": "trades-api",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# ----------------------------------------------------------------------------------------------- workers


def _worker(mode: str, env: dict[str, str], prefix: str, count: int, barrier: Any, results: Any) -> None:
    """One execution environment: warm up, wait for the others, then send ``count`` orders."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the handler logs one JSON line per trade to stdout, as on Lambda; discard it here
    os.environ.update(env)
    from handlers.config import Settings
    from handlers.credentials import SecretCredentials

    settings = Settings.from_env()
    bodies = [
        json.dumps(
            {
                "client_order_id": f"{prefix}-{number}",
                "symbol": "AAPL",
                "side": "BUY" if number % 2 else "SELL",
                "order_type": "LIMIT",
                "quantity": 1 + number % 500,
                "limit_price": f"{100 + number % 50}.{number % 100:02d}",
            }
        )
        for number in range(count + WARMUP)
    ]
    if mode == "handler":
        import handlers.api as api_module
        from tests.handlers.lambda_support import FakeContext, rest_event

        api = api_module.build(settings, SecretCredentials(SECRET_ARN, 300, provider=StaticSecret()))  # type: ignore[arg-type]
        context = FakeContext()
        events = [rest_event("POST", "/trades", body) for body in bodies]

        def send(index: int) -> None:
            reply = api.handler(events[index], context)
            if reply["statusCode"] != 201:
                raise RuntimeError(f"unexpected reply {reply}")
    else:
        from decimal import Decimal

        import pymysql

        from handlers.db import tls_context

        connection = pymysql.connect(
            host=settings.writer_host,
            port=settings.port,
            user=USER,
            password=PASSWORD,
            database=DB_NAME,
            charset="utf8mb4",
            autocommit=False,
            ssl=tls_context(settings),
        )
        rows = []
        for body in bodies:
            order = json.loads(body, parse_float=Decimal)
            rows.append(
                (
                    order["client_order_id"],
                    order["symbol"],
                    order["side"],
                    order["order_type"],
                    order["quantity"],
                    order["limit_price"],
                )
            )

        def send(index: int) -> None:
            with connection.cursor() as cursor:
                cursor.execute(INSERT, (*rows[index], datetime.now(UTC).replace(tzinfo=None)))
            connection.commit()

    for index in range(WARMUP):
        send(index)
    latencies: list[float] = []
    barrier.wait()
    started = time.perf_counter()
    for index in range(WARMUP, WARMUP + count):
        before = time.perf_counter()
        send(index)
        latencies.append(time.perf_counter() - before)
    finished = time.perf_counter()
    results.put({"started": started, "finished": finished, "latencies": latencies})


def run_load(server: MariaDB, mode: str, workers: int, requests: int, label: str) -> dict[str, Any]:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers)
    results = context.Queue()
    per_worker = requests // workers
    processes = [
        context.Process(
            target=_worker, args=(mode, handler_env(server), f"{label}-{worker}", per_worker, barrier, results)
        )
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        if process.exitcode != 0:
            raise RuntimeError(f"{mode} worker failed with exit code {process.exitcode}")
    latencies = [value for outcome in outcomes for value in outcome["latencies"]]
    wall = max(outcome["finished"] for outcome in outcomes) - min(outcome["started"] for outcome in outcomes)
    return {
        "mode": mode,
        "workers": workers,
        "requests": len(latencies),
        "req_per_s": len(latencies) / wall,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


# ------------------------------------------------------------------------------------------- cold import


def cold_import(zip_path: Path, runs: int) -> dict[str, Any]:
    """Median time to import handlers.api from the unzipped artifact, with and without its bytecode."""
    try:
        python = package.find_runtime_python(None)
    except package.PackageError:
        python = sys.executable
    site_packages = [path for path in sys.path if path.endswith("site-packages")]
    script = (
        "import sys, time\n"
        "sys.path.insert(0, '.')\n"
        f"sys.path.extend({site_packages!r})  # boto3 as the runtime provides it, after the artifact\n"
        "import boto3\n"
        "boto3.client('secretsmanager')  # runtime cost, not ours: loads botocore's modules and models\n"
        "started = time.perf_counter()\n"
        "import handlers.api\n"
        "print((time.perf_counter() - started) * 1000)\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DB_SECRET_ARN": SECRET_ARN,
        "DB_WRITER_HOST": "cluster.example.internal",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        # -B below: /var/task is read-only on Lambda, so nothing compiled at one start is there at the next
    }
    version = subprocess.run([python, "-V"], capture_output=True, text=True, check=True)
    figures: dict[str, Any] = {"python": version.stdout.strip()}
    with tempfile.TemporaryDirectory(prefix="bench-unzipped-") as folder:
        tree = Path(folder)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(tree)
        for variant in ("with_bytecode", "sources_only"):
            if variant == "sources_only":
                for cache in list(tree.rglob("__pycache__")):
                    shutil.rmtree(cache)
            times = []
            for _ in range(runs):
                result = subprocess.run(
                    [python, "-I", "-B", "-c", script],
                    cwd=tree,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                if result.returncode != 0:
                    raise RuntimeError(f"cold import failed:\n{result.stderr}")
                times.append(float(result.stdout.strip().splitlines()[-1]))
            figures[f"{variant}_ms"] = statistics.median(times)
    return figures


# ------------------------------------------------------------------------------------------------- main


def prepare(server: MariaDB) -> None:
    env = handler_env(server)
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
        cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1'")
    os.environ.update(env)
    from handlers.config import Settings
    from handlers.credentials import SecretCredentials
    from handlers.schema import migrate_schema

    settings = Settings.from_env()
    migrate_schema(settings, SecretCredentials(SECRET_ARN, 300, provider=StaticSecret()))  # type: ignore[arg-type]


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| workers | raw req/s | handler req/s | ratio | raw p50 / p99 ms | handler p50 / p99 ms |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for workers, pair in sorted(report["load"].items()):
        raw, handler = pair["raw"], pair["handler"]
        lines.append(
            f"| {workers} | {raw['req_per_s']:.0f} | {handler['req_per_s']:.0f} | {pair['ratio']:.2f} | "
            f"{raw['p50_ms']:.2f} / {raw['p99_ms']:.2f} | {handler['p50_ms']:.2f} / {handler['p99_ms']:.2f} |"
        )
    cold, artifact = report["cold_import"], report["zip"]
    lines += [
        "",
        "| figure | value |",
        "|---|---:|",
        f"| cold import of handlers.api, with bytecode ({cold['python']}) | {cold['with_bytecode_ms']:.0f} ms |",
        f"| cold import of handlers.api, sources only | {cold['sources_only_ms']:.0f} ms |",
        f"| ZIP size | {artifact['size_bytes']:,} bytes |",
        f"| ZIP sha256 | `{artifact['sha256'][:16]}…` |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the trades handler against raw PyMySQL.")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per configuration (median kept)")
    parser.add_argument("--import-runs", type=int, default=5, help="fresh interpreters per cold-import figure")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this path")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-zip-") as folder:
        artifact = package.build(Path(folder) / "lambda.zip")
        cold = cold_import(Path(artifact["path"]), args.import_runs)

    server = MariaDB.create(tls=True)
    try:
        server.start()
        prepare(server)
        load: dict[int, dict[str, Any]] = {}
        for workers in (1, 4):
            runs: dict[str, list[dict[str, Any]]] = {"raw": [], "handler": []}
            for repeat in range(args.repeat):
                for mode in ("raw", "handler"):  # interleaved, so drifting machine load hits both alike
                    runs[mode].append(run_load(server, mode, workers, args.requests, f"{mode}-{workers}-{repeat}"))
            best = {
                mode: sorted(values, key=lambda run: run["req_per_s"])[len(values) // 2]
                for mode, values in runs.items()
            }
            load[workers] = {**best, "ratio": best["handler"]["req_per_s"] / best["raw"]["req_per_s"]}
    finally:
        server.destroy()

    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()},
        "zip": {key: artifact[key] for key in ("size_bytes", "sha256", "entries", "bytecode_modules")},
        "cold_import": cold,
        "load": load,
    }
    print(markdown(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
