"""Cold-start benchmark of the API function: CPU of ``import handlers.api`` and of its first request, before/after.

Measured the way issue #12 defines it: CPU time (user + sys, from the kernel's accounting of the child process)
of a fresh CPython 3.12 that has boto3 importable, as Lambda's runtime does, median of 7 runs, minus the same
harness without the handler (a bare interpreter start). Each artifact is the shared ZIP, unpacked:

- ``import``: ``import handlers.api``;
- ``cold path``: the import plus the first request, ``POST /trades`` against a TLS MariaDB: the secret fetched,
  the TLS connection opened, the row inserted.

"before" is the ZIP built from a git ref by that ref's own tools/package.py -- by default ``a3b5e0c``, the code
issue #12 measured (the last commit before this work; ``main`` itself once it is merged) -- and "after" is this
checkout. The before code reads its secret with boto3, from a moto server; the after code through the Parameters
and Secrets Lambda Extension (local_cloud/secrets_extension.py) backed by the same moto server. Both servers run
in this process: on Lambda the extension is a process of its own, so its CPU is not the function's. The import
breakdown splits the import's CPU by top-level package in the proportions of ``-X importtime``'s self times.

Usage: ``python -m bench.cold_start_bench [--ref a3b5e0c] [--runs 7] [--python PY312]``
(``--json bench/out/cold_start.json`` writes the figures for bench/report.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import uuid
import zipfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from python_stacks.project import CACHE_DIR, ROOT
from tests.support.mariadb import MariaDB
from tools import package, sidevenv

REGION = "us-east-1"
DB_NAME = "bench"
MASTER_USER = "bench_master"
MASTER_PASSWORD = "bench-password-1"
SESSION_TOKEN = "bench-session-token"
GOAL_MS = 150
BEFORE_REF = "a3b5e0c"  # the handlers as issue #12 measured them (boto3 SecretsProvider, full Powertools imports)
# The child: interpreter start, the harness, then (by MODE) nothing, the import, or the import and one request;
# it ends without the interpreter's teardown (a Lambda execution environment does not exit after a request) unless
# BENCH_TEARDOWN=1, the process total issue #12 measured.
CHILD = r"""
import json, os, resource, sys
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
started = cpu()
mode = os.environ["BENCH_MODE"]
report = {}
if mode != "bare":
    sys.path.insert(0, os.getcwd())
    import handlers.api
    report["import_ms"] = (cpu() - started) * 1000
    if mode == "request":
        print("--first-request--", file=sys.stderr, flush=True)
        class Context:
            function_name = "trades-api-bench"
            memory_limit_in_mb = 512
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:trades-api-bench"
            aws_request_id = "bench"
            def get_remaining_time_in_millis(self):
                return 30000
        event = json.loads(os.environ["BENCH_EVENT"])
        before = cpu()
        reply = handlers.api.handler(event, Context())
        report["request_ms"] = (cpu() - before) * 1000
        report["status"] = reply["statusCode"]
        report["sdk_modules"] = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))
print("BENCH " + json.dumps(report), flush=True)
sys.stderr.flush()
if os.environ.get("BENCH_TEARDOWN") != "1":
    os._exit(0)  # no interpreter teardown: on Lambda the process lives on after its first request
