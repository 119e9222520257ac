"""Where each stack keeps its Terraform state: the local backend (default) or a shared, locked S3 backend.

Chosen by the environment (documented in docs/team-state.md):

- ``TF_BACKEND``: ``local`` (default) or ``s3``.
- ``TF_STATE_BUCKET`` (s3, required), ``TF_STATE_REGION`` (default us-east-1), ``TF_STATE_KMS_KEY_ID`` (s3, required:
  key id, key ARN, alias name or alias ARN), ``TF_STATE_LOCK``: ``lockfile`` (default; S3 conditional writes,
  Terraform >= 1.10), ``dynamodb`` (Terraform 1.5-1.9) or ``both`` (while moving from the table to the lock file),
  ``TF_STATE_LOCK_TABLE`` (required with dynamodb/both).

Parsing is pure Python so a wrong setting fails in one line before the bindings load; only ``add_backend`` touches
cdktf. See docs/decisions/0007-remote-state.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from python_stacks import UserError

if TYPE_CHECKING:
    from cdktf import TerraformStack

    from python_stacks.target import Target

BackendKind = Literal["local", "s3"]
LockKind = Literal["lockfile", "dynamodb", "both"]

# Stacks run from cdktf.out/stacks/<stack>/, three levels below the project root; local state lives beside the
# project so a re-synth or `rm -rf cdktf.out` never loses it.
LOCAL_STATE_ROOT = "../../../.state"
# Terraform's own default, written out so the layout is explicit: state of workspace W sits under env:/W/, which
# lets IAM grant a pipeline one workspace's prefix only.
WORKSPACE_KEY_PREFIX = "env:"
DEFAULT_STATE_REGION = "us-east-1"
STATE_FILE = "terraform.tfstate"

_BACKENDS: tuple[BackendKind, ...] = ("local", "s3")
_LOCKS: tuple[LockKind, ...] = ("lockfile", "dynamodb", "both")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
# What Terraform's s3 backend accepts: key id (or multi-Region mrk- id), key ARN, alias name, alias ARN.
_KMS_KEY = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]+"
    r"|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key/(?:[0-9a-f-]{36}|mrk-[0-9a-f]{32})|alias/[A-Za-z0-9/_-]+))$"
)
_S3_ONLY = ("TF_STATE_BUCKET", "TF_STATE_REGION", "TF_STATE_KMS_KEY_ID", "TF_STATE_LOCK", "TF_STATE_LOCK_TABLE")


class BackendConfigError(UserError, ValueError):
    """The TF_BACKEND / TF_STATE_* settings do not describe a usable backend."""


@dataclass(frozen=True)
class S3State:
    """A shared state bucket: one object per stack and workspace, KMS-encrypted, locked."""

    bucket: str
    region: str
    kms_key_id: str
    lock: LockKind = "lockfile"
    lock_table: str | None = None

    @property
    def use_lockfile(self) -> bool:
        return self.lock in ("lockfile", "both")

    @property
    def dynamodb_table(self) -> str | None:
        return self.lock_table if self.lock in ("dynamodb", "both") else None

    @staticmethod
    def key(stack_id: str) -> str:
        return f"{stack_id}/{STATE_FILE}"

    @staticmethod
    def object_key(stack_id: str, workspace: str) -> str:
        """Where Terraform stores ``stack_id``'s state for ``workspace`` (never the default workspace here)."""
        return f"{WORKSPACE_KEY_PREFIX}/{workspace}/{stack_id}/{STATE_FILE}"


@dataclass(frozen=True)
class BackendChoice:
    """``s3`` is None for the local backend."""

    s3: S3State | None = None

    @property
    def kind(self) -> BackendKind:
        return "local" if self.s3 is None else "s3"


LOCAL = BackendChoice()


