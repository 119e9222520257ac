"""The whole lifecycle on the local emulator with real Terraform: deploy three workspaces side by side, re-plan,
destroy one, prove nothing of it remains, recreate it, and carry prod's data through destroy and recreate.

The tests of this module run in order and share one private moto server (a free loopback port) and one output
folder; each test builds on the state the previous one left.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from python_stacks.stacks import load_configs
from tests.e2e.emulator_noise import EMULATOR_NOISE
from tests.support.sweep import final_snapshots, kms_keys_pending_deletion, leftovers
from tools.deploy import Deployment
from tools.emulator import Emulator, aws_client
from tools.synth import synth
from tools.tf import terraform_binary

pytestmark = pytest.mark.e2e
WORKSPACES = ("dev", "staging", "prod")
ROOT = Path(__file__).resolve().parents[2]


class Lifecycle:
    def __init__(self, emulator: Emulator, outdir: Path) -> None:
        self.emulator = emulator
        self.outdir = outdir
        env = {"TARGET": "local", "LOCAL_AWS_ENDPOINT": emulator.endpoint}
        self.configs = {c.workspace: c for c in load_configs(WORKSPACES, env)}
        self.deployments = {ws: Deployment(c, outdir) for ws, c in self.configs.items()}
        self.outputs: dict[str, dict[str, object]] = {}

    def in_parallel(self, work, workspaces):  # type: ignore[no-untyped-def]
        with ThreadPoolExecutor(max_workers=len(workspaces)) as pool:
            return dict(zip(workspaces, pool.map(work, workspaces), strict=True))

    def boto(self, service: str):  # type: ignore[no-untyped-def]
        return aws_client(self.emulator.endpoint, service)


@pytest.fixture(scope="module")
def lifecycle(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory, lambda_zip: Path) -> Iterator[Lifecycle]:
    # cdktf.out three levels below a private root, as in the project, so the local state lands in <root>/.state.
    root = tmp_path_factory.mktemp("lifecycle")
    world = Lifecycle(emulator, root / "cdktf.out")
    # jsii is not thread-safe: synthesize all workspaces at once, then run Terraform in parallel.
    synth(list(world.configs.values()), world.outdir)
    # The account-wide stack once, before the workspaces deploy in parallel (each deploy would otherwise race to it).
    world.deployments["dev"].ensure_account_settings()
    yield world


def test_three_workspaces_deploy_side_by_side(lifecycle: Lifecycle) -> None:
    outputs = lifecycle.in_parallel(lambda ws: lifecycle.deployments[ws].deploy(synthesize=False), WORKSPACES)
    lifecycle.outputs.update(outputs)
    for workspace, out in outputs.items():
        host = "api.trading.example.com" if workspace == "prod" else f"api.{workspace}.trading.example.com"
        assert re.fullmatch(
            rf"https://[a-z0-9]+\.execute-api\.us-east-1\.amazonaws\.com/{workspace}", str(out["api_invoke_url"])
        )
        assert out["api_custom_domain_url"] == f"https://{host}/"
        assert re.fullmatch(
            rf"aurora-{workspace}\.cluster-[a-z0-9]+\.us-east-1\.rds\.amazonaws\.com", str(out["db_writer_endpoint"])
        )
        assert re.fullmatch(
            rf"aurora-{workspace}\.cluster-ro-[a-z0-9]+\.us-east-1\.rds\.amazonaws\.com", str(out["db_reader_endpoint"])
        )
        assert str(out["db_secret_arn"]).startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!")
        assert out["function_names"] == [f"trades-api-{workspace}", f"migrate-{workspace}"]
        assert out["kms_key_alias"] == f"alias/trading-us-east-1-{workspace}"
        # Terraform leaves null outputs out: only prod names a final snapshot.
        final = out.get("db_final_snapshot_identifier")
        if workspace == "prod":
            assert re.fullmatch(r"aurora-final-prod-\d{14}", str(final))
        else:
            assert final is None
    # Side by side: three VPCs, three clusters of three instances, nothing shared.
    rds = lifecycle.boto("rds")
    clusters = {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}
    assert {f"aurora-{ws}" for ws in WORKSPACES} <= set(clusters)
    for workspace in WORKSPACES:
        members = clusters[f"aurora-{workspace}"]["DBClusterMembers"]
        assert sorted(m["IsClusterWriter"] for m in members) == [False, False, True]
        assert clusters[f"aurora-{workspace}"]["StorageEncrypted"] is True
        assert clusters[f"aurora-{workspace}"]["DeletionProtection"] is False


def test_each_workspace_has_its_alert_topic_alarms_and_dashboard(lifecycle: Lifecycle) -> None:
    cloudwatch, sns = lifecycle.boto("cloudwatch"), lifecycle.boto("sns")
    pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    alarms = [a for page in pages for kind in ("MetricAlarms", "CompositeAlarms") for a in page[kind]]
    for workspace in WORKSPACES:
        found = leftovers(lifecycle.emulator.endpoint, workspace)
        assert found["topics"] == [f"alerts-{workspace}"] and found["dashboards"] == [f"dashboard-{workspace}"]
        topic = lifecycle.outputs[workspace]["alert_topic_arn"]
        key = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"]
        assert key == lifecycle.outputs[workspace]["kms_key_arn"], "the topic is encrypted with the workspace key"
        own = [a for a in alarms if a["AlarmName"].endswith(f"-{workspace}")]
        assert {a["AlarmName"] for a in own} == set(found["alarms"])
        assert f"alarm-trading-degraded-{workspace}" in found["alarms"]
        assert any(a["AlarmName"].startswith("alarm-aurora-") for a in own), "the module's alarms deployed too"
        for alarm in own:
            assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic], alarm["AlarmName"]
        body = cloudwatch.get_dashboard(DashboardName=f"dashboard-{workspace}")["DashboardBody"]
        assert json.loads(body)["widgets"], "the dashboard body arrived as JSON"


def test_a_second_plan_shows_only_the_documented_emulator_noise(lifecycle: Lifecycle) -> None:
    for workspace in WORKSPACES:
        deployment = lifecycle.deployments[workspace]
        assert deployment.data.plan_changes() == []
        changes = {(c.address, c.actions, c.attributes) for c in deployment.trading.plan_changes()}
        assert changes <= EMULATOR_NOISE, f"{workspace}: undocumented drift: {sorted(changes - EMULATOR_NOISE)}"


def _secret_values(node: object, path: str = "") -> list[str]:
    """Paths of non-empty values under password- or secret-string-like keys."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "sensitive_values":
                continue  # flags saying which attributes are sensitive, not values
            here = f"{path}.{key}"
            if re.search(r"password|secret_string", key, re.IGNORECASE) and value not in (None, "", [], {}):
                found.append(here)
            found += _secret_values(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _secret_values(value, f"{path}[{index}]")
    return found


def test_state_holds_no_plaintext_secret(lifecycle: Lifecycle) -> None:
    for workspace in WORKSPACES:
        state = json.loads(lifecycle.deployments[workspace].trading.run(["show", "-json", "-no-color"], stream=False))
        resources = state["values"]["root_module"]
        assert resources, "the state is not empty"
        leaks = _secret_values(state)
        # `manage_master_user_password` is a flag, not a secret; everything else named like a password must be empty.
        assert [leak for leak in leaks if not leak.endswith("manage_master_user_password")] == [], leaks


def test_destroying_one_workspace_leaves_nothing_of_it_and_the_others_intact(lifecycle: Lifecycle) -> None:
    endpoint = lifecycle.emulator.endpoint
    before = {ws: leftovers(endpoint, ws) for ws in ("dev", "prod")}
    pending_before = kms_keys_pending_deletion(endpoint)
    lifecycle.deployments["staging"].destroy(with_data=False, synthesize=False)
    assert leftovers(endpoint, "staging") == {}
    assert kms_keys_pending_deletion(endpoint) == pending_before + 1, "the staging key is scheduled for deletion"
    for workspace in ("dev", "prod"):
        assert leftovers(endpoint, workspace) == before[workspace]
        assert lifecycle.deployments[workspace].trading.outputs() == lifecycle.outputs[workspace]


def test_a_destroyed_workspace_redeploys_without_manual_steps(lifecycle: Lifecycle) -> None:
    staging = lifecycle.deployments["staging"]
    outputs = staging.deploy(synthesize=False)
    assert outputs["kms_key_alias"] == "alias/trading-us-east-1-staging"
    assert str(outputs["db_writer_endpoint"]).startswith("aurora-staging.cluster-")
    staging.destroy(with_data=False, synthesize=False)
    assert leftovers(lifecycle.emulator.endpoint, "staging") == {}


def test_prod_keeps_its_data_through_destroy_and_recreate(lifecycle: Lifecycle) -> None:
    endpoint = lifecycle.emulator.endpoint
    prod = lifecycle.deployments["prod"]
    expected_snapshot = lifecycle.outputs["prod"]["db_final_snapshot_identifier"]
    prod.destroy(with_data=False, synthesize=False)
    # The final snapshot exists, and the key that encrypts it is still enabled (data-protection stack kept).
    assert final_snapshots(endpoint, "prod") == [expected_snapshot]
    assert leftovers(endpoint, "prod") == {"kms_aliases": ["alias/trading-us-east-1-prod"]}
    key = lifecycle.boto("kms").describe_key(KeyId="alias/trading-us-east-1-prod")["KeyMetadata"]
    assert key["KeyState"] == "Enabled"
    snapshot = lifecycle.boto("rds").describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=expected_snapshot)
    assert snapshot["DBClusterSnapshots"][0]["KmsKeyId"] == key["Arn"]

    outputs = prod.deploy(synthesize=False)
    state = prod.trading.run(["state", "show", "-no-color", "module.aurora.aws_rds_cluster.this"], stream=False)
    assert re.search(rf'snapshot_identifier\s+=\s+"{expected_snapshot}"', state), "restored from the final snapshot"
    assert outputs["db_final_snapshot_identifier"] != expected_snapshot, "a new lifetime, a new final snapshot name"


def test_wrong_workspace_and_unknown_workspace_are_refused(lifecycle: Lifecycle, clean_env: dict[str, str]) -> None:
    dev = lifecycle.deployments["dev"].trading
    env = dev.env()
    env["TF_WORKSPACE"] = "prod"
    wrong = subprocess.run(
        [terraform_binary(), "plan", "-input=false", "-no-color", "-lock=false"],
        cwd=dev.directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert wrong.returncode == 1
    assert "This configuration was synthesized for workspace 'dev'" in wrong.stderr
    unknown = subprocess.run(
        ["make", "--no-print-directory", "deploy", "WORKSPACE=qa"],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert unknown.returncode != 0
    assert "error: unknown workspace 'qa': valid workspaces are dev, staging, prod" in unknown.stderr.splitlines()


def test_everything_destroys_cleanly(lifecycle: Lifecycle) -> None:
    endpoint = lifecycle.emulator.endpoint
    lifecycle.in_parallel(
        lambda ws: lifecycle.deployments[ws].destroy(with_data=True, synthesize=False), ("dev", "prod")
    )
    for workspace in WORKSPACES:
        assert leftovers(endpoint, workspace) == {}