"""


def runtime_python(explicit: str | None) -> str:
    """A CPython 3.12 with boto3 importable (the Lambda runtime's situation), made under .cache/ if needed."""
    if explicit:
        return os.path.abspath(explicit)  # not resolve(): a venv's python is a symlink that must stay one
    pin = re.search(r"^boto3==(\S+)", (ROOT / "requirements-dev.txt").read_text(), re.M)
    version = pin.group(1) if pin else "1.44.8"
    venv = CACHE_DIR / f"cold-start-py312-boto3-{version}"
    python = sidevenv.ensure(venv, [f"boto3=={version}"], python=package.find_runtime_python(None), label="cold start")
    return str(python)


def build_zip(ref: str | None, folder: Path) -> dict[str, Any]:
    """Build the ZIP of ``ref`` (its own handlers/ and tools/package.py) or, for None, of this checkout."""
    output = folder / "lambda.zip"
    if ref is None:
        return package.build(output)
    source = folder / "source"
    source.mkdir()
    archive = subprocess.run(["git", "archive", ref, "handlers", "tools"], cwd=ROOT, capture_output=True, check=True)
    archive_path = folder / "source.tar"
    archive_path.write_bytes(archive.stdout)
    with tarfile.open(archive_path) as tar:
        tar.extractall(source, filter="data")
    (source / "requirements-dev.txt").write_text("")  # some package.py versions read it; nothing needed from it
    env = {**os.environ, "TRADING_CACHE_DIR": str(package.CACHE_DIR)}  # reuse the pinned dependency tree
    result = subprocess.run(
        [sys.executable, "-m", "tools.package", "--output", str(output), "--json"],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building the {ref} ZIP failed:\n{result.stderr}")
    return json.loads(result.stdout)


class Platform:
    """MariaDB with TLS, a moto server with the secrets, the secrets extension, the schema and the API user."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        from tests.support.mariadb import free_port

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per moto request

        self.moto_port = free_port()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self.moto.start()
        self.endpoint = f"http://127.0.0.1:{self.moto_port}"
        self.database = MariaDB.create(tls=True)
        self.database.start()
        with self.database.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE USER '{MASTER_USER}'@'%' IDENTIFIED BY '{MASTER_PASSWORD}'")
            cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{MASTER_USER}'@'%' WITH GRANT OPTION")
        client = self.client()
        master = json.dumps({"username": MASTER_USER, "password": MASTER_PASSWORD})
        self.master_arn = client.create_secret(Name="rds!cluster-bench", SecretString=master)["ARN"]
        self.app_arn = client.create_secret(Name="trades-api-db-bench")["ARN"]
        from local_cloud import secrets_extension

        self.extension = secrets_extension.start(port=0, client_factory=self.client, token=SESSION_TOKEN, ttl=300)
        self._migrate()

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "secretsmanager",
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    def _migrate(self) -> None:
        from handlers.config import Settings
        from handlers.migration import SecretsManagerSecrets, migrate_database

        env = {**self.env(before=False), "DB_SECRET_ARN": self.master_arn, "DB_APP_SECRET_ARN": self.app_arn}
        migrate_database(Settings.for_migration(env), SecretsManagerSecrets(self.client()))

    def env(self, before: bool) -> dict[str, str]:
        """The function's environment: the before code logs in as the master user, the after code as trades_api."""
        return {
            "PATH": os.environ.get("PATH", ""),
            "DB_SECRET_ARN": self.master_arn if before else self.app_arn,
            "DB_WRITER_HOST": self.database.host,
            "DB_PORT": str(self.database.port),
            "DB_NAME": DB_NAME,
            "DB_TLS": "required",
            "POWERTOOLS_SERVICE_NAME": "trades-api",
            "POWERTOOLS_METRICS_NAMESPACE": "trading-bench",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(self.extension.port),
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
        }

    def stop(self) -> None:
        self.extension.stop()
        self.moto.stop()
        self.database.destroy()


def trade_event() -> str:
    order_id = f"cold-{uuid.uuid4().hex[:20]}"
    body = {
        "client_order_id": order_id,
        "symbol": "AAPL",
        "side": "BUY",
        "order_type": "LIMIT",
        "quantity": 100,
        "limit_price": "187.25",
    }
    return json.dumps(
        {
            "resource": "/trades",
            "path": "/trades",
            "httpMethod": "POST",
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Content-Type": ["application/json"]},
            "requestContext": {"requestId": str(uuid.uuid4()), "stage": "bench", "path": "/bench/trades"},
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
    )


def child_cpu_ms(
    python: str, tree: Path, env: dict[str, str], mode: str, teardown: bool = False
) -> tuple[float, dict[str, Any]]:
    """CPU of one child as the kernel accounts it (user + sys), in ms, and the child's own report."""
    child_env = {**env, "BENCH_MODE": mode, "BENCH_EVENT": trade_event(), "BENCH_TEARDOWN": "1" if teardown else ""}
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        # -B and a fresh interpreter: /var/task is read-only on Lambda, nothing compiled at one start survives.
        # Output goes to files and the child is reaped with wait4, which returns its rusage.
        command = [python, "-I", "-B", "-c", CHILD]
        process = subprocess.Popen(command, cwd=tree, env=child_env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{err[-3000:]}")
    line = next(text for text in out.splitlines() if text.startswith("BENCH "))
    return (usage.ru_utime + usage.ru_stime) * 1000, json.loads(line[len("BENCH ") :])


def import_cpu_by_package(stderr: str, import_cpu_ms: float) -> dict[str, float]:
    """The import's CPU split by top-level package in the proportions of ``-X importtime``'s self times.

    importtime measures wall time per module, which other processes on a shared machine inflate at random;
    scaling its shares to the CPU the child really spent keeps the breakdown's sum equal to the import figure.
    """
    self_times: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        if line.startswith("--first-request--"):
            break
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            top = match.group(2).split(".")[0]
            known = ("handlers", "aws_lambda_powertools", "pymysql", "boto3", "botocore", "urllib3", "s3transfer")
            self_times[top if top in known else "stdlib and other"] += int(match.group(1))
    total = sum(self_times.values()) or 1
    return {group: import_cpu_ms * value / total for group, value in self_times.items()}


def measure(python: str, tree: Path, env: dict[str, str], runs: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = defaultdict(list)
    split: dict[str, list[float]] = defaultdict(list)
    loaded: list[str] = []
    for _ in range(runs):
        for mode in ("bare", "import", "request"):  # interleaved: drifting machine load hits all alike
            cpu, report = child_cpu_ms(python, tree, env, mode)
            samples[mode].append(cpu)
            if mode != "import":
                samples[f"{mode}_with_teardown"].append(child_cpu_ms(python, tree, env, mode, teardown=True)[0])
            if mode == "request":
                if report["status"] != 201:
                    raise RuntimeError(f"the first request answered {report['status']}, not 201")
                split["import"].append(report["import_ms"])
                split["first_request"].append(report["request_ms"])
                loaded = report["sdk_modules"]
    by_package: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        child_env = {**env, "BENCH_MODE": "import", "BENCH_EVENT": trade_event()}
        result = subprocess.run(
            [python, "-I", "-B", "-X", "importtime", "-c", CHILD],
            cwd=tree,
            env=child_env,
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("BENCH "))[6:])
        for group, value in import_cpu_by_package(result.stderr, report["import_ms"]).items():
            by_package[group].append(value)
    bare = statistics.median(samples["bare"])
    return {
        "bare_interpreter_ms": bare,
        "import_ms": statistics.median(samples["import"]) - bare,
        "cold_path_ms": statistics.median(samples["request"]) - bare,
        "process_total_ms": statistics.median(samples["request_with_teardown"])
        - statistics.median(samples["bare_with_teardown"]),
        "in_child_import_ms": statistics.median(split["import"]),
        "in_child_first_request_ms": statistics.median(split["first_request"]),
        "sdk_modules_loaded": len(loaded),
        "import_cpu_by_package_ms": {
            group: statistics.median(values + [0.0] * (runs - len(values))) for group, values in by_package.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default=BEFORE_REF, help=f"git ref whose code is 'before' (default: {BEFORE_REF})")
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per figure (median kept)")
    parser.add_argument("--python", help="a CPython 3.12 with boto3 installed (default: made under .cache/)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this path")
    args = parser.parse_args(argv)

    python = runtime_python(args.python)
    version = subprocess.run([python, "-V"], capture_output=True, text=True, check=True).stdout.strip()
    boto3_version = subprocess.run(
        [python, "-c", "import boto3; print(boto3.__version__)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    platform_ = Platform()
    report: dict[str, Any] = {"python": version, "boto3": boto3_version, "runs": args.runs, "goal_ms": GOAL_MS}
    try:
        with tempfile.TemporaryDirectory(prefix="cold-start-") as folder:
            for label, ref in (("before", args.ref), ("after", None)):
                work = Path(folder) / label
                work.mkdir()
                artifact = build_zip(ref, work)
                tree = work / "tree"
                with zipfile.ZipFile(artifact["path"]) as archive:
                    archive.extractall(tree)
                figures = measure(python, tree, platform_.env(before=label == "before"), args.runs)
                figures["zip_size_bytes"] = artifact["size_bytes"]
                figures["code"] = args.ref if ref else "this checkout"
                report[label] = figures
                print(f"{label}: import {figures['import_ms']:.0f} ms, cold path {figures['cold_path_ms']:.0f} ms")
    finally:
        platform_.stop()
    report["machine"] = {
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(markdown(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nJSON: {args.json}")
    return 0


def markdown(report: dict[str, Any]) -> str:
    before, after = report["before"], report["after"]
    lines = [
        f"CPU time (user + sys) of a fresh {report['python']} with boto3 {report['boto3']} importable, median of "
        f"{report['runs']} runs, minus a bare interpreter start ({after['bare_interpreter_ms']:.0f} ms; no "
        f"interpreter teardown in either); the ZIP unpacked. Cold path = `import handlers.api` + the first "
        f"`POST /trades` against a TLS MariaDB (secret read, TLS connection opened, row inserted). Goal: cold path "
        f"<= {report['goal_ms']} ms.",
        "",
        "| figure | before (`" + str(before["code"]) + "`) | after |",
        "|---|---:|---:|",
        f"| import of handlers.api | {before['import_ms']:.0f} ms | {after['import_ms']:.0f} ms |",
        f"| cold path (import + first request) | {before['cold_path_ms']:.0f} ms | {after['cold_path_ms']:.0f} ms |",
        f"| the same, process total with interpreter exit (as issue #12 measured) | "
        f"{before['process_total_ms']:.0f} ms | {after['process_total_ms']:.0f} ms |",
        f"| measured inside the child: import | {before['in_child_import_ms']:.0f} ms | "
        f"{after['in_child_import_ms']:.0f} ms |",
        f"| measured inside the child: first request | {before['in_child_first_request_ms']:.0f} ms | "
        f"{after['in_child_first_request_ms']:.0f} ms |",
        f"| boto3/botocore modules loaded | {before['sdk_modules_loaded']} | {after['sdk_modules_loaded']} |",
        f"| ZIP size | {before['zip_size_bytes']:,} bytes | {after['zip_size_bytes']:,} bytes |",
        "",
        "Import breakdown by top-level package: the import's CPU (measured in the child, harness included) split in "
        "the proportions of `-X importtime`'s self times, median of the runs, ms:",
        "",
        "| package | before | after |",
        "|---|---:|---:|",
    ]
    old, new = before["import_cpu_by_package_ms"], after["import_cpu_by_package_ms"]
    for group in sorted(set(old) | set(new), key=lambda name: -max(old.get(name, 0.0), new.get(name, 0.0))):
        lines.append(f"| {group} | {old.get(group, 0.0):.0f} | {new.get(group, 0.0):.0f} |")
    machine = report.get("machine", {})
    if machine:
        load = " / ".join(f"{value:.1f}" for value in machine["load_average"])
        lines += ["", f"Measured {machine['measured_at']} on {machine['cpus']} cores, load average {load} (shared)."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
