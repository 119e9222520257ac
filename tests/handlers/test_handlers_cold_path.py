"""What a cold start of the API loads: no AWS SDK, and only the Powertools parts it uses (docs/decisions/0008).

Structural checks in a fresh interpreter (the CPU figures are bench/cold_start_bench.py's job, not a test's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOT_ON_THE_COLD_PATH = (
    "boto3",
    "botocore",
    "asyncio",
    "aws_xray_sdk",
    "aws_lambda_powertools.event_handler.appsync",
    "aws_lambda_powertools.event_handler.bedrock_agent",
    "aws_lambda_powertools.event_handler.vpc_lattice",
    "aws_lambda_powertools.event_handler.lambda_function_url",
    "aws_lambda_powertools.utilities.parameters",
)

_SCRIPT = """
import json, sys, uuid
import handlers.api as api
from tests.handlers.lambda_support import FakeContext, rest_event, trade_body
first = api.handler(rest_event("GET", "/health"), FakeContext())
order = json.dumps(trade_body("cold-" + uuid.uuid4().hex[:12]))
second = api.handler(rest_event("POST", "/trades", order), FakeContext())
loaded = sorted(sys.modules)
powertools = sys.modules["aws_lambda_powertools"]
init_ran = "Tracer" in vars(powertools)
from aws_lambda_powertools import Tracer  # the rest of Powertools is still there for whoever asks
from aws_lambda_powertools.event_handler import AppSyncResolver
print(json.dumps({"status": [first["statusCode"], second["statusCode"]], "modules": loaded, "init_ran": init_ran,
                  "later": [Tracer.__name__, AppSyncResolver.__name__]}))
"""


def _cold_start(handler_env: dict[str, str]) -> dict[str, Any]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **handler_env}
    result = subprocess.run(
        [sys.executable, "-B", "-c", _SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_cold_path_loads_no_sdk_and_no_other_resolver(migrated: Any, handler_env: dict[str, str]) -> None:
    outcome = _cold_start(handler_env)
    assert outcome["status"] == [200, 201]  # the secret came through the extension; the database answered
    loaded = outcome["modules"]
    unexpected = [name for name in loaded if name.startswith(NOT_ON_THE_COLD_PATH)]
    assert unexpected == [], unexpected
    assert not outcome["init_ran"]  # Powertools' package __init__ (Tracer, botocore hook) was skipped ...
    assert outcome["later"] == ["Tracer", "AppSyncResolver"]  # ... yet every name resolves when asked for
