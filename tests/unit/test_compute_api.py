"""Data tier, compute and API wiring, asserted by value on the synthesized JSON of every workspace."""

from __future__ import annotations

import json
import re

import pytest

from python_stacks.settings import WORKSPACES
from tests.support.stacks import Stack, Synthesized

ALL = tuple(WORKSPACES)
KMS = "${data.aws_kms_alias.kms.target_key_arn}"


def functions(stack: Stack) -> dict[str, dict]:
    found = {f["function_name"]: f for f in stack.resources("aws_lambda_function").values()}
    assert sorted(found) == sorted(f"{kind}-{stack.name.split('-', 1)[1]}" for kind in ("trades-api", "migrate"))
    return found


@pytest.mark.parametrize(("workspace", "skip", "retention"), [("dev", True, 1), ("staging", True, 7), ("prod", False, 14)])
def test_aurora_inputs_per_workspace(synth: Synthesized, workspace: str, skip: bool, retention: int) -> None:
    aurora = synth.trading(workspace).module("aurora")
    assert aurora["instance_class"] == "db.r5.large"
    assert aurora["replica_count"] == 2, "a writer and two read replicas"
    assert aurora["skip_final_snapshot"] is skip, "dev/staging skip the final snapshot, prod takes one"
    assert aurora["backup_retention_period"] == retention
    assert aurora["kms_key_arn"] == KMS
    assert aurora["subnet_ids"] == "${module.vpc.private_subnets}"
    assert aurora["allowed_security_group_ids"] == {"lambda": "${aws_security_group.lambda-network_functions_79D1312D.id}"}
    assert aurora["snapshot_identifier"] == (
        '${var.restore_snapshot_identifier == "" ? null : var.restore_snapshot_identifier}'
    )
    assert "master_password" not in aurora and "password" not in json.dumps(aurora).lower()


