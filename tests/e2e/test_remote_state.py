"""Team state on the emulator with real Terraform: the bootstrap bucket, per-workspace keys, locking, force-unlock.

dev locks with the S3 lock file (conditional writes, which moto 5.2 honours) and prod with the DynamoDB table, so
both lock options run for real. Only the small data-protection stacks are deployed. Their suffixes (`lockdev`,
`lockprod`) match no other test's `-<suffix>` names in the shared emulator. Nothing here is timed: a contending
Terraform is started while another one provably holds the lock (it waits at its approval prompt).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from python_stacks.backend import S3State
from python_stacks.config import StackConfig, load_config
from python_stacks.target import target_for
from tools.emulator import Emulator, aws_client
from tools.tf import terraform_binary, terraform_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "bootstrap" / "state-backend"
SUFFIXES = {"dev": "lockdev", "prod": "lockprod"}
LOCKS = {"dev": "lockfile", "prod": "dynamodb"}
LOCK_INFO_ID = re.compile(r"Lock Info:\s+ID:\s+(\S+)")
PROMPT = "Enter a value:"


def terraform(args: list[str], cwd: Path, workspace: str | None = None) -> subprocess.CompletedProcess[str]:
    env = terraform_env()
    env.pop("TF_WORKSPACE", None)
    if workspace:
        env["TF_WORKSPACE"] = workspace
    return subprocess.run(
        [terraform_binary(), *args, "-no-color"], cwd=cwd, env=env, text=True, capture_output=True, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args[1:]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def aws(endpoint: str, service: str) -> Any:
    return aws_client(endpoint, service)


class HeldApply:
    """An interactive `terraform apply` stopped at its approval prompt: it holds the state lock until answered."""

    def __init__(self, cwd: Path, workspace: str, extra: list[str] | None = None) -> None:
        env = terraform_env()
        env.update(TF_WORKSPACE=workspace, TF_INPUT="1")
        self.process = subprocess.Popen(
            [terraform_binary(), "apply", "-no-color", *(extra or [])],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, so a SIGKILL takes the provider plugin too
        )
        self.output = self._read_until_prompt()

    def _read_until_prompt(self) -> str:
        assert self.process.stdout is not None
        seen = ""
        while PROMPT not in seen:
            char = self.process.stdout.read(1)
            if not char:
                self.process.wait()
                raise AssertionError(f"apply ended ({self.process.returncode}) before its prompt:\n{seen}")
            seen += char
        return seen

    def approve(self) -> str:
        out, _ = self.process.communicate("yes\n")
        assert self.process.returncode == 0, f"held apply failed:\n{self.output}{out}"
        return self.output + out

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()


@dataclass(frozen=True)
class StateBucket:
    directory: Path
    bucket: str
    kms_key_arn: str
    lock_table: str


@pytest.fixture(scope="module")
def state_bucket(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StateBucket]:
    """The bootstrap applied to the emulator from a copy, with the emulator's provider settings as an override."""
    directory = tmp_path_factory.mktemp("state-backend")
    for source in BOOTSTRAP.glob("*.tf"):
        shutil.copy(source, directory)
    provider = target_for("local", emulator.endpoint).provider_settings()
    provider["endpoints"] = [{**provider["endpoints"][0], "dynamodb": emulator.endpoint}]  # type: ignore[index]
    (directory / "emulator_override.tf.json").write_text(json.dumps({"provider": {"aws": provider}}))
    (directory / "emulator.auto.tfvars.json").write_text(
        json.dumps(
            {
                "create_lock_table": True,
                "force_destroy": True,
                # moto evaluates only StringEquals: the Bool condition would deny every request (decision 0004).
                "enforce_tls_only": False,
                # The provider polls ≈ 55 s for lifecycle rules to settle; the mocked module test covers the rule.
                "noncurrent_version_expiration_days": None,
            }
        )
    )
    ok(terraform(["init", "-input=false"], directory))
    ok(terraform(["apply", "-auto-approve", "-input=false"], directory))
    outputs = {k: v["value"] for k, v in json.loads(ok(terraform(["output", "-json"], directory))).items()}
    state = StateBucket(directory, outputs["bucket"], outputs["kms_key_arn"], outputs["lock_table_name"])
    yield state
    if json.loads((directory / "terraform.tfstate").read_text())["resources"]:
        destroy_bootstrap(state, emulator)


