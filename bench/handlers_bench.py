"""Benchmark of the trades handler: figures only, no pass/fail.

Measures, in one run against one private MariaDB (started and stopped here, TLS ``required`` like on AWS):

- ``POST /trades`` throughput and p50/p99 latency through ``handlers.api`` (Powertools resolver, validation,
  idempotent insert, the EMF metric line) versus a raw PyMySQL ``INSERT`` + ``COMMIT`` loop with the same
  statement, for 1 and 4 workers. Workers are processes, each with its own handler instance and connection, like
  separate Lambda execution environments. The ratio handler/raw is the overhead figure (target >= 0.85).

The cold start (import and first request, CPU) is bench/cold_start_bench.py's figure.

Usage: ``python -m bench.handlers_bench [--requests 2000] [--repeat 3] [--json bench/out/handlers.json]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers.credentials import Credentials
from tests.support.mariadb import MariaDB

DB_NAME = "bench"
USER = "bench_app"
PASSWORD = "bench-password-1"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!bench-AbCdEf"
WARMUP = 50
INSERT = (
    "INSERT INTO trades (client_order_id, symbol, side, order_type, quantity, limit_price, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


class StaticCredentials:
    """Stands in for the secrets extension: the bench measures the handler, not the secret's source."""

    def get(self, deadline: Any = None) -> Credentials:
        return Credentials(USER, PASSWORD)


def handler_env(server: MariaDB) -> dict[str, str]:
    return {
        "DB_SECRET_ARN": SECRET_ARN,
        "DB_WRITER_HOST": server.host,
        "DB_PORT": str(server.port),
        "DB_NAME": DB_NAME,
        "DB_TLS": "required",
        "POWERTOOLS_SERVICE_NAME": "trades-api",
        "POWERTOOLS_METRICS_NAMESPACE": "trading-bench",
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
    os.dup2(devnull, 1)  # the handler prints one EMF line per trade to stdout, as on Lambda; discard it here
    os.environ.update(env)
    from handlers.config import Settings

    settings = Settings.for_api()
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

        api = api_module.build(settings, StaticCredentials())
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
    started, cpu_started = time.perf_counter(), time.process_time()
    for index in range(WARMUP, WARMUP + count):
        before = time.perf_counter()
        send(index)
        latencies.append(time.perf_counter() - before)
    finished, cpu = time.perf_counter(), time.process_time() - cpu_started
    results.put({"started": started, "finished": finished, "latencies": latencies, "cpu": cpu})


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
    cpu = sum(outcome["cpu"] for outcome in outcomes)
    return {
        "mode": mode,
        "workers": workers,
        "requests": len(latencies),
        "req_per_s": len(latencies) / wall,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        # This process's CPU per request (the client side of the database): steadier than req/s on a shared machine.
        "cpu_ms_per_request": cpu / len(latencies) * 1000,
    }


# ------------------------------------------------------------------------------------------------- main


def prepare(server: MariaDB) -> None:
    env = handler_env(server)
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
        cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1'")
    os.environ.update(env)
    from handlers.config import Settings
    from handlers.schema import migrate_schema

    migrate_schema(Settings.for_api(), StaticCredentials())


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "`POST /trades` through `handlers.api` (validation, idempotent insert, EMF metric line) versus a raw PyMySQL "
        "`INSERT` + `COMMIT` loop, TLS, one process per worker. req/s and latencies are wall-clock and move with the "
        "shared machine's load; CPU per request is the worker process's own CPU, the steadier overhead figure.",
        "",
        "| workers | raw req/s | handler req/s | ratio | raw p50 / p99 ms | handler p50 / p99 ms | "
        "CPU per request, raw / handler |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for workers, pair in sorted(report["load"].items(), key=lambda item: int(item[0])):
        raw, handler = pair["raw"], pair["handler"]
        lines.append(
            f"| {workers} | {raw['req_per_s']:.0f} | {handler['req_per_s']:.0f} | {pair['ratio']:.2f} | "
            f"{raw['p50_ms']:.2f} / {raw['p99_ms']:.2f} | {handler['p50_ms']:.2f} / {handler['p99_ms']:.2f} | "
            f"{raw['cpu_ms_per_request']:.3f} / {handler['cpu_ms_per_request']:.3f} ms |"
        )
    load = report.get("machine", {}).get("load_average")
    if load:
        lines += ["", "Load average when measured: " + " / ".join(f"{value:.1f}" for value in load) + " (shared)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the trades handler against raw PyMySQL.")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per configuration (median kept)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this path")
    args = parser.parse_args(argv)

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
