"""Benchmark of the deployed platform on the local emulator: signed ``POST /trades`` through the local API.

Measures, against one private emulator with every extension on (its own free port) and one dev deployment:

- ``make deploy`` time of dev (account settings, data-protection and trading stacks: init + apply), next to the
  figure recorded before the emulator ran anything (plain moto, ``BEFORE_DEPLOY_S``);
- cold start of the api function: the first request through the API after the deploy (client time) and the
  ``Init Duration`` of the function's REPORT line in its log group;
- warm signed ``POST /trades`` through the API (SigV4 by botocore, one TCP connection per request as the emulator's
  HTTP/1.0 server closes each): p50/p99 latency and requests/s with 1 and 4 client processes;
- the same handler (``handlers.api.handler``) called in-process on the same MariaDB, with the same number of
  processes: the ratio API/in-process is the emulator's overhead (front, signature check, event, Lambda runtime).

The dev stage throttles at 50 requests/s (burst 100), which a benchmark exceeds; the stage's ``*/*`` limits are
raised for the measurement (the throttling itself is tested in tests/unit/test_local_apigateway.py).

Usage: ``python -m bench.api_bench [--requests 600] [--json bench/out/api.json]``; about 6 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from python_stacks.constants import REGION
from python_stacks.target import TEST_ACCESS_KEY, TEST_SECRET_KEY

# `make deploy` of dev before the emulator ran Lambda code, databases or execute-api: bench/results.md, section
# "Deploy to the emulator", at commit c4e5140 (plain moto 5.2.5, same machine type).
BEFORE_DEPLOY_S = 161.9
WARMUP = 30
TRADE = {"symbol": "AAPL", "side": "BUY", "order_type": "LIMIT", "quantity": 10, "limit_price": "187.25"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def _trade(prefix: str, index: int) -> bytes:
    return json.dumps({"client_order_id": f"{prefix}-{index}", **TRADE}).encode()


# --------------------------------------------------------------------------------------------------------------------
# Load: through the API, and in-process
# --------------------------------------------------------------------------------------------------------------------


def _timed_requests(send: Callable[[int], int], count: int, barrier: Any, results: Any) -> None:
    """Warm up, wait for every client, then time ``count`` requests and report them to the parent."""
    for index in range(WARMUP):
        send(-index - 1)
    barrier.wait()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for index in range(count):
        started = time.perf_counter()
        status = send(index)
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    results.put((latencies, statuses, time.perf_counter()))


def _api_client(base_url: str, prefix: str, count: int, barrier: Any, results: Any) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = urlparse(base_url)
    signer = SigV4Auth(Credentials(TEST_ACCESS_KEY, TEST_SECRET_KEY), "execute-api", REGION)

    def send(index: int) -> int:
        body = _trade(prefix, index)
        request = AWSRequest(
            method="POST", url=f"{base_url}/trades", data=body, headers={"Content-Type": "application/json"}
        )
        signer.add_auth(request)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        connection.request("POST", f"{url.path}/trades", body=body, headers=dict(request.headers.items()))
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status

    _timed_requests(send, count, barrier, results)


def _in_process_client(env: dict[str, str], prefix: str, count: int, barrier: Any, results: Any) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the handler logs to stdout, as on Lambda
    os.environ.update(env)
    import handlers.api as api
    from tests.handlers.lambda_support import FakeContext, rest_event

    context = FakeContext(function_name="trades-api-dev")

    def send(index: int) -> int:
        event = rest_event("POST", "/trades", _trade(prefix, index).decode())
        return int(api.handler(event, context)["statusCode"])

    _timed_requests(send, count, barrier, results)


def run_load(target: Any, args: tuple[Any, ...], clients: int, requests: int, label: str) -> dict[str, Any]:
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(clients + 1), spawn.Queue()
    per_client = requests // clients
    processes = [
        spawn.Process(target=target, args=(*args, f"{label}-{uuid.uuid4().hex[:6]}-{n}", per_client, barrier, results))
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    collected = [results.get(timeout=900) for _ in processes]
    for process in processes:
        process.join()
    ended = max(end for _, _, end in collected)
    latencies = [value for values, _, _ in collected for value in values]
    statuses: dict[str, int] = {}
    for _, counts, _ in collected:
        for status, count in counts.items():
            statuses[str(status)] = statuses.get(str(status), 0) + count
    return {
        "clients": clients,
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / (ended - started), 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "statuses": statuses,
    }


# --------------------------------------------------------------------------------------------------------------------
# The deployment
# --------------------------------------------------------------------------------------------------------------------


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def in_process_env(endpoint: str, function: dict[str, Any], cluster: dict[str, Any]) -> dict[str, str]:
    """The api function's environment, pointed at the cluster's local server (no worker network in-process)."""
    env = dict(function["Environment"]["Variables"])
    env.update(
        {
            "DB_WRITER_HOST": cluster["address"],
            "DB_READER_HOST": cluster["address"],
            "DB_PORT": str(cluster["port"]),
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": function["FunctionName"],
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    if env.get("DB_TLS", "").startswith("verify_"):
        # The server's certificate names the endpoints, not 127.0.0.1: verify the chain, skip the host name.
        from local_cloud import tls

        env["DB_TLS"], env["DB_TLS_CA_BUNDLE"] = "verify_ca", str(tls.ca_path())
    return env


def moto_round_trip(endpoint: str, count: int = 300) -> dict[str, float]:
    """The floor: a plain moto call on the same port (STS GetCallerIdentity, a new connection each), sequential."""
    url = urlparse(endpoint)
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={TEST_ACCESS_KEY}/20260101/{REGION}/sts/aws4_request",
    }
    latencies = []
    for _ in range(WARMUP + count):
        started = time.perf_counter()
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        connection.request("POST", "/", body=body, headers=headers)
        connection.getresponse().read()
        connection.close()
        latencies.append((time.perf_counter() - started) * 1000)
    measured = latencies[WARMUP:]
    return {"p50_ms": round(statistics.median(measured), 2), "p99_ms": round(percentile(measured, 0.99), 2)}


def init_duration_ms(logs: Any, function_name: str) -> float | None:
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function_name}", filterPattern="REPORT")["events"]
    for event in events:
        found = re.search(r"Init Duration: ([\d.]+) ms", event["message"])
        if found:
            return float(found.group(1))
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="measured requests per case (after warm-up)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from python_stacks import fast_imports

    fast_imports.prepare()
    from python_stacks.stacks import load_configs
    from tools.deploy import Deployment
    from tools.emulator import Emulator, aws_client
    from tools.smoke import api_address
    from tools.synth import synth

    report: dict[str, Any] = {"notes": []}
    emulator = Emulator.private()
    try:
        with tempfile.TemporaryDirectory(prefix="api-bench-", dir=os.environ.get("TMPDIR")) as tmp:
            (config,) = load_configs(["dev"], {"TARGET": "local", "LOCAL_AWS_ENDPOINT": emulator.endpoint})
            outdir = Path(tmp) / "root" / "cdktf.out"
            synth([config], outdir)
            deployment = Deployment(config, outdir)
            started = time.monotonic()
            outputs = deployment.deploy(synthesize=False)
            report["deploy"] = {"after_s": round(time.monotonic() - started, 1), "before_s": BEFORE_DEPLOY_S}
            address = api_address(config, outputs)
            assert address is not None
            lam, logs, apigateway = (aws_client(emulator.endpoint, s) for s in ("lambda", "logs", "apigateway"))
            function = lam.get_function_configuration(FunctionName=f"trades-api-{config.naming.environment_suffix}")
            started = time.perf_counter()
            with urllib.request.urlopen(f"{address.base_url}/health", timeout=60) as response:
                response.read()
            report["cold"] = {
                "first_request_ms": round((time.perf_counter() - started) * 1000, 1),
                "init_duration_ms": init_duration_ms(logs, function["FunctionName"]),
            }

            api_id = urlparse(str(outputs["api_invoke_url"])).hostname.split(".")[0]  # type: ignore[union-attr]
            apigateway.update_stage(
                restApiId=api_id,
                stageName=config.workspace,
                patchOperations=[
                    {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "10000"},
                    {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "5000"},
                ],
            )
            report["notes"].append(
                "dev's stage throttling (50/s, burst 100) raised to 10,000/s, burst 5,000 for the measurement"
            )

            (cluster,) = [
                c
                for c in _get_json(f"{emulator.endpoint}/_local_cloud/rds/clusters/")
                if c["identifier"] == f"aurora-{config.naming.environment_suffix}"
            ]
            env = in_process_env(emulator.endpoint, function, cluster)
            rows = []
            for clients in (1, 4):
                print(f"api bench: {clients} client(s) through the API ...", flush=True)
                api = run_load(_api_client, (address.base_url,), clients, args.requests, "api")
                print(f"api bench: {clients} client(s) in-process ...", flush=True)
                direct = run_load(_in_process_client, (env,), clients, args.requests, "direct")
                rows.append(
                    {
                        "clients": clients,
                        "api": api,
                        "in_process": direct,
                        "ratio": round(api["req_per_s"] / direct["req_per_s"], 3),
                    }
                )
            report["load"] = rows
            report["moto_round_trip"] = moto_round_trip(emulator.endpoint)
            deployment.destroy(with_data=True, synthesize=False)
    finally:
        emulator.stop()
    print(markdown(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def markdown(report: dict[str, Any]) -> str:
    """The section bench/report.py puts into bench/results.md."""
    lines = [
        "Signed `POST /trades` through the deployed dev API on a private emulator (all extensions: execute-api, "
        "Lambda runtime, MariaDB behind Aurora), next to the same handler called in-process on the same database. "
        "Each client is a process; through the API every request is signed (botocore SigV4) on a new TCP connection.",
        "",
        "| clients | API req/s | API p50 / p99 ms | in-process req/s | in-process p50 / p99 ms | API / in-process |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report.get("load", []):
        api, direct = row["api"], row["in_process"]
        lines.append(
            f"| {row['clients']} | {api['req_per_s']} | {api['p50_ms']} / {api['p99_ms']} | "
            f"{direct['req_per_s']} | {direct['p50_ms']} / {direct['p99_ms']} | {row['ratio']} |"
        )
    cold, deploy = report.get("cold", {}), report.get("deploy", {})
    init = cold.get("init_duration_ms")
    lines += [
        "",
        "| figure | value |",
        "|---|---:|",
        f"| cold start of the api function: first request through the API | {cold.get('first_request_ms')} ms |",
        f"| cold start: `Init Duration` in the function's REPORT line | {'n/a' if init is None else f'{init} ms'} |",
        f"| floor: a plain moto call on the same port (STS, new connection) p50 / p99 | "
        f"{report.get('moto_round_trip', {}).get('p50_ms')} / {report.get('moto_round_trip', {}).get('p99_ms')} ms |",
        f"| `make deploy` dev, plain moto (before) | {deploy.get('before_s')} s |",
        f"| `make deploy` dev, with the extensions (after) | {deploy.get('after_s')} s |",
    ]
    statuses = {s for row in report.get("load", []) for side in ("api", "in_process") for s in row[side]["statuses"]}
    lines.append("")
    lines.append(f"Statuses seen: {', '.join(sorted(statuses)) or 'none'}.")
    if report.get("notes"):
        lines += ["", *[f"- {note}" for note in report["notes"]]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
