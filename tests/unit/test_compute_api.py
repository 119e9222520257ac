"""Data tier, compute and API wiring, asserted by value on the synthesized JSON of every workspace."""

from __future__ import annotations

import json
import re

import pytest

from python_stacks.workspace import WORKSPACES
from tests.support.stacks import Stack, Synthesized

ALL = tuple(WORKSPACES)
KMS = "${data.aws_kms_alias.kms.target_key_arn}"


def functions(stack: Stack) -> dict[str, dict]:
    found = {f["function_name"]: f for f in stack.resources("aws_lambda_function").values()}
    assert sorted(found) == sorted(f"{kind}-{stack.name.split('-', 1)[1]}" for kind in ("trades-api", "migrate"))
    return found


@pytest.mark.parametrize(
    ("workspace", "skip", "retention"), [("dev", True, 1), ("staging", True, 7), ("prod", False, 14)]
)
def test_aurora_inputs_per_workspace(synth: Synthesized, workspace: str, skip: bool, retention: int) -> None:
    stack = synth.trading(workspace)
    aurora = stack.module("aurora")
    assert aurora["instance_class"] == "db.r5.large"
    assert aurora["replica_count"] == 2, "a writer and two read replicas"
    assert aurora["skip_final_snapshot"] is skip, "dev/staging skip the final snapshot, prod takes one"
    assert aurora["backup_retention_period"] == retention
    assert aurora["kms_key_arn"] == KMS
    assert aurora["subnet_ids"] == "${module.vpc.private_subnets}"
    lambda_group = stack.ref("aws_security_group", "lambda-network/functions", "id")
    assert aurora["allowed_security_group_ids"] == {"lambda": lambda_group}
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
        assert function["s3_key"] == stack.ref("aws_s3_object", "functions/code", "key"), "the one ZIP for all"
        assert function["s3_bucket"] == found[next(iter(found))]["s3_bucket"]
        assert function["source_code_hash"].startswith('${filebase64sha256("assets/functions_shared-zip_')
        assert function["kms_key_arn"] == KMS, "environment variables encrypted with our key"
        assert function["tracing_config"] == {"mode": "Active"}
        assert function["logging_config"]["log_format"] == "JSON"
        assert function["vpc_config"]["subnet_ids"] == "${module.vpc.private_subnets}"
        # Moving interfaces to another group on destroy only makes Lambda create new ones that linger the same way.
        assert "replace_security_groups_on_destroy" not in function
        assert "replacement_security_group_ids" not in function
    handlers = sorted(f["handler"] for f in found.values())
    assert handlers == ["handlers.api.handler", "handlers.migrate.handler"]


@pytest.mark.parametrize(("workspace", "concurrency"), [("dev", 10), ("staging", 20), ("prod", 100)])
def test_only_the_api_reserves_the_workspace_concurrency(synth: Synthesized, workspace: str, concurrency: int) -> None:
    # AWS keeps 100 executions of the account unreserved: every reservation comes out of one shared budget.
    found = functions(synth.trading(workspace))
    assert found[f"trades-api-{workspace}"]["reserved_concurrent_executions"] == concurrency
    assert found[f"migrate-{workspace}"]["reserved_concurrent_executions"] == 1, "one migration at a time"


@pytest.mark.parametrize("workspace", ALL)
def test_no_quarantine_security_group(synth: Synthesized, workspace: str) -> None:
    groups = synth.trading(workspace).resources("aws_security_group")
    assert sorted(g["name"] for g in groups.values()) == [f"security-group-lambda-{workspace}"]


