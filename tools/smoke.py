"""Send a signed trade through a deployed workspace's API and read it back: the platform works end to end.

Usage: ``python -m tools.smoke [--workspace WS]`` (``make smoke``; TARGET=local, the default, or TARGET=aws).
Steps: ``GET /health`` (open), ``POST /trades`` signed (201), ``GET /trades/{id}`` signed (the same trade), the
same ``POST`` again (200, the stored trade: idempotent), and an unsigned ``POST`` (403). Prints each step's status,
ids and time; exits 1 on any mismatch. Locally it signs with the emulator's test credentials and calls the API
through the emulator's execute-api endpoint; on AWS it signs with your credentials and calls the stage's invoke URL.

``how_to_call`` gives the lines ``make deploy`` prints: the base URL and copy-paste awscurl requests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from python_stacks.config import StackConfig
from python_stacks.constants import REGION
from python_stacks.project import ROOT
from python_stacks.target import TEST_ACCESS_KEY, TEST_SECRET_KEY

AWSCURL = ".venv/bin/awscurl"  # installed by `make setup` (requirements-dev.txt)
SAMPLE_TRADE = {
    "client_order_id": "ord-0001",
    "symbol": "AAPL",
    "side": "BUY",
    "order_type": "LIMIT",
    "quantity": 100,
    "limit_price": "187.25",
}


class SmokeError(RuntimeError):
    pass


@dataclass(frozen=True)
class ApiAddress:
    base_url: str  # no trailing slash; paths such as /trades are appended
    note: str  # how else the same API answers


def api_address(config: StackConfig, outputs: Mapping[str, object]) -> ApiAddress | None:
    """Where the deployed API answers for this target, from the trading stack's outputs."""
    invoke_url = outputs.get("api_invoke_url")
    if not invoke_url:
        return None
    if not config.target.is_local:
        return ApiAddress(str(invoke_url).rstrip("/"), f"custom domain: {outputs.get('api_custom_domain_url')}")
    parsed = urlparse(str(invoke_url))  # https://{api-id}.execute-api.{region}.amazonaws.com/{stage}
    api_id, stage = parsed.hostname.split(".", 1)[0] if parsed.hostname else "", parsed.path.strip("/")
    endpoint = config.target.endpoint
    domain = urlparse(str(outputs.get("api_custom_domain_url") or "")).hostname
    note = f"same port, Host: {parsed.hostname} (path /{stage}/...)"
    if domain:
        note += f" or Host: {domain}"
    return ApiAddress(f"{endpoint}/restapis/{api_id}/{stage}/_user_request_", note)


def _credentials_flags(config: StackConfig) -> str:
    if config.target.is_local:
        return f"--access_key {TEST_ACCESS_KEY} --secret_key {TEST_SECRET_KEY} "
    return ""  # awscurl reads the AWS profile / environment like the AWS CLI


def how_to_call(config: StackConfig, outputs: Mapping[str, object]) -> list[str]:
    """The lines `make deploy` prints under the outputs: base URL and signed requests to copy."""
    address = api_address(config, outputs)
    if address is None:
        return []
    signing = f"{AWSCURL} --service execute-api --region {REGION} {_credentials_flags(config)}"
    trade = json.dumps(SAMPLE_TRADE)
    return [
        f"API base URL ({'emulator' if config.target.is_local else 'AWS'}): {address.base_url}",
        f"  ({address.note})",
        "Signed requests (AWS_IAM routes) — create a trade, then read it back with the id it answers:",
        f"  {signing}-X POST -H 'Content-Type: application/json' -d '{trade}' {address.base_url}/trades",
        f"  {signing}{address.base_url}/trades/1",
        f"Open route: curl {address.base_url}/health     End-to-end check: make smoke"
        + (f" WORKSPACE={config.workspace}" if config.workspace != "dev" else ""),
    ]


# --------------------------------------------------------------------------------------------------------------------
# The smoke run
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    milliseconds: float

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def _credentials(config: StackConfig) -> Any:
    from botocore.credentials import Credentials

    if config.target.is_local:
        return Credentials(TEST_ACCESS_KEY, TEST_SECRET_KEY)
    import boto3

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise SmokeError("no AWS credentials found (set AWS_PROFILE or the AWS_* variables)")
    return credentials.get_frozen_credentials()


