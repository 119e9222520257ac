"""Provider 6.x, checked statically: tools/provider6_check.py passes, and its scanner does catch removed names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from python_stacks.workspace import WORKSPACES
from tools.provider6_check import Use, findings, removed_between, uses_in_hcl, uses_in_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_stack_synthesizes_with_the_6x_bindings_and_uses_nothing_6x_removed(lambda_zip: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NODE_OPTIONS", "TF_WORKSPACE")}
    result = subprocess.run(
        [sys.executable, "-m", "tools.provider6_check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    for target in ("aws", "local"):
        ok = re.search(rf"synth with the 6\.x bindings \(TARGET={target}\): (\d+) stacks ok", result.stdout)
        assert ok and int(ok.group(1)) >= 2 * len(WORKSPACES), result.stdout
    assert ": 0 finding(s)" in result.stdout


def test_scanner_flags_removed_arguments_and_attributes_in_hcl(tmp_path: Path) -> None:
    module = tmp_path / "main.tf"
    module.write_text(
        'data "aws_region" "current" {}\n'
        'resource "aws_eip" "nat" {\n  vpc = true\n  tags = { Region = data.aws_region.current.name }\n}\n'
        'resource "aws_flow_log" "vpc" {\n  log_group_name = "x"\n  traffic_type = "ALL"\n}\n'
        'output "url" {\n  value = aws_api_gateway_deployment.this.invoke_url\n}\n'
    )
    problems = findings(uses_in_hcl(module))
    text = "\n".join(problems)
    assert "resource aws_eip.vpc (removed in 6.0" in text
    assert "resource aws_flow_log.log_group_name (removed in 6.0" in text
    assert "data aws_region.name (deprecated in 6.0" in text
    assert "resource aws_api_gateway_deployment.invoke_url (removed in 6.0" in text
    assert "traffic_type" not in text and "tags" not in text
    assert len(problems) == 4


def test_scanner_flags_removed_provider_endpoints_and_bindings_differences() -> None:
    config = {
        "provider": {"aws": [{"region": "us-east-1", "endpoints": [{"s3": "http://x", "opsworks": "http://x"}]}]},
        "resource": {"aws_api_gateway_account": {"main": {"reset_on_delete": True, "cloudwatch_role_arn": "r"}}},
    }
    removed = removed_between(
        {"resource:aws_api_gateway_account": {"reset_on_delete", "cloudwatch_role_arn"}},
        {"resource:aws_api_gateway_account": {"cloudwatch_role_arn"}},
    )
    assert removed == {"resource:aws_api_gateway_account": {"reset_on_delete"}}
    problems = findings(uses_in_json(config, "stack"), removed)
    assert problems == [
        "stack: provider aws.endpoints.opsworks (removed in 6.0; use nothing (service retired))",
        "stack: resource aws_api_gateway_account.reset_on_delete is not in the 6.x bindings (removed or renamed)",
    ]
    assert findings([Use("resource", "aws_vpc", "cidr_block", "m")], removed) == []
