"""The foundation, asserted by value on the synthesized JSON of every workspace."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from python_stacks.constants import LOG_RETENTION_DAYS, S3_EXPIRATION_DAYS
from python_stacks.stacks.workspace_stack import AWS_PROVIDER_CONSTRAINT
from python_stacks.workspace import WORKSPACES
from tests.support.stacks import Synthesized

ALL = tuple(WORKSPACES)
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("workspace", ALL)
def test_every_stack_pins_terraform_and_a_provider_range(synth: Synthesized, workspace: str) -> None:
    for stack in (synth.trading(workspace), synth.data_protection(workspace)):
        terraform = stack.config["terraform"]
        assert terraform["required_version"] == ">= 1.5"
        assert terraform["required_providers"]["aws"]["version"] == AWS_PROVIDER_CONSTRAINT == ">= 5.32, < 7.0"
        provider = stack.config["provider"]["aws"][0]
        assert provider["region"] == "us-east-1"
        assert provider["default_tags"][0]["tags"] == {
            "project": "trading-platform",
            "environment": workspace,
            "workspace": workspace,
            "managed-by": "cdktf",
        }


def test_every_module_and_example_requires_the_provider_floor_of_the_stacks() -> None:
    # logging_config on the functions and the python3.12 runtime need aws >= 5.32; an older provider fails at apply.
    files = sorted([*ROOT.glob("tf_modules/**/versions.tf"), *ROOT.glob("bootstrap/**/versions.tf")])
    files = [f for f in files if ".terraform" not in f.parts]
    assert len(files) >= 9, "modules, submodule, their examples and the state bootstrap"
    for path in files:
        found = re.findall(r'^\s*version\s*=\s*"([^"]+)"', path.read_text(), re.M)
        assert found == [AWS_PROVIDER_CONSTRAINT], f"{path.relative_to(ROOT)}: {found}"


@pytest.mark.parametrize("workspace", ALL)
def test_local_backend_keeps_state_outside_cdktf_out(synth: Synthesized, workspace: str) -> None:
    backend = synth.trading(workspace).config["terraform"]["backend"]["local"]
    assert backend["workspace_dir"] == f"../../../.state/trading-{workspace}"
    assert not backend["path"].startswith("/"), "no machine path may end up in the configuration"


@pytest.mark.parametrize(
    ("workspace", "azs", "vpc_cidr", "private"),
    [
        ("dev", ["us-east-1a", "us-east-1b"], "10.10.0.0/16", ["10.10.128.0/20", "10.10.144.0/20"]),
        ("staging", ["us-east-1a", "us-east-1b"], "10.20.0.0/16", ["10.20.128.0/20", "10.20.144.0/20"]),
        (
            "prod",
            ["us-east-1a", "us-east-1b", "us-east-1c"],
            "10.30.0.0/16",
            ["10.30.128.0/20", "10.30.144.0/20", "10.30.160.0/20"],
        ),
    ],
)
def test_region_locals_per_workspace(
    synth: Synthesized, workspace: str, azs: list[str], vpc_cidr: str, private: list[str]
) -> None:
    locals_ = synth.trading(workspace).config["locals"]
    assert locals_["region"] == "us-east-1"
    assert locals_["azs"] == azs
    assert locals_["vpc_cidr"] == vpc_cidr
    assert locals_["private_subnets"] == private
    assert len(locals_["public_subnets"]) == len(azs)


@pytest.mark.parametrize(("workspace", "window"), [("dev", 7), ("staging", 7), ("prod", 30)])
def test_kms_key_rotates_and_has_the_workspace_alias(synth: Synthesized, workspace: str, window: int) -> None:
    stack = synth.data_protection(workspace)
    key = stack.resource("aws_kms_key")
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == window
    assert stack.resource("aws_kms_alias")["name"] == f"alias/trading-us-east-1-{workspace}"
    # The application stack finds the key through the same alias.
    assert synth.trading(workspace).data("aws_kms_alias")["kms"]["name"] == f"alias/trading-us-east-1-{workspace}"


def test_kms_key_policy_lets_logs_and_platform_services_use_the_key(synth: Synthesized) -> None:
    (policy,) = synth.data_protection("dev").data("aws_iam_policy_document").values()
    statements = {s["sid"]: s for s in policy["statement"]}
    logs = statements["CloudWatchLogsInThisRegion"]
    assert logs["principals"] == [{"type": "Service", "identifiers": ["logs.us-east-1.amazonaws.com"]}]
    assert logs["condition"][0]["variable"] == "kms:EncryptionContext:aws:logs:arn"
    assert logs["condition"][0]["values"][0].startswith("arn:aws:logs:us-east-1:")
    via = statements["AccountPrincipalsThroughPlatformServices"]["condition"]
    services = next(c["values"] for c in via if c["variable"] == "kms:ViaService")
    assert sorted(services) == sorted(f"{s}.us-east-1.amazonaws.com" for s in ("rds", "secretsmanager", "lambda", "s3"))
    for statement in statements.values():
        assert statement["actions"] != ["*"], "no statement may allow every action"


@pytest.mark.parametrize("workspace", ALL)
def test_artifacts_bucket_is_encrypted_private_expiring_and_destroyable(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    bucket = stack.resource("aws_s3_bucket")
    assert bucket["force_destroy"] is True
    assert re.fullmatch(
        rf"trading-artifacts-\$\{{data\.aws_caller_identity\.account\.account_id\}}-{workspace}", bucket["bucket"]
    )
    (rule,) = stack.resource("aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["bucket_key_enabled"] is True
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": "${data.aws_kms_alias.kms.target_key_arn}",
    }
    block = stack.resource("aws_s3_bucket_public_access_block")
    assert all(
        block[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert stack.resource("aws_s3_bucket_ownership_controls")["rule"]["object_ownership"] == "BucketOwnerEnforced"
    assert stack.resource("aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
    lifecycle, markers = stack.resource("aws_s3_bucket_lifecycle_configuration")["rule"]
    # Expired objects leave delete markers; this rule removes each one as soon as it is the only version left.
    assert markers == {
        "id": "remove-expired-delete-markers",
        "status": "Enabled",
        "filter": [{}],
        "expiration": [{"expired_object_delete_marker": True}],
    }
    assert lifecycle["status"] == "Enabled"
    assert lifecycle["expiration"] == [{"days": S3_EXPIRATION_DAYS}] == [{"days": 90}]
    assert lifecycle["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]
    assert lifecycle["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 90}]


@pytest.mark.parametrize("workspace", ALL)
def test_tls_only_bucket_policy_on_aws_and_named_concession_locally(
    synth: Synthesized, synth_aws: Synthesized, workspace: str
) -> None:
    stack = synth_aws.trading(workspace)
    tls_only = stack.at_path("data.aws_iam_policy_document", "artifacts/tls-only")
    assert stack.resource("aws_s3_bucket_policy")["policy"] == f"${{{tls_only}.json}}"
    document = stack.data("aws_iam_policy_document")[tls_only.rsplit(".", 1)[1]]
    (statement,) = document["statement"]
    assert statement["effect"] == "Deny"
    assert statement["actions"] == ["s3:*"]
    assert statement["principals"] == [{"type": "*", "identifiers": ["*"]}]
    assert statement["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]
    # moto's policy engine would deny every request with that statement (docs/decisions/0004).
    assert synth.trading(workspace).resources("aws_s3_bucket_policy") == {}


def test_aws_target_has_no_emulator_settings(synth_aws: Synthesized) -> None:
    provider = synth_aws.trading("prod").config["provider"]["aws"][0]
    for key in ("endpoints", "access_key", "secret_key", "skip_credentials_validation"):
        assert key not in provider


@pytest.mark.parametrize("workspace", ALL)
def test_vpc_module_gets_the_workspace_network(synth: Synthesized, workspace: str) -> None:
    vpc = synth.trading(workspace).module("vpc")
    assert re.fullmatch(r"\./assets/vpc-source/[0-9A-F]{32}", vpc["source"])
    assert vpc["environment_suffix"] == workspace
    assert vpc["cidr"] == "${local.vpc_cidr}"
    assert vpc["private_subnets"] == "${local.private_subnets}"
    assert vpc["single_nat_gateway"] is (workspace != "prod"), "one NAT per AZ in prod, one shared elsewhere"
    assert vpc["kms_key_arn"] == "${data.aws_kms_alias.kms.target_key_arn}"


@pytest.mark.parametrize("workspace", ALL)
def test_foundation_outputs(synth: Synthesized, workspace: str) -> None:
    outputs = synth.trading(workspace).outputs
    for name in (
        "vpc_id",
        "private_subnet_ids",
        "public_subnet_ids",
        "kms_key_arn",
        "kms_key_alias",
        "artifacts_bucket",
        "workspace",
    ):
        assert outputs[name]["description"], f"output {name} needs a description"
    assert outputs["vpc_id"]["value"] == "${module.vpc.vpc_id}"


@pytest.mark.parametrize("workspace", ALL)
def test_log_groups_keep_30_days_with_the_key(synth: Synthesized, workspace: str) -> None:
    groups = synth.trading(workspace).resources("aws_cloudwatch_log_group")
    assert groups, "the stack creates its log groups explicitly"
    for group in groups.values():
        assert group["retention_in_days"] == LOG_RETENTION_DAYS == 30
        assert group["kms_key_id"] == "${data.aws_kms_alias.kms.target_key_arn}"
        assert group["name"].endswith(f"-{workspace}")


@pytest.mark.parametrize("workspace", ALL)
def test_nothing_is_protected_from_destroy(synth: Synthesized, workspace: str) -> None:
    for stack in (synth.trading(workspace), synth.data_protection(workspace)):
        text = json.dumps(stack.config)
        assert '"prevent_destroy": true' not in text
        assert '"deletion_protection": true' not in text