def backend_from_env(env: Mapping[str, str]) -> BackendChoice:
    """Read TF_BACKEND and TF_STATE_*; raises BackendConfigError with a one-line message."""

    def get(name: str) -> str | None:
        return (env.get(name) or "").strip() or None

    kind = get("TF_BACKEND") or "local"
    if kind not in _BACKENDS:
        raise BackendConfigError(f"unknown TF_BACKEND {kind!r}: valid backends are {', '.join(_BACKENDS)}")
    if kind == "local":
        stray = [name for name in _S3_ONLY if get(name)]
        if stray:
            # Most likely a forgotten TF_BACKEND=s3: silently keeping state on this machine would split the team.
            raise BackendConfigError(f"{', '.join(stray)} set but TF_BACKEND is local: set TF_BACKEND=s3 or unset them")
        return LOCAL
    bucket = get("TF_STATE_BUCKET")
    if bucket is None:
        raise BackendConfigError("TF_BACKEND=s3 needs TF_STATE_BUCKET (the state bucket's name)")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise BackendConfigError(f"invalid TF_STATE_BUCKET {bucket!r}: expected an S3 bucket name")
    region = get("TF_STATE_REGION") or DEFAULT_STATE_REGION
    if not _REGION.match(region):
        raise BackendConfigError(f"invalid TF_STATE_REGION {region!r}: expected a region such as us-east-1")
    kms_key_id = get("TF_STATE_KMS_KEY_ID")
    if kms_key_id is None:
        raise BackendConfigError("TF_BACKEND=s3 needs TF_STATE_KMS_KEY_ID (the KMS key that encrypts the state)")
    if not _KMS_KEY.match(kms_key_id):
        raise BackendConfigError(
            f"invalid TF_STATE_KMS_KEY_ID {kms_key_id!r}: expected a KMS key id, key ARN, alias/NAME or alias ARN"
        )
    lock = get("TF_STATE_LOCK") or "lockfile"
    if lock not in _LOCKS:
        raise BackendConfigError(f"unknown TF_STATE_LOCK {lock!r}: valid locks are {', '.join(_LOCKS)}")
    table = get("TF_STATE_LOCK_TABLE")
    if lock == "lockfile" and table is not None:
        raise BackendConfigError(
            "TF_STATE_LOCK_TABLE set but TF_STATE_LOCK=lockfile: set TF_STATE_LOCK=dynamodb or both"
        )
    if lock != "lockfile" and table is None:
        raise BackendConfigError(f"TF_STATE_LOCK={lock} needs TF_STATE_LOCK_TABLE (the DynamoDB lock table's name)")
    if table is not None and not _TABLE.match(table):
        raise BackendConfigError(f"invalid TF_STATE_LOCK_TABLE {table!r}: expected a DynamoDB table name")
    return BackendChoice(S3State(bucket=bucket, region=region, kms_key_id=kms_key_id, lock=lock, lock_table=table))


def local_state_dir(outdir: Path, stack_id: str) -> Path:
    """Where the local backend keeps ``stack_id``'s states (one folder per non-default workspace), for stacks
    synthesized into ``outdir``."""
    return Path(os.path.normpath(outdir.absolute() / "stacks" / stack_id / LOCAL_STATE_ROOT / stack_id))


def add_backend(stack: TerraformStack, stack_id: str, choice: BackendChoice, target: Target) -> None:
    """Configure ``stack``'s backend; ``stack_id`` names its state (folder or key)."""
    from cdktf import LocalBackend, S3Backend

    if choice.s3 is None:
        LocalBackend(
            stack,
            path=f"{LOCAL_STATE_ROOT}/{stack_id}/{STATE_FILE}",
            workspace_dir=f"{LOCAL_STATE_ROOT}/{stack_id}",
        )
        return
    s3 = choice.s3
    S3Backend(
        stack,
        bucket=s3.bucket,
        key=s3.key(stack_id),
        region=s3.region,
        workspace_key_prefix=WORKSPACE_KEY_PREFIX,
        encrypt=True,
        kms_key_id=s3.kms_key_id,
        dynamodb_table=s3.dynamodb_table,
        **target.s3_backend_settings(),
    )
    if s3.use_lockfile:
        # cdktf 0.21's S3Backend predates Terraform 1.10's native lock file.
        stack.add_override("terraform.backend.s3.use_lockfile", True)