@pytest.mark.parametrize("workspace", ALL)
def test_every_function_is_512mb_30s_python312_from_the_shared_zip(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    found = functions(stack)
    (code,) = stack.resources("aws_s3_object").values()
    assert code["key"].startswith("lambda/") and code["key"].endswith(".zip")
    assert code["server_side_encryption"] == "aws:kms" and code["kms_key_id"] == KMS
    for function in found.values():
        assert function["memory_size"] == 512
        assert function["timeout"] == 30
        assert function["runtime"] == "python3.12"
        assert function["s3_key"].startswith("${aws_s3_object.functions_code_"), "every function uses the one ZIP"
        assert function["s3_bucket"] == found[next(iter(found))]["s3_bucket"]
        assert function["source_code_hash"].startswith("${filebase64sha256(\"assets/functions_shared-zip_")
        assert function["kms_key_arn"] == KMS, "environment variables encrypted with our key"
        assert function["tracing_config"] == {"mode": "Active"}
        assert function["logging_config"]["log_format"] == "JSON"
        assert function["vpc_config"]["subnet_ids"] == "${module.vpc.private_subnets}"
        assert function["replace_security_groups_on_destroy"] is True
        assert function["replacement_security_group_ids"] == [
            "${aws_security_group.lambda-network_quarantine_2DF4504C.id}"
        ]
        env = function["environment"]["variables"]
        assert env["DB_SECRET_ARN"] == "${module.aurora.cluster_master_user_secret_arn}"
        assert env["DB_WRITER_HOST"] == "${module.aurora.cluster_endpoint}"
        assert env["DB_READER_HOST"] == "${module.aurora.cluster_reader_endpoint}"
        assert env["DB_TLS"] == "required"
    handlers = sorted(f["handler"] for f in found.values())
    assert handlers == ["handlers.api.handler", "handlers.migrate.handler"]


@pytest.mark.parametrize(("workspace", "concurrency"), [("dev", 10), ("staging", 20), ("prod", 100)])
def test_reserved_concurrency_guards_database_connections(
    synth: Synthesized, workspace: str, concurrency: int
) -> None:
    for function in functions(synth.trading(workspace)).values():
        assert function["reserved_concurrent_executions"] == concurrency


@pytest.mark.parametrize("workspace", ALL)
def test_each_function_logs_to_its_own_30_day_encrypted_group(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    groups = {g["name"]: g for g in stack.resources("aws_cloudwatch_log_group").values()}
    for name, function in functions(stack).items():
        group = groups[f"/aws/lambda/{name}"]
        assert group["retention_in_days"] == 30 and group["kms_key_id"] == KMS
        assert function["logging_config"]["log_group"].startswith("${aws_cloudwatch_log_group.log-group-")
        assert any(dep.startswith("aws_cloudwatch_log_group.") for dep in function["depends_on"])


@pytest.mark.parametrize("workspace", ALL)
def test_function_roles_are_least_privilege(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    policies = stack.resources("aws_iam_role_policy")
    assert len(policies) == 2, "one role policy per function"
    documents = stack.data("aws_iam_policy_document")
    for policy in policies.values():
        reference = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}", policy["policy"])
        assert reference, policy["policy"]
        statements = {s["sid"]: s for s in documents[reference.group(1)]["statement"]}
        for statement in statements.values():
            assert statement.get("effect", "Allow") == "Allow"
            actions = statement["actions"]
            assert "*" not in actions and not any(a.endswith(":*") for a in actions)
            if "*" in statement["resources"]:
                assert set(actions) <= {
                    "ec2:DescribeNetworkInterfaces", "xray:PutTraceSegments", "xray:PutTelemetryRecords"
                }, "only calls without resource-level permissions may use *"
        assert statements["DatabaseSecret"]["resources"] == ["${module.aurora.cluster_master_user_secret_arn}"]
        assert statements["PlatformKey"] == {"sid": "PlatformKey", "actions": ["kms:Decrypt"], "resources": [KMS]}
        assert statements["OwnLogGroup"]["resources"][0].startswith("${aws_cloudwatch_log_group.log-group-")


@pytest.mark.parametrize("workspace", ALL)
def test_lambda_network_reaches_only_the_database_and_https(synth: Synthesized, workspace: str) -> None:
    rules = synth.trading(workspace).resources("aws_security_group_rule").values()
    assert sorted((r["type"], r["from_port"], r["to_port"]) for r in rules) == [
        ("egress", 443, 443),
        ("egress", 3306, 3306),
    ]
    mysql = next(r for r in rules if r["from_port"] == 3306)
    assert mysql["source_security_group_id"] == "${module.aurora.security_group_id}"


@pytest.mark.parametrize(
    ("workspace", "host"),
    [("dev", "api.dev.trading.example.com"), ("staging", "api.staging.trading.example.com"),
     ("prod", "api.trading.example.com")],
)
def test_api_module_inputs_and_dns(synth: Synthesized, workspace: str, host: str) -> None:
    stack = synth.trading(workspace)
    api = stack.module("api")
    assert api["trade_routes_authorization"] == "AWS_IAM", "trade routes require SigV4"
    assert api["stage_name"] == workspace
    assert api["domain_name"] == host
    assert api["create_custom_domain"] is True
    assert api["kms_key_arn"] == KMS
    assert api["lambda_invoke_arn"].endswith(".invoke_arn}")
    zone = stack.resource("aws_route53_zone")
    assert zone["name"] == host.split(".", 1)[1] and zone["force_destroy"] is True
    record = stack.resource("aws_route53_record")
    assert (record["name"], record["type"]) == (host, "A")
    assert record["alias"]["name"] == "${module.api.domain_regional_domain_name}"


def test_existing_zone_is_looked_up_by_id(tmp_path) -> None:
    from tests.support.stacks import synthesize

    stack = synthesize(["staging"], tmp_path, {"TRADING_HOSTED_ZONE_ID": "Z0123456789ABC"}).trading("staging")
    assert stack.resources("aws_route53_zone") == {}
    (zone,) = stack.data("aws_route53_zone").values()
    assert zone["zone_id"] == "Z0123456789ABC"
    assert stack.resource("aws_route53_record")["zone_id"].startswith("${data.aws_route53_zone.")


@pytest.mark.parametrize("workspace", ALL)
def test_migration_runs_at_deploy_on_both_targets(synth: Synthesized, synth_aws: Synthesized, workspace: str) -> None:
    for synthesized in (synth_aws, synth):
        (invocation,) = synthesized.trading(workspace).resources("aws_lambda_invocation").values()
        assert invocation["function_name"].endswith(".function_name}")
        assert "migrate" in invocation["function_name"]
        assert set(invocation["triggers"]) == {"code"}
        assert "module.aurora" in invocation["depends_on"]


@pytest.mark.parametrize("workspace", ALL)
def test_stack_outputs(synth: Synthesized, workspace: str) -> None:
    outputs = synth.trading(workspace).outputs
    expected = {
        "api_invoke_url": "${module.api.stage_invoke_url}",
        "api_custom_domain_url": "${module.api.custom_domain_url}",
        "db_writer_endpoint": "${module.aurora.cluster_endpoint}",
        "db_reader_endpoint": "${module.aurora.cluster_reader_endpoint}",
        "db_secret_arn": "${module.aurora.cluster_master_user_secret_arn}",
    }
    for name, value in expected.items():
        assert outputs[name]["value"] == value
    for name in ("artifacts_bucket", "kms_key_alias", "function_names", "db_port"):
        assert outputs[name]["description"]
    assert not any(o.get("sensitive") for o in outputs.values()), "no secret value is ever output"


def test_api_gateway_account_settings_live_in_their_own_shared_stack(synth: Synthesized) -> None:
    account = synth.stack("account-settings")
    module = account.module("api_account_settings")
    assert re.fullmatch(r"\./assets/api_account_settings-source/[0-9A-F]{32}", module["source"])
    assert module["environment_suffix"] == "us-east-1", "one per account and region"
    assert "output" not in account.config or "workspace" not in account.outputs, "not bound to a workspace"
    assert account.config["terraform"]["backend"]["local"]["path"] == "../../../.state/account-settings/terraform.tfstate"
    for workspace in ALL:
        assert "aws_api_gateway_account" not in synth.trading(workspace).config.get("resource", {})