def destroy_bootstrap(state: StateBucket, emulator: Emulator) -> subprocess.CompletedProcess[str]:
    # moto 5.2.5 empties a bucket whose versioning the destroy has just suspended through its unversioned code path,
    # which crashes on delete markers (500, retried by the provider for ever); every released lock file leaves one.
    # So the bucket is emptied while still versioned. Real S3 needs no such step: force_destroy empties it.
    s3 = aws(emulator.endpoint, "s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=state.bucket):
        versions = page.get("Versions", []) + page.get("DeleteMarkers", [])
        if versions:
            s3.delete_objects(
                Bucket=state.bucket,
                Delete={"Objects": [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]},
            )
    return terraform(["destroy", "-auto-approve", "-input=false"], state.directory)


def stack_config(workspace: str, emulator: Emulator, state: StateBucket) -> StackConfig:
    env = {
        "TARGET": "local",
        "LOCAL_AWS_ENDPOINT": emulator.endpoint,
        "ENVIRONMENT_SUFFIX": SUFFIXES[workspace],
        "TF_BACKEND": "s3",
        "TF_STATE_BUCKET": state.bucket,
        "TF_STATE_KMS_KEY_ID": state.kms_key_arn,
        "TF_STATE_LOCK": LOCKS[workspace],
    }
    if LOCKS[workspace] == "dynamodb":
        env["TF_STATE_LOCK_TABLE"] = state.lock_table
    return load_config(workspace, env)


@dataclass(frozen=True)
class Deployed:
    directory: Path
    workspace: str
    stack_id: str
    object_key: str


@pytest.fixture(scope="module")
def stacks(
    emulator: Emulator, state_bucket: StateBucket, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Deployed]:
    """dev and prod data-protection stacks synthesized with the s3 backend and initialized (not yet applied)."""
    from cdktf import App

    from python_stacks.stacks.data_protection import DataProtectionStack
    from python_stacks.workspace import data_protection_stack_id

    outdir = tmp_path_factory.mktemp("remote-state-synth")
    app = App(outdir=str(outdir))
    found = {}
    for workspace in SUFFIXES:
        config = stack_config(workspace, emulator, state_bucket)
        DataProtectionStack(app, config)
        stack_id = data_protection_stack_id(config)
        found[workspace] = Deployed(
            outdir / "stacks" / stack_id, workspace, stack_id, S3State.object_key(stack_id, workspace)
        )
    app.synth()
    for deployed in found.values():
        ok(terraform(["init", "-input=false"], deployed.directory, deployed.workspace))
    return found


def lock_id(state: StateBucket, deployed: Deployed, emulator: Emulator) -> str:
    """The ID of the lock currently held on ``deployed``'s state, read from where its lock option keeps it."""
    if LOCKS[deployed.workspace] == "lockfile":
        body = aws(emulator.endpoint, "s3").get_object(Bucket=state.bucket, Key=f"{deployed.object_key}.tflock")
        return json.loads(body["Body"].read())["ID"]
    item = aws(emulator.endpoint, "dynamodb").get_item(
        TableName=state.lock_table, Key={"LockID": {"S": f"{state.bucket}/{deployed.object_key}"}}
    )
    return json.loads(item["Item"]["Info"]["S"])["ID"]


def lock_write_refused_since(offset: int, emulator: Emulator, state: StateBucket, deployed: Deployed) -> bool:
    """Whether moto's request log shows, after byte ``offset``, a conditional PUT of the lock file refused (412)."""
    needle = f"PUT /{state.bucket}/{deployed.object_key}.tflock"
    with open(emulator.log_file, encoding="utf-8", errors="replace") as log:
        log.seek(offset)
        return any(needle in line and '" 412' in line for line in log)


def test_bootstrap_bucket_is_versioned_kms_encrypted_and_private(emulator: Emulator, state_bucket: StateBucket) -> None:
    s3 = aws(emulator.endpoint, "s3")
    assert s3.get_bucket_versioning(Bucket=state_bucket.bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=state_bucket.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": state_bucket.kms_key_arn,
    }
    assert s3.get_public_access_block(Bucket=state_bucket.bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    table = aws(emulator.endpoint, "dynamodb").describe_table(TableName=state_bucket.lock_table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert table["SSEDescription"]["KMSMasterKeyArn"] == state_bucket.kms_key_arn


def state_list(deployed: Deployed) -> list[str]:
    return ok(terraform(["state", "list"], deployed.directory, deployed.workspace)).split()


def managed(deployed: Deployed) -> list[str]:
    """Resource types in the state, one entry per resource (data sources left out)."""
    return sorted(address.split(".")[0] for address in state_list(deployed) if not address.startswith("data."))


def ensure_applied(deployed: Deployed) -> None:
    """The lock tests below need a deployed stack; normally the first tests of this module deployed it."""
    if not managed(deployed):
        ok(terraform(["apply", "-auto-approve", "-input=false"], deployed.directory, deployed.workspace))


def contend(state: StateBucket, deployed: Deployed, emulator: Emulator) -> str:
    """While a lock is held, a plan fails at once with the lock message naming that lock; returns its ID."""
    held = lock_id(state, deployed, emulator)
    contender = terraform(["plan", "-lock-timeout=0s"], deployed.directory, deployed.workspace)
    assert contender.returncode == 1, contender.stdout
    assert "Error acquiring the state lock" in contender.stderr
    match = LOCK_INFO_ID.search(contender.stderr)
    assert match is not None and match.group(1) == held, contender.stderr
    assert "OperationTypeApply" in contender.stderr
    return held


def test_concurrent_applies_in_dev_serialize_on_the_s3_lock_file(
    emulator: Emulator, state_bucket: StateBucket, stacks: dict[str, Deployed]
) -> None:
    dev = stacks["dev"]
    holder = HeldApply(dev.directory, "dev")
    waiter: subprocess.Popen[str] | None = None
    try:
        assert "Plan: 3 to add, 0 to change, 0 to destroy." in holder.output
        contend(state_bucket, dev, emulator)
        log_offset = emulator.log_file.stat().st_size
        env = terraform_env()
        env["TF_WORKSPACE"] = "dev"
        waiter = subprocess.Popen(
            [terraform_binary(), "apply", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=10m"],
            cwd=dev.directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        # Release the holder only once the waiter has been refused the lock at least once.
        deadline = time.monotonic() + 120
        while not lock_write_refused_since(log_offset, emulator, state_bucket, dev):
            assert waiter.poll() is None, "the waiting apply ended while the lock was held"
            assert time.monotonic() < deadline, "the waiting apply never tried the lock"
            time.sleep(0.2)
        assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in holder.approve()
        waited, _ = waiter.communicate(timeout=600)
        assert waiter.returncode == 0, waited
        # It planned against the holder's state: nothing left to create, so no second key.
        assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in waited
    finally:
        holder.close()
        if waiter is not None and waiter.poll() is None:
            os.killpg(waiter.pid, signal.SIGKILL)
            waiter.wait()
    assert managed(dev) == ["aws_kms_alias", "aws_kms_key", "terraform_data"]  # + the workspace guard


def test_a_second_terraform_in_prod_fails_fast_on_the_dynamodb_lock(
    emulator: Emulator, state_bucket: StateBucket, stacks: dict[str, Deployed]
) -> None:
    prod = stacks["prod"]
    holder = HeldApply(prod.directory, "prod")
    try:
        assert "Plan: 3 to add, 0 to change, 0 to destroy." in holder.output
        contend(state_bucket, prod, emulator)
        assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in holder.approve()
    finally:
        holder.close()
    assert managed(prod) == ["aws_kms_alias", "aws_kms_key", "terraform_data"]  # + the workspace guard
    item = aws(emulator.endpoint, "dynamodb").get_item(
        TableName=state_bucket.lock_table, Key={"LockID": {"S": f"{state_bucket.bucket}/{prod.object_key}"}}
    )
    assert "Item" not in item, "the lock must be released after the apply"


def test_a_killed_apply_leaves_a_lock_that_force_unlock_clears(
    emulator: Emulator, state_bucket: StateBucket, stacks: dict[str, Deployed]
) -> None:
    dev = stacks["dev"]
    ensure_applied(dev)
    s3 = aws(emulator.endpoint, "s3")
    before = s3.head_object(Bucket=state_bucket.bucket, Key=dev.object_key)["ETag"]
    alias = next(iter(json.loads((dev.directory / "cdk.tf.json").read_text())["resource"]["aws_kms_alias"]))
    holder = HeldApply(dev.directory, "dev", [f"-replace=aws_kms_alias.{alias}"])
    try:
        held = lock_id(state_bucket, dev, emulator)
        holder.kill()
    finally:
        holder.close()
    # The lock outlives its owner: every later run is refused, naming the dead apply's lock.
    assert contend(state_bucket, dev, emulator) == held
    lock_object = s3.head_object(Bucket=state_bucket.bucket, Key=f"{dev.object_key}.tflock")
    assert lock_object["ServerSideEncryption"] == "aws:kms"
    unlocked = ok(terraform(["force-unlock", "-force", held], dev.directory, "dev"))
    assert "successfully unlocked" in unlocked
    with pytest.raises(ClientError):
        s3.head_object(Bucket=state_bucket.bucket, Key=f"{dev.object_key}.tflock")
    # The killed apply changed nothing: same state object, and a plan finds nothing to do.
    assert s3.head_object(Bucket=state_bucket.bucket, Key=dev.object_key)["ETag"] == before
    plan = terraform(["plan", "-detailed-exitcode", "-lock-timeout=0s"], dev.directory, "dev")
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_each_workspace_state_sits_under_its_prefix_encrypted_with_the_state_key(
    emulator: Emulator, state_bucket: StateBucket, stacks: dict[str, Deployed]
) -> None:
    for deployed in stacks.values():
        ensure_applied(deployed)
    s3 = aws(emulator.endpoint, "s3")
    listed = s3.list_objects_v2(Bucket=state_bucket.bucket)["Contents"]
    # Nothing at the top level (no default-workspace state), no lock file left behind.
    assert sorted(o["Key"] for o in listed) == [
        "env:/dev/data-protection-lockdev/terraform.tfstate",
        "env:/prod/data-protection-lockprod/terraform.tfstate",
    ]
    for workspace, deployed in stacks.items():
        head = s3.head_object(Bucket=state_bucket.bucket, Key=deployed.object_key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == state_bucket.kms_key_arn
        state = json.loads(s3.get_object(Bucket=state_bucket.bucket, Key=deployed.object_key)["Body"].read())
        assert state["outputs"]["workspace"]["value"] == workspace
        assert state["outputs"]["kms_key_alias"]["value"] == f"alias/trading-us-east-1-{SUFFIXES[workspace]}"
        # Versioning keeps every earlier state for recovery.
        versions = s3.list_object_versions(Bucket=state_bucket.bucket, Prefix=deployed.object_key)["Versions"]
        assert len(versions) >= 2
        plan = terraform(["plan", "-detailed-exitcode", "-lock-timeout=0s"], deployed.directory, workspace)
        assert plan.returncode == 0, plan.stdout + plan.stderr


def test_the_bootstrap_destroys(emulator: Emulator, state_bucket: StateBucket) -> None:
    ok(destroy_bootstrap(state_bucket, emulator))
    names = [b["Name"] for b in aws(emulator.endpoint, "s3").list_buckets()["Buckets"]]
    assert state_bucket.bucket not in names
    assert state_bucket.lock_table not in aws(emulator.endpoint, "dynamodb").list_tables()["TableNames"]
    key = aws(emulator.endpoint, "kms").describe_key(KeyId=state_bucket.kms_key_arn)["KeyMetadata"]
    assert key["KeyState"] == "PendingDeletion"
