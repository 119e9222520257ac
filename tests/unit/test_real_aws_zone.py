"""TARGET=aws needs an existing, delegated zone (#13 item 1): refused at synth without one, and a plan against a zone
that does not serve the API's name stops before anything is created (a real plan on a private emulator)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from python_stacks.config import ConfigError, load_config
from tests.support.stacks import Synthesized, synthesize
from tools.emulator import Emulator, aws_client
from tools.tf import terraform_binary, terraform_env

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = (
    "TARGET=aws needs TRADING_DOMAIN (a domain you control) and TRADING_HOSTED_ZONE_ID (its existing, delegated "
    "Route 53 zone): see docs/deploy.md"
)


@pytest.mark.parametrize(
    "env",
    [
        {"TARGET": "aws"},
        {"TARGET": "aws", "TRADING_DOMAIN": "example.org"},
        {"TARGET": "aws", "TRADING_HOSTED_ZONE_ID": "Z12"},
    ],
)
def test_aws_target_refuses_to_synthesize_without_domain_and_zone(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("dev", env)
    assert str(raised.value) == MESSAGE


def test_app_py_says_so_in_one_line(clean_env: dict[str, str]) -> None:
    env = {**clean_env, "TF_WORKSPACE": "dev", "TARGET": "aws"}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {MESSAGE}"


def test_the_local_target_may_still_create_its_own_zone() -> None:
    assert load_config("dev", {"TARGET": "local"}).hosted_zone_id is None


@pytest.mark.parametrize("workspace", ["dev", "prod"])
def test_aws_synthesis_looks_the_zone_up_and_checks_it_serves_the_api(synth_aws: Synthesized, workspace: str) -> None:
    stack = synth_aws.trading(workspace)
    assert stack.resources("aws_route53_zone") == {}, "never a zone nobody delegates to"
    ((name, zone),) = stack.data("aws_route53_zone").items()
    assert zone["zone_id"] == "Z0000000000EXAMPLE"
    (precondition,) = stack.resource("aws_route53_record")["lifecycle"]["precondition"]
    host = "api.trading.example.com" if workspace == "prod" else f"api.{workspace}.trading.example.com"
    zone_name = f'trimsuffix(data.aws_route53_zone.{name}.name, ".")'
    assert precondition["condition"] == (
        f'${{(("{host}" == {zone_name}) || endswith("{host}", join("", [".", {zone_name}])))}}'
    )


def _plan(stack_dir: Path, workspace: str) -> subprocess.CompletedProcess[str]:
    env = terraform_env()
    env["TF_WORKSPACE"] = workspace
    run = [terraform_binary(), "plan", "-input=false", "-no-color", "-lock=false", "-refresh=false"]
    return subprocess.run(run, cwd=stack_dir, env=env, capture_output=True, text=True, timeout=600)


def test_a_zone_that_does_not_serve_the_api_fails_the_plan(emulator: Emulator, tmp_path: Path) -> None:
    route53, kms = aws_client(emulator.endpoint, "route53"), aws_client(emulator.endpoint, "kms")
    # The trading stack looks its key up by alias (the data-protection stack's): give it one.
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/trading-us-east-1-zonecheck", TargetKeyId=key)
    wrong = route53.create_hosted_zone(Name="other.example.net", CallerReference="zonecheck-wrong")
    right = route53.create_hosted_zone(Name="trading.example.com", CallerReference="zonecheck-right")
    results = {}
    for label, zone in (("wrong", wrong), ("right", right)):
        env = {
            "TARGET": "local",
            "LOCAL_AWS_ENDPOINT": emulator.endpoint,
            "ENVIRONMENT_SUFFIX": "zonecheck",
            "TRADING_DOMAIN": "trading.example.com",
            "TRADING_HOSTED_ZONE_ID": zone["HostedZone"]["Id"].rsplit("/", 1)[-1],
        }
        stack = synthesize(["staging"], tmp_path / label, env).stack("trading-zonecheck")
        backend = stack.config["terraform"]["backend"]["local"]
        backend["path"] = str(tmp_path / f"state-{label}" / "terraform.tfstate")
        backend["workspace_dir"] = str(tmp_path / f"state-{label}")
        (stack.directory / "cdk.tf.json").write_text(json.dumps(stack.config))
        env = terraform_env()
        init = subprocess.run(
            [terraform_binary(), "init", "-input=false", "-no-color"],
            cwd=stack.directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert init.returncode == 0, init.stderr
        results[label] = _plan(stack.directory, "staging")
    wrong_plan, right_plan = results["wrong"], results["right"]
    assert wrong_plan.returncode == 1
    assert "is not a zone of api.staging.trading.example.com" in " ".join(wrong_plan.stderr.split())
    assert right_plan.returncode == 0, right_plan.stderr
