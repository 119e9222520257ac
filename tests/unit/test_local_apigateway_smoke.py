"""What `make deploy` prints for calling the API (tools/smoke.py ``how_to_call``), for both targets, and the smoke
tool's one-line errors. The lines themselves run against a deployed API in tests/e2e/test_platform.py."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from python_stacks.config import EXAMPLE_AWS_ZONE
from python_stacks.stacks import load_configs
from tools.smoke import SAMPLE_TRADE, api_address, how_to_call

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = {
    "api_invoke_url": "https://abc123defg.execute-api.us-east-1.amazonaws.com/dev",
    "api_custom_domain_url": "https://api.dev.trading.example.com/",
}


def test_locally_the_base_url_is_the_emulators_execute_api_endpoint() -> None:
    (config,) = load_configs(["dev"], {"TARGET": "local", "LOCAL_AWS_ENDPOINT": "http://127.0.0.1:4599"})
    address = api_address(config, OUTPUTS)
    assert address is not None
    assert address.base_url == "http://127.0.0.1:4599/restapis/abc123defg/dev/_user_request_"
    assert "Host: abc123defg.execute-api.us-east-1.amazonaws.com" in address.note
    assert "Host: api.dev.trading.example.com" in address.note
    lines = how_to_call(config, OUTPUTS)
    post = next(line for line in lines if " -X POST " in line)
    words = shlex.split(post)
    assert words[0] == ".venv/bin/awscurl"
    assert words[words.index("--access_key") + 1] == "test" and words[words.index("--secret_key") + 1] == "test"
    assert words[-1] == f"{address.base_url}/trades"
    assert (
        words[words.index("-d") + 1] == '{"client_order_id": "ord-0001", "symbol": "AAPL", "side": "BUY", '
        '"order_type": "LIMIT", "quantity": 100, "limit_price": "187.25"}'
    )
    assert SAMPLE_TRADE["client_order_id"] == "ord-0001"
    assert any(line.strip().endswith(f"{address.base_url}/trades/1") for line in lines)


def test_on_aws_the_base_url_is_the_stage_invoke_url_and_no_keys_are_printed() -> None:
    (config,) = load_configs(["dev"], {"TARGET": "aws", **EXAMPLE_AWS_ZONE})
    lines = how_to_call(config, OUTPUTS)
    assert lines[0] == f"API base URL (AWS): {OUTPUTS['api_invoke_url']}"
    assert not any("--secret_key" in line for line in lines)


def test_nothing_is_printed_for_an_undeployed_workspace() -> None:
    (config,) = load_configs(["dev"], {"TARGET": "local"})
    assert how_to_call(config, {}) == []


def test_smoke_without_an_emulator_is_a_one_line_error(clean_env: dict[str, str]) -> None:
    env = dict(clean_env, LOCAL_AWS_ENDPOINT="http://127.0.0.1:9", TARGET="local")
    done = subprocess.run(
        [sys.executable, "-m", "tools.smoke", "--workspace", "dev"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: no emulator answers at http://127.0.0.1:9: run `make deploy` first"
    ]
