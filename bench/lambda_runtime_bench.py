"""The emulator's Lambda runtime: cold starts (INIT) and warm invocations through boto3, next to a plain moto call.

Usage: ``python -m bench.lambda_runtime_bench [--cold 5] [--warm 300] [--json PATH]``
Starts its own emulator on a free port. Functions: a minimal handler (returns its event) and the project's API
function from the shared ZIP (``make package``; its INIT imports Powertools, boto3 and pymysql and builds the
Secrets Manager client). Figures: Lambda's own "Init Duration" from the REPORT line (spawn of the sandboxed worker to
the runtime's first ``/next``), the wall time of a cold invocation through boto3, and warm invocation latency through
boto3 (p50/p99) beside a ``GetFunction`` call (moto's own round trip, the floor any invocation pays).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import re
import statistics
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from python_stacks.project import ROOT
from tools.emulator import Emulator, aws_client

MINIMAL = "def handler(event, context):\n    return event\n"
_INIT = re.compile(r"Init Duration: ([0-9.]+) ms")
_DURATION = re.compile(r"\tDuration: ([0-9.]+) ms")


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Bench:
    def __init__(self, emulator: Emulator) -> None:
        self.client = aws_client(emulator.endpoint, "lambda")
        self.role = aws_client(emulator.endpoint, "iam").create_role(
            RoleName=f"bench-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        self.secrets = aws_client(emulator.endpoint, "secretsmanager")

    def create(self, code: bytes, handler: str, memory: int, env: dict[str, str] | None = None) -> str:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        self.client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler=handler,
            Code={"ZipFile": code},
            MemorySize=memory,
            Timeout=30,
            Environment={"Variables": env or {}},
        )
        return name

    def invoke(self, name: str, event: dict[str, Any]) -> tuple[float, str]:
        started = time.perf_counter()
        response = self.client.invoke(FunctionName=name, Payload=json.dumps(event), LogType="Tail")
        response["Payload"].read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.get("FunctionError"):
            raise RuntimeError(f"{name} failed: {response}")
        return elapsed, base64.b64decode(response["LogResult"]).decode()

    def cold(
        self,
        runs: int,
        code: bytes,
        handler: str,
        memory: int,
        event: dict[str, Any],
        env: dict[str, str] | None = None,
    ) -> dict[str, float]:
        init, wall = [], []
        for _ in range(runs):
            elapsed, log = self.invoke(self.create(code, handler, memory, env), event)
            match = _INIT.search(log)
            assert match, log
            init.append(float(match.group(1)))
            wall.append(elapsed)
        return {
            "init_ms_median": round(statistics.median(init), 1),
            "init_ms_min": round(min(init), 1),
            "cold_invoke_ms_median": round(statistics.median(wall), 1),
            "runs": runs,
        }

    def warm(self, runs: int, name: str, event: dict[str, Any]) -> dict[str, float]:
        self.invoke(name, event)
        wall, inside = [], []
        for _ in range(runs):
            elapsed, log = self.invoke(name, event)
            wall.append(elapsed)
            match = _DURATION.search(log)
            if match:
                inside.append(float(match.group(1)))
        return {
            "p50_ms": round(_percentile(wall, 0.5), 2),
            "p99_ms": round(_percentile(wall, 0.99), 2),
            "handler_duration_p50_ms": round(_percentile(inside, 0.5), 2),
            "runs": runs,
        }

    def moto_floor(self, runs: int, name: str) -> dict[str, float]:
        wall = []
        for _ in range(runs):
            started = time.perf_counter()
            self.client.get_function_configuration(FunctionName=name)
            wall.append((time.perf_counter() - started) * 1000)
        return {"p50_ms": round(_percentile(wall, 0.5), 2), "p99_ms": round(_percentile(wall, 0.99), 2), "runs": runs}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument("--zip", type=Path, default=ROOT / "dist" / "lambda.zip")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not args.zip.is_file():
        print(f"error: {args.zip} is missing: run make package", file=sys.stderr)
        return 1
    emulator = Emulator.private()
    try:
        bench = Bench(emulator)
        minimal = _zip(MINIMAL)
        bench.invoke(bench.create(minimal, "app.handler", 128), {})  # waits for the worker runtime (built once)
        secret = bench.secrets.create_secret(
            Name=f"bench-{uuid.uuid4().hex[:6]}", SecretString='{"username": "u", "password": "p"}'
        )
        api_env = {
            "DB_SECRET_ARN": secret["ARN"],
            "DB_WRITER_HOST": "bench.cluster-abc.us-east-1.rds.amazonaws.com",
            "DB_NAME": "trading",
            "DB_TLS": "required",
            "POWERTOOLS_SERVICE_NAME": "trades-api",
        }
        api_zip = args.zip.read_bytes()
        not_found = {
            "httpMethod": "GET",
            "path": "/nowhere",
            "resource": "/{proxy+}",
            "headers": {},
            "requestContext": {"requestId": "bench", "stage": "dev"},
        }
        cold_minimal = bench.cold(args.cold, minimal, "app.handler", 128, {})
        cold_api = bench.cold(args.cold, api_zip, "handlers.api.handler", 512, not_found, api_env)
        warm_minimal = bench.warm(args.warm, bench.create(minimal, "app.handler", 128), {"n": 1})
        api = bench.create(api_zip, "handlers.api.handler", 512, api_env)
        warm_api = bench.warm(args.warm, api, not_found)
        floor = bench.moto_floor(args.warm, api)
    finally:
        emulator.stop()
    report = {
        "tables": [
            {
                "title": f"Cold start (median of {args.cold} fresh functions; INIT = Lambda's Init Duration)",
                "columns": ["function", "INIT median ms", "INIT min ms", "cold invoke through boto3, median ms"],
                "rows": [
                    [
                        "minimal handler (128 MB)",
                        cold_minimal["init_ms_median"],
                        cold_minimal["init_ms_min"],
                        cold_minimal["cold_invoke_ms_median"],
                    ],
                    [
                        "api function, shared ZIP (512 MB)",
                        cold_api["init_ms_median"],
                        cold_api["init_ms_min"],
                        cold_api["cold_invoke_ms_median"],
                    ],
                ],
            },
            {
                "title": f"Warm invocation through boto3 ({args.warm} sequential calls)",
                "columns": ["call", "p50 ms", "p99 ms", "handler Duration p50 ms (REPORT)"],
                "rows": [
                    [
                        "Invoke, minimal handler",
                        warm_minimal["p50_ms"],
                        warm_minimal["p99_ms"],
                        warm_minimal["handler_duration_p50_ms"],
                    ],
                    [
                        "Invoke, api function (GET of an unknown route: 404, no database)",
                        warm_api["p50_ms"],
                        warm_api["p99_ms"],
                        warm_api["handler_duration_p50_ms"],
                    ],
                    ["GetFunctionConfiguration (moto alone, no worker)", floor["p50_ms"], floor["p99_ms"], "—"],
                ],
            },
        ],
        "notes": [
            (
                "A cold invocation also pays the worker's sandbox (mount namespace, two interpreter starts) and, for "
                "the first function of a ZIP, its extraction; INIT is measured from the spawn to the runtime's /next."
            ),
            "Invoke minus GetFunctionConfiguration at p50 is what the runtime adds to moto's own round trip.",
        ],
    }
    for table in report["tables"]:
        print(f"\n{table['title']}")
        print(" | ".join(table["columns"]))
        for row in table["rows"]:
            print(" | ".join(str(cell) for cell in row))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