def send(method: str, url: str, body: bytes | None = None, credentials: Any = None) -> Reply:
    """One request, SigV4-signed for execute-api when ``credentials`` are given."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if credentials is not None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        signed = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(credentials, "execute-api", REGION).add_auth(signed)
        headers = dict(signed.headers.items())
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, data = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, data = error.code, error.read()
    except (urllib.error.URLError, OSError) as exc:
        raise SmokeError(f"{method} {url}: {exc}") from None
    return Reply(status, data, (time.perf_counter() - started) * 1000)


class Smoke:
    def __init__(self, base_url: str, credentials: Any) -> None:
        self.base_url = base_url
        self.credentials = credentials
        self.failures: list[str] = []

    def step(self, label: str, reply: Reply, expected: int, detail: str = "") -> Reply:
        ok = reply.status == expected
        mark = "ok  " if ok else "FAIL"
        print(f"  {mark} {label:<34} {reply.status}  {reply.milliseconds:7.1f} ms  {detail}".rstrip(), flush=True)
        if not ok:
            self.failures.append(f"{label}: expected {expected}, got {reply.status}: {reply.body[:300]!r}")
        return reply

    def check(self, label: str, condition: bool, detail: str) -> None:
        if not condition:
            print(f"  FAIL {label}: {detail}", flush=True)
            self.failures.append(f"{label}: {detail}")

    def run(self) -> list[str]:
        health = self.step("GET /health (open)", send("GET", f"{self.base_url}/health"), 200)
        self.check("health", (health.json() or {}).get("status") == "ok", f"answer {health.body[:200]!r}")
        trade = dict(SAMPLE_TRADE, client_order_id=f"smoke-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}")
        body = json.dumps(trade).encode()
        created = self.step(
            "POST /trades (signed)",
            send("POST", f"{self.base_url}/trades", body, self.credentials),
            201,
            f"client_order_id {trade['client_order_id']}",
        )
        stored = created.json() if isinstance(created.json(), dict) else {}
        self.check("created trade", {k: stored.get(k) for k in trade} == trade, f"answer {created.body[:300]!r}")
        trade_id = stored.get("id")
        if trade_id is None:
            return self.failures
        read = self.step(
            "GET /trades/{id} (signed)",
            send("GET", f"{self.base_url}/trades/{trade_id}", None, self.credentials),
            200,
            f"id {trade_id}",
        )
        self.check("read back", read.json() == stored, f"{read.body[:300]!r} != {created.body[:300]!r}")
        replay = self.step(
            "POST /trades again (idempotent)",
            send("POST", f"{self.base_url}/trades", body, self.credentials),
            200,
            f"id {trade_id}",
        )
        self.check("replay", replay.json() == stored, f"{replay.body[:300]!r}")
        self.step("POST /trades unsigned (refused)", send("POST", f"{self.base_url}/trades", body), 403)
        return self.failures


def _outputs(config: StackConfig, outdir: Path) -> Mapping[str, object]:
    from tools.deploy import DeployError, Deployment

    deployment = Deployment(config, outdir)
    if not (deployment.trading.directory / ".terraform").is_dir():
        deployment.prepare()
    try:
        return deployment.trading.outputs()
    except DeployError as exc:
        raise SmokeError(str(exc)) from None


def main(argv: list[str]) -> int:
    from python_stacks import UserError
    from python_stacks.stacks import load_configs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default=os.environ.get("WORKSPACE") or os.environ.get("TF_WORKSPACE") or "dev")
    parser.add_argument("--outdir", type=Path, default=ROOT / "cdktf.out")
    args = parser.parse_args(argv)
    try:
        (config,) = load_configs([args.workspace])
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if config.target.is_local:
            from tools.emulator import Emulator, port_of

            if not Emulator(port_of(config.target.endpoint)).healthy():
                raise SmokeError(f"no emulator answers at {config.target.endpoint}: run `make deploy` first")
        address = api_address(config, _outputs(config, args.outdir))
        if address is None:
            raise SmokeError(
                f"workspace {config.workspace} is not deployed to {config.target.name} "
                f"(no api_invoke_url output): run `make deploy WORKSPACE={config.workspace}`"
            )
        print(f"smoke: workspace {config.workspace} ({config.target.name}) at {address.base_url}", flush=True)
        failures = Smoke(address.base_url, _credentials(config)).run()
    except SmokeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if failures:
        print(f"smoke: FAILED ({len(failures)}):", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print("smoke: ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
