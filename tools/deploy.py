"""Deploy, destroy or show one workspace: synth -> terraform init/apply (or destroy) per stack -> outputs.

Usage: ``python -m tools.deploy deploy|destroy|outputs [--workspace WS] [--with-data]``. ``TARGET=local`` (default)
starts or reuses the moto server first; ``TARGET=aws`` uses your AWS credentials (docs/deploy.md).
Stacks apply in order (account settings and data-protection, then trading) and destroy in reverse, the order the
stacks also declare to the cdktf CLI. Every stack runs in the workspace's Terraform workspace, so this tool and
``cdktf deploy``/``destroy`` share one state per stack (docs/decisions/0013-account-settings-state.md). The
account-wide stack is applied on every deploy (idempotent; it adopts a role that exists without being in its state)
and never destroyed here. Where the workspace keeps its data on destroy (prod), ``destroy`` leaves the
data-protection stack unless ``--with-data`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from python_stacks import exit_on_user_error
from python_stacks.config import StackConfig
from python_stacks.project import ROOT
from python_stacks.stacks import load_configs
from python_stacks.workspace import ACCOUNT_STACK_ID, workspace_stack_ids
from tools import tf
from tools.synth import ensure_lambda_zip, synth

OUTPUTS_SHOWN = (
    ("api_invoke_url", "API invoke URL"),
    ("api_custom_domain_url", "API custom domain"),
    ("db_writer_endpoint", "DB writer endpoint"),
    ("db_reader_endpoint", "DB reader endpoint"),
    ("db_secret_arn", "DB secret ARN"),
)
# Deployments of several workspaces in one process (tests, benchmarks) share the account stack's folder: one
# `terraform init`/`apply` there at a time.
_ACCOUNT_LOCK = threading.Lock()


class DeployError(RuntimeError):
    pass


@dataclass(frozen=True)
class PlannedChange:
    address: str
    actions: tuple[str, ...]
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class StackRun:
    """Terraform in one synthesized stack folder, in the stack's workspace, with progress on stdout."""

    directory: Path
    workspace: str
    prefix: str

    def env(self, workspace: str | None = None) -> dict[str, str]:
        """The environment ``run`` gives Terraform (the e2e tests start a wrong-workspace plan with it)."""
        return tf.run_env(workspace or self.workspace)

    def run(self, args: Sequence[str], *, stream: bool = True, workspace: str | None = None) -> str:
        def progress(line: str) -> None:
            if stream and _is_progress(line):
                print(f"{self.prefix} {line.rstrip()}", flush=True)

        result = tf.run(args, self.directory, workspace=workspace or self.workspace, on_line=progress)
        if result.returncode != 0:
            tail = "".join(result.stdout.splitlines(keepends=True)[-40:])
            raise DeployError(f"{self.prefix} terraform {args[0]} failed (exit {result.returncode}):\n{tail}")
        return result.stdout

    def init(self) -> None:
        # In the default workspace, which every backend has: `init` refuses a TF_WORKSPACE the backend does not hold
        # yet once it holds another one (the account stack's state holds one per workspace). Plan and apply then
        # create the workspace's state as they write it.
        self.run(["init", "-input=false", "-no-color"], stream=False, workspace="default")

    def apply(self, variables: Mapping[str, str] | None = None) -> None:
        var_args = [f"-var={key}={value}" for key, value in (variables or {}).items()]
        self.run(["apply", "-input=false", "-no-color", "-auto-approve", *var_args])

    def destroy(self) -> None:
        self.run(["destroy", "-input=false", "-no-color", "-auto-approve"])

    def outputs(self) -> dict[str, object]:
        raw = json.loads(self.run(["output", "-json", "-no-color"], stream=False) or "{}")
        return {name: value["value"] for name, value in raw.items()}

    def plan_changes(self) -> list[PlannedChange]:
        """The resources a fresh plan would change, with the top-level attributes that differ."""
        plan_file = self.directory / "check.tfplan"
        try:
            self.run(["plan", "-input=false", "-no-color", "-lock=false", f"-out={plan_file}"], stream=False)
            plan = json.loads(self.run(["show", "-json", "-no-color", str(plan_file)], stream=False))
        finally:
            plan_file.unlink(missing_ok=True)
        changes = []
        for change in plan.get("resource_changes", []):
            actions = tuple(change["change"]["actions"])
            if actions in (("no-op",), ("read",)):
                continue
            before = change["change"].get("before") or {}
            after = change["change"].get("after") or {}
            unknown = change["change"].get("after_unknown") or {}
            attributes = sorted(
                key for key in set(before) | set(after) if before.get(key) != after.get(key) or unknown.get(key)
            )
            changes.append(PlannedChange(change["address"], actions, tuple(attributes)))
        return changes

    def state_resources(self) -> list[str]:
        try:
            return self.run(["state", "list", "-no-color"], stream=False).split()
        except DeployError:
            return []  # no state yet


def _is_progress(line: str) -> bool:
    # Terraform's per-resource progress lines and the final summaries; the rest of the plan text is noise here.
    markers = (
        ": Creating...",
        ": Creation complete",
        ": Destroying...",
        ": Destruction complete",
        ": Modifying...",
        ": Modifications complete",
        ": Importing...",
        ": Import complete",
        ": Still ",
        "Apply complete!",
        "Destroy complete!",
        "Error:",
        "Plan:",
    )
    return any(marker in line for marker in markers)


