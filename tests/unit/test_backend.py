"""The backend choice: parsing TF_BACKEND / TF_STATE_*, the synthesized backend block for each choice, and the
bootstrap's module gate (fmt, validate, mocked `terraform test`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from python_stacks.backend import LOCAL, BackendChoice, BackendConfigError, S3State, backend_from_env
from python_stacks.config import EXAMPLE_AWS_ZONE, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
S3_ENV = {"TF_BACKEND": "s3", "TF_STATE_BUCKET": "team-tfstate", "TF_STATE_KMS_KEY_ID": KEY_ARN}


def test_local_is_the_default() -> None:
    assert backend_from_env({}) == LOCAL
    assert backend_from_env({"TF_BACKEND": "local"}).kind == "local"
    assert load_config("dev", {}).backend == LOCAL


def test_s3_defaults_to_us_east_1_and_the_lock_file() -> None:
    choice = backend_from_env(S3_ENV)
    assert choice == BackendChoice(S3State(bucket="team-tfstate", region="us-east-1", kms_key_id=KEY_ARN))
    assert choice.kind == "s3"
    assert choice.s3 is not None and choice.s3.use_lockfile and choice.s3.dynamodb_table is None


@pytest.mark.parametrize(
    ("lock", "use_lockfile", "table"), [("dynamodb", False, "tf-locks"), ("both", True, "tf-locks")]
)
def test_dynamodb_locks_name_the_table(lock: str, use_lockfile: bool, table: str) -> None:
    s3 = backend_from_env({**S3_ENV, "TF_STATE_LOCK": lock, "TF_STATE_LOCK_TABLE": "tf-locks"}).s3
    assert s3 is not None and s3.use_lockfile is use_lockfile and s3.dynamodb_table == table


@pytest.mark.parametrize(
    "kms_key_id",
    [
        KEY_ARN,
        "11111111-2222-3333-4444-555555555555",
        "alias/terraform-state",
        "arn:aws:kms:eu-west-1:123456789012:alias/terraform-state",
        "mrk-1234567890abcdef1234567890abcdef",
    ],
)
def test_kms_key_forms_terraform_accepts(kms_key_id: str) -> None:
    s3 = backend_from_env({**S3_ENV, "TF_STATE_KMS_KEY_ID": kms_key_id}).s3
    assert s3 is not None and s3.kms_key_id == kms_key_id


def test_workspaces_map_to_env_prefixes() -> None:
    assert S3State.key("trading-dev") == "trading-dev/terraform.tfstate"
    assert S3State.object_key("trading-pr42", "dev") == "env:/dev/trading-pr42/terraform.tfstate"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TF_BACKEND": "remote"}, "unknown TF_BACKEND 'remote': valid backends are local, s3"),
        ({"TF_BACKEND": "s3", "TF_STATE_KMS_KEY_ID": KEY_ARN}, "TF_BACKEND=s3 needs TF_STATE_BUCKET"),
        ({**S3_ENV, "TF_STATE_BUCKET": "Team_State"}, "invalid TF_STATE_BUCKET 'Team_State'"),
        ({**S3_ENV, "TF_STATE_BUCKET": "a..b"}, "invalid TF_STATE_BUCKET 'a..b'"),
        ({**S3_ENV, "TF_STATE_REGION": "useast1"}, "invalid TF_STATE_REGION 'useast1'"),
        ({"TF_BACKEND": "s3", "TF_STATE_BUCKET": "b-1"}, "TF_BACKEND=s3 needs TF_STATE_KMS_KEY_ID"),
        ({**S3_ENV, "TF_STATE_KMS_KEY_ID": "my-key"}, "invalid TF_STATE_KMS_KEY_ID 'my-key'"),
        ({**S3_ENV, "TF_STATE_LOCK": "consul"}, "TF_STATE_LOCK 'consul': valid locks are lockfile, dynamodb, both"),
        ({**S3_ENV, "TF_STATE_LOCK": "dynamodb"}, "TF_STATE_LOCK=dynamodb needs TF_STATE_LOCK_TABLE"),
        ({**S3_ENV, "TF_STATE_LOCK_TABLE": "tf-locks"}, "TF_STATE_LOCK_TABLE set but TF_STATE_LOCK=lockfile"),
        ({**S3_ENV, "TF_STATE_LOCK": "both", "TF_STATE_LOCK_TABLE": "x"}, "invalid TF_STATE_LOCK_TABLE 'x'"),
        ({"TF_STATE_BUCKET": "team-tfstate"}, "TF_STATE_BUCKET set but TF_BACKEND is local"),
    ],
)
def test_bad_settings_fail_in_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(BackendConfigError) as error:
        backend_from_env(env)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    # load_config reports it as a ConfigError, which every entry point prints without a traceback.
    with pytest.raises(ConfigError, match=f"^{re.escape(str(error.value))}$"):
        load_config("dev", env)


def test_synth_refuses_s3_without_a_bucket_before_loading_the_bindings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.synth", "--outdir", str(tmp_path), "dev"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "TF_BACKEND": "s3", "TF_STATE_KMS_KEY_ID": KEY_ARN},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "error: TF_BACKEND=s3 needs TF_STATE_BUCKET (the state bucket's name)\n"
    assert not (tmp_path / "stacks").exists()


# --- the synthesized backend block ---------------------------------------------------------------------------

ENDPOINT = "http://127.0.0.1:4566"
LOCK_TABLE = {"TF_STATE_LOCK_TABLE": "tf-locks"}
AWS = {**EXAMPLE_AWS_ZONE, "TARGET": "aws"}
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    # stack suffix: (workspace, environment)
    "bk-local": ("dev", {"TARGET": "local"}),
    "bk-lockfile": ("dev", {**S3_ENV, "TARGET": "local", "LOCAL_AWS_ENDPOINT": ENDPOINT}),
    "bk-dynamodb": ("prod", {**S3_ENV, **LOCK_TABLE, **AWS, "TF_STATE_LOCK": "dynamodb"}),
    "bk-both": ("staging", {**S3_ENV, **LOCK_TABLE, **AWS, "TF_STATE_LOCK": "both"}),
}


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The `terraform` block of a data-protection stack synthesized for each variant (one App, one synth)."""
    from cdktf import App

    from python_stacks.stacks.data_protection import DataProtectionStack

    outdir = tmp_path_factory.mktemp("backends")
    app = App(outdir=str(outdir))
    for suffix, (workspace, env) in VARIANTS.items():
        DataProtectionStack(app, load_config(workspace, {**env, "ENVIRONMENT_SUFFIX": suffix}))
    app.synth()
    return {
        suffix: json.loads((outdir / "stacks" / f"data-protection-{suffix}" / "cdk.tf.json").read_text())["terraform"]
        for suffix in VARIANTS
    }