@pytest.mark.parametrize("workspace", ALL)
def test_each_function_logs_to_its_own_30_day_encrypted_group(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    groups = {g["name"]: g for g in stack.resources("aws_cloudwatch_log_group").values()}
    for name, function in functions(stack).items():
        group = groups[f"/aws/lambda/{name}"]
        assert group["retention_in_days"] == 30 and group["kms_key_id"] == KMS
        assert function["logging_config"]["log_group"].startswith("${aws_cloudwatch_log_group.log-group-")
        assert any(dep.startswith("aws_cloudwatch_log_group.") for dep in function["depends_on"])


MASTER = "${module.aurora.cluster_master_user_secret_arn}"


def app_secret(stack: Stack) -> tuple[str, dict]:
    ((name, secret),) = stack.resources("aws_secretsmanager_secret").items()
    return f"${{aws_secretsmanager_secret.{name}.arn}}", secret


@pytest.mark.parametrize("workspace", ALL)
def test_the_api_has_its_own_database_user_secret_created_empty(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    _, secret = app_secret(stack)
    assert secret["name"] == f"secret-db-trades-api-{workspace}"
    assert secret["kms_key_id"] == KMS
    assert secret["recovery_window_in_days"] == 0, "destroy and recreate reuse the name"
    # No version: the migration writes the password, so it never enters Terraform state.
    assert stack.resources("aws_secretsmanager_secret_version") == {}


@pytest.mark.parametrize("workspace", ALL)
def test_each_function_gets_the_environment_of_contract_1(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    app, _ = app_secret(stack)
    found = functions(stack)
    common = {
        "DB_WRITER_HOST": "${module.aurora.cluster_endpoint}",
        "DB_PORT": "${tostring(module.aurora.cluster_port)}",
        "DB_NAME": "trading",
        # The ZIP built for the local target carries the emulator's CA, so the functions verify the server.
        "DB_TLS": "verify_identity",
        "DB_TLS_CA_BUNDLE": "/var/task/certs/rds-ca-bundle.pem",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    assert found[f"trades-api-{workspace}"]["environment"]["variables"] == {
        **common,
        "DB_SECRET_ARN": app,
        "DB_READER_HOST": "${module.aurora.cluster_reader_endpoint}",
        "POWERTOOLS_SERVICE_NAME": "trades-api",
        "POWERTOOLS_METRICS_NAMESPACE": f"trading-{workspace}",
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "2773",
        "SECRETS_MANAGER_TTL": "300",
    }
    assert found[f"migrate-{workspace}"]["environment"]["variables"] == {
        **common,
        "DB_SECRET_ARN": MASTER,
        "DB_APP_SECRET_ARN": app,
        "POWERTOOLS_SERVICE_NAME": "migrate",
    }


def _statements(stack: Stack, function: dict) -> dict[str, dict]:
    role = re.fullmatch(r"\$\{aws_iam_role\.([^.]+)\.arn\}", function["role"]).group(1)
    policies = stack.resources("aws_iam_role_policy").values()
    (policy,) = [p for p in policies if p["role"] == f"${{aws_iam_role.{role}.id}}"]
    reference = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}", policy["policy"])
    assert reference, policy["policy"]
    return {s["sid"]: s for s in stack.data("aws_iam_policy_document")[reference.group(1)]["statement"]}


@pytest.mark.parametrize("workspace", ALL)
def test_function_roles_are_least_privilege(synth: Synthesized, workspace: str) -> None:
    stack = synth.trading(workspace)
    assert len(stack.resources("aws_iam_role_policy")) == 2, "one role policy per function"
    app, _ = app_secret(stack)
    found = functions(stack)
    for function in found.values():
        for statement in _statements(stack, function).values():
            assert statement.get("effect", "Allow") == "Allow"
            actions = statement["actions"]
            assert "*" not in actions and not any(a.endswith(":*") for a in actions)
            if "*" in statement["resources"]:
                assert set(actions) <= {
                    "ec2:DescribeNetworkInterfaces",
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                }, "only calls without resource-level permissions may use *"
        assert _statements(stack, function)["OwnLogGroup"]["resources"][0].startswith(
            "${aws_cloudwatch_log_group.log-group-"
        )
    api = _statements(stack, found[f"trades-api-{workspace}"])
    secrets = {sid: s for sid, s in api.items() if any(a.startswith("secretsmanager:") for a in s["actions"])}
    assert secrets == {
        "AppUserSecret": {"sid": "AppUserSecret", "actions": ["secretsmanager:GetSecretValue"], "resources": [app]}
    }, "the API reads only its own user's secret"
    assert api["PlatformKey"] == {"sid": "PlatformKey", "actions": ["kms:Decrypt"], "resources": [KMS]}
    migrate = _statements(stack, found[f"migrate-{workspace}"])
    assert migrate["MasterUserSecret"]["actions"] == ["secretsmanager:GetSecretValue"]
    assert migrate["MasterUserSecret"]["resources"] == [MASTER]
    assert migrate["AppUserSecret"]["actions"] == ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
    assert migrate["AppUserSecret"]["resources"] == [app]
    assert migrate["PlatformKey"] == {
        "sid": "PlatformKey",
        "actions": ["kms:Decrypt", "kms:GenerateDataKey"],
        "resources": [KMS],
    }


def test_tls_verifies_the_server_when_the_zip_carries_the_rds_ca_bundle(tmp_path, lambda_zip, monkeypatch) -> None:
    import shutil
    import zipfile

    from python_stacks.aws.lambda_package import database_tls_environment
    from tests.support.stacks import synthesize
    from tools.package import CA_BUNDLE_PATH

    # The same ZIP without any bundle (TARGET=aws and no RDS_CA_BUNDLE), then with one.
    without_bundle, with_bundle = tmp_path / "plain.zip", tmp_path / "lambda.zip"
    with zipfile.ZipFile(lambda_zip) as source, zipfile.ZipFile(without_bundle, "w") as plain:
        for entry in source.infolist():
            if entry.filename != CA_BUNDLE_PATH:
                plain.writestr(entry, source.read(entry))
    assert database_tls_environment(without_bundle) == {"DB_TLS": "required"}
    shutil.copyfile(without_bundle, with_bundle)
    with zipfile.ZipFile(with_bundle, "a") as archive:
        archive.writestr(CA_BUNDLE_PATH, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    expected = {"DB_TLS": "verify_identity", "DB_TLS_CA_BUNDLE": "/var/task/certs/rds-ca-bundle.pem"}
    assert database_tls_environment(with_bundle) == expected
    monkeypatch.setenv("TRADING_LAMBDA_ZIP", str(with_bundle))
    stack = synthesize(["dev"], tmp_path / "out", {}).trading("dev")
    for function in functions(stack).values():
        env = function["environment"]["variables"]
        assert {k: env.get(k) for k in expected} == expected


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
    [
        ("dev", "api.dev.trading.example.com"),
        ("staging", "api.staging.trading.example.com"),
        ("prod", "api.trading.example.com"),
    ],
)
def test_api_module_inputs_and_dns(synth: Synthesized, workspace: str, host: str) -> None:
    stack = synth.trading(workspace)
    api = stack.module("api")
    assert api["trade_routes_authorization"] == "AWS_IAM", "trade routes require SigV4"
    assert api["stage_name"] == workspace
    assert api["domain_name"] == host
    assert api["create_custom_domain"] is True
    assert api["kms_key_arn"] == KMS
    # Every route invokes the API function's `live` alias, and API Gateway's permission is on that alias.
    ((alias_id, alias),) = stack.resources("aws_lambda_alias").items()
    assert alias["name"] == "live"
    api_function = functions(stack)[f"trades-api-{workspace}"]
    assert api_function["publish"] is True, "each deploy publishes a version for the alias"
    assert functions(stack)[f"migrate-{workspace}"]["publish"] is False
    assert alias["function_version"].endswith(".version}") and "trades-api" in alias["function_version"]
    assert api["lambda_invoke_arn"] == f"${{aws_lambda_alias.{alias_id}.invoke_arn}}"
    assert api["lambda_qualifier"] == f"${{aws_lambda_alias.{alias_id}.name}}"
    assert api["lambda_function_name"] == f"${{aws_lambda_alias.{alias_id}.function_name}}"
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
        # The function must reach Secrets Manager (NAT routes in module.vpc) and the database (egress rules) first.
        rules = synthesized.trading(workspace).resources("aws_security_group_rule")
        assert len(rules) == 2
        assert set(invocation["depends_on"]) == {
            "module.aurora",
            "module.vpc",
            *(f"aws_security_group_rule.{name}" for name in rules),
        }


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
    assert (
        account.config["terraform"]["backend"]["local"]["path"] == "../../../.state/account-settings/terraform.tfstate"
    )
    for workspace in ALL:
        assert "aws_api_gateway_account" not in synth.trading(workspace).config.get("resource", {})


EXTENSION_LAYER = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:24"


@pytest.mark.parametrize("workspace", ALL)
def test_the_api_reads_its_secret_through_aws_parameters_and_secrets_extension(
    synth: Synthesized, workspace: str
) -> None:
    found = functions(synth.trading(workspace))
    assert found[f"trades-api-{workspace}"]["layers"] == [EXTENSION_LAYER]
    assert found[f"trades-api-{workspace}"]["architectures"] == ["x86_64"], "the layer is the x86_64 build"
    assert "layers" not in found[f"migrate-{workspace}"], "the migration uses boto3 (it also writes a secret)"


@pytest.mark.parametrize(("workspace", "warm"), [("dev", None), ("staging", None), ("prod", 10)])
def test_prod_keeps_warm_environments_on_the_live_alias(synth: Synthesized, workspace: str, warm: int | None) -> None:
    stack = synth.trading(workspace)
    configs = stack.resources("aws_lambda_provisioned_concurrency_config")
    if warm is None:
        assert configs == {}, "dev and staging run on demand"
        return
    ((alias_id, _),) = stack.resources("aws_lambda_alias").items()
    (config,) = configs.values()
    assert config == {
        "//": config["//"],
        "function_name": f"${{aws_lambda_alias.{alias_id}.function_name}}",
        "qualifier": f"${{aws_lambda_alias.{alias_id}.name}}",
        "provisioned_concurrent_executions": warm,
    }
    reserved = functions(stack)[f"trades-api-{workspace}"]["reserved_concurrent_executions"]
    assert warm <= reserved


def test_provisioned_concurrency_cannot_exceed_the_reservation() -> None:
    from python_stacks.workspace import ComputeSettings

    message = "api_provisioned_concurrency 11 must be between 0 and api_reserved_concurrency 10"
    with pytest.raises(ValueError, match=message):
        ComputeSettings(
            api_reserved_concurrency=10,
            api_throttle_rate_limit=1,
            api_throttle_burst_limit=1,
            api_provisioned_concurrency=11,
        )


def test_the_zip_carries_its_targets_ca_bundle_and_a_zip_for_another_target_is_rebuilt(tmp_path, monkeypatch) -> None:
    import zipfile

    from local_cloud.tls import ca_path
    from tools.package import CA_BUNDLE_PATH, ca_bundle_mismatch, target_ca_bundle

    assert target_ca_bundle({"TARGET": "local"}) == ca_path(), "locally the functions verify the emulator's CA"
    assert target_ca_bundle({"TARGET": "aws"}) is None, "on AWS only a bundle the user supplies"
    rds = tmp_path / "global-bundle.pem"
    rds.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    assert target_ca_bundle({"TARGET": "aws", "RDS_CA_BUNDLE": str(rds)}) == rds
    built_for_local = tmp_path / "lambda.zip"
    with zipfile.ZipFile(built_for_local, "w") as archive:
        archive.writestr(CA_BUNDLE_PATH, ca_path().read_bytes())
    assert ca_bundle_mismatch(built_for_local, {"TARGET": "local"}) is None
    assert ca_bundle_mismatch(built_for_local, {"TARGET": "aws"}) == "its CA bundle is not the one for TARGET=aws"