class Deployment:
    def __init__(self, config: StackConfig, outdir: Path) -> None:
        self.config = config
        self.outdir = outdir
        data_id, trading_id = workspace_stack_ids(config)
        prefix = f"[{config.naming.environment_suffix}]"
        # The workspace's own state of the account stack: the one the cdktf CLI uses with TF_WORKSPACE set.
        self.account = StackRun(outdir / "stacks" / ACCOUNT_STACK_ID, config.workspace, "[account]")
        self.data = StackRun(outdir / "stacks" / data_id, config.workspace, prefix)
        self.trading = StackRun(outdir / "stacks" / trading_id, config.workspace, prefix)

    def log(self, message: str) -> None:
        print(f"[{self.config.naming.environment_suffix}] {message}", flush=True)

    def prepare(self, synthesize: bool = True) -> None:
        """Synthesize (unless already done, e.g. several workspaces at once) and ``terraform init`` both stacks."""
        if synthesize:
            started = time.monotonic()
            synth([self.config], self.outdir)
            self.log(
                f"synthesized {self.data.directory.name} and {self.trading.directory.name} "
                f"({time.monotonic() - started:.1f}s)"
            )
        for stack in (self.data, self.trading):
            stack.init()

    def ensure_account_settings(self) -> None:
        """Apply the account-wide stack: a no-op when in place, an adoption when the role exists elsewhere.

        Never skipped on a guess (a file's existence, a non-empty state): a state left by a failed first apply
        holds only a data source, and skipping it would report success with the role missing.
        """
        with _ACCOUNT_LOCK:
            self.account.init()
            self.log(f"applying {ACCOUNT_STACK_ID} (shared by every workspace of the account and region)")
            self.account.apply()

    def deploy(self, synthesize: bool = True) -> dict[str, object]:
        self.prepare(synthesize)
        started = time.monotonic()
        self.ensure_account_settings()
        self.log(f"applying {self.data.directory.name}")
        self.data.apply()
        variables = self.restore_variables()
        self.log(f"applying {self.trading.directory.name}")
        self.trading.apply(variables)
        self.log(f"deployed in {time.monotonic() - started:.0f}s")
        return self.trading.outputs()

    def destroy(self, with_data: bool, synthesize: bool = True) -> None:
        self.prepare(synthesize)
        started = time.monotonic()
        self.log(f"destroying {self.trading.directory.name}")
        self.trading.destroy()
        if self.config.settings.database.keep_data_on_destroy and not with_data:
            self.log(
                f"kept {self.data.directory.name}: the KMS key and final snapshots outlive the application "
                "(destroy them with --with-data / `make destroy-data`)"
            )
        else:
            self.log(f"destroying {self.data.directory.name}")
            self.data.destroy()
        self.log(f"destroyed in {time.monotonic() - started:.0f}s")

    def restore_variables(self) -> dict[str, str]:
        """For a workspace that takes final snapshots, restore a newly created cluster from the newest one."""
        if self.config.settings.database.skip_final_snapshot:
            return {}
        explicit = os.environ.get("RESTORE_SNAPSHOT")
        if explicit == "none":
            return {}
        if explicit:
            return {"restore_snapshot_identifier": explicit}
        if any(".aws_rds_cluster." in resource for resource in self.trading.state_resources()):
            return {}  # the cluster exists; the module ignores the variable anyway
        from tools.snapshots import newest_final_snapshot

        snapshot = newest_final_snapshot(self.config)
        if snapshot:
            self.log(f"restoring the database from final snapshot {snapshot}")
            return {"restore_snapshot_identifier": snapshot}
        self.log("no final snapshot to restore from: creating an empty database")
        return {}


def print_outputs(config: StackConfig, outputs: Mapping[str, object]) -> None:
    print(f"\nTrading platform — workspace {config.workspace} ({config.target.name})")
    width = max(len(label) for _, label in OUTPUTS_SHOWN)
    for name, label in OUTPUTS_SHOWN:
        print(f"  {label:<{width}}  {outputs.get(name, '(not deployed)')}")
    from tools.smoke import how_to_call  # the base URL that serves the API and signed requests to copy

    lines = how_to_call(config, outputs)
    if lines:
        print("\n" + "\n".join(lines))


def run_preflight(config: StackConfig) -> bool:
    """A real deployment checks the account first (tools/preflight.py): zone, quotas, state backend, ..."""
    if config.target.is_local:
        return True
    from tools.preflight import run

    if run(config):
        return True
    print(
        f"error: preflight failed for a real deployment of {config.workspace}: fix the lines above (docs/deploy.md)",
        file=sys.stderr,
    )
    return False


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["deploy", "destroy", "outputs"])
    parser.add_argument("--workspace", default=os.environ.get("WORKSPACE") or os.environ.get("TF_WORKSPACE") or "dev")
    parser.add_argument("--with-data", action="store_true", help="destroy the data-protection stack too")
    parser.add_argument("--outdir", type=Path, default=ROOT / "cdktf.out")
    args = parser.parse_args(argv)

    def run() -> int:
        (config,) = load_configs([args.workspace])
        if args.command == "deploy" and not run_preflight(config):
            return 1
        ensure_lambda_zip()
        if config.target.is_local:
            from tools.emulator import Emulator, EmulatorError, port_of

            try:
                started = Emulator(port_of(config.target.endpoint)).start()
            except EmulatorError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(
                f"emulator: {'started' if started else 'reusing'} moto server at {config.target.endpoint}", flush=True
            )
        deployment = Deployment(config, args.outdir)
        try:
            if args.command == "deploy":
                print_outputs(config, deployment.deploy())
            elif args.command == "destroy":
                deployment.destroy(with_data=args.with_data)
            else:
                deployment.prepare()
                print_outputs(config, deployment.trading.outputs())
        except DeployError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0

    return exit_on_user_error(run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