def test_local_backend_keeps_state_under_dot_state(backends: dict[str, dict[str, Any]]) -> None:
    assert backends["bk-local"]["backend"] == {
        "local": {
            "path": "../../../.state/data-protection-bk-local/terraform.tfstate",
            "workspace_dir": "../../../.state/data-protection-bk-local",
        }
    }


def test_s3_backend_with_lock_file_on_the_emulator(backends: dict[str, dict[str, Any]]) -> None:
    assert backends["bk-lockfile"]["backend"] == {
        "s3": {
            "bucket": "team-tfstate",
            "key": "data-protection-bk-lockfile/terraform.tfstate",
            "region": "us-east-1",
            "workspace_key_prefix": "env:",
            "encrypt": True,
            "kms_key_id": KEY_ARN,
            "use_lockfile": True,
            # The emulator's endpoints and test credentials: the only local/aws difference (target.py).
            "access_key": "test",
            "secret_key": "test",
            "skip_credentials_validation": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
            "skip_requesting_account_id": True,
            "use_path_style": True,
            "endpoints": {"dynamodb": ENDPOINT, "iam": ENDPOINT, "s3": ENDPOINT, "sts": ENDPOINT},
        }
    }


def test_s3_backend_with_dynamodb_lock_for_terraform_before_1_10(backends: dict[str, dict[str, Any]]) -> None:
    # No use_lockfile: Terraform 1.5-1.9 rejects the argument.
    assert backends["bk-dynamodb"]["backend"] == {
        "s3": {
            "bucket": "team-tfstate",
            "key": "data-protection-bk-dynamodb/terraform.tfstate",
            "region": "us-east-1",
            "workspace_key_prefix": "env:",
            "encrypt": True,
            "kms_key_id": KEY_ARN,
            "dynamodb_table": "tf-locks",
        }
    }


def test_s3_backend_with_both_locks_while_migrating(backends: dict[str, dict[str, Any]]) -> None:
    s3 = backends["bk-both"]["backend"]["s3"]
    assert (s3["use_lockfile"], s3["dynamodb_table"]) == (True, "tf-locks")
    assert s3["key"] == "data-protection-bk-both/terraform.tfstate"


# --- the bootstrap root module --------------------------------------------------------------------------------


def test_bootstrap_passes_fmt_validate_and_its_mocked_terraform_test() -> None:
    from tools.modules import check_module

    summary, errors = check_module(ROOT / "bootstrap" / "state-backend")
    assert errors == [], "\n".join(errors)
    assert summary.startswith("modules: state-backend: ok")
