"""Real plans of every workspace: synthesize for a private emulator, plan (and apply the data-protection stacks,
whose KMS alias the trading stacks look up), and write ``terraform show -json`` of each plan, through the
deployment tool's own Terraform runs (tools/deploy.py)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from python_stacks.config import SELECTING_VARIABLES


def deployment_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SELECTING_VARIABLES}
    env.update(overrides)
    return env


@dataclass(frozen=True)
class StackPlanFiles:
    """``terraform show -json`` of one stack's plan, and the synthesized stack folder it was made from."""

    stack: str
    workspace: str
    plan: Path
    stack_dir: Path
    state: Path | None = None  # the state the plan left, where the gate applied it (data-protection)


@dataclass(frozen=True)
class PlanSet:
    stacks: tuple[StackPlanFiles, ...]
    inputs: str = ""  # digest of the synthesized stacks the plans were made from (see inputs_digest)

    @property
    def files(self) -> list[Path]:
        return [s.plan for s in self.stacks]


def inputs_digest(stack_dirs: Sequence[Path], endpoint: str) -> str:
    """What a plan depends on in this repository: the synthesized stacks, whose module sources and Lambda ZIP are
    referenced by content hash. The emulator endpoint (a free port) is left out."""
    digest = hashlib.sha256()
    for directory in sorted(stack_dirs, key=lambda d: d.name):
        text = (directory / "cdk.tf.json").read_text().replace(endpoint, "<endpoint>")
        digest.update(directory.name.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()


def synthesize(workspaces: Sequence[str], outdir: Path, env: Mapping[str, str]) -> list[Path]:
    """Synthesize in-process (the bindings load once per process); returns the stack folders."""
    from python_stacks import fast_imports

    fast_imports.prepare()
    from python_stacks.stacks import load_configs
    from tools.synth import synth

    return synth(load_configs(workspaces, env), outdir)


def produce_plans(workspaces: Sequence[str], root: Path, endpoint: str, plans_dir: Path) -> PlanSet:
    """Synthesize for the emulator at ``endpoint``, plan and apply each data-protection stack (the trading stack's
    KMS alias lookup needs the key), then plan each trading stack, and the account-wide stack once; every plan is
    written as JSON into ``plans_dir``: ``<ws>.json`` (trading), ``<ws>.data-protection.json``, ``<stack>.json``.

    ``root`` must be fresh for a fresh emulator: local state lives in ``root/.state``, as the stacks expect it three
    levels above their folder (``root/cdktf.out/stacks/<stack>``).
    """
    from python_stacks.stacks import load_configs
    from tools.deploy import Deployment, StackRun

    env = deployment_env(TARGET="local", LOCAL_AWS_ENDPOINT=endpoint)
    outdir = root / "cdktf.out"
    stack_dirs = synthesize(workspaces, outdir, env)
    plans_dir.mkdir(parents=True, exist_ok=True)

    def show(stack: StackRun, plan_file: Path | None, target: Path) -> Path:
        args = ["show", "-json", "-no-color", *([str(plan_file)] if plan_file else [])]
        target.write_text(stack.run(args, stream=False))
        return target

    def plan(stack: StackRun, name: str) -> Path:
        plan_file = stack.directory / f"{name}.tfplan"
        stack.run(["plan", "-input=false", "-no-color", "-lock=false", f"-out={plan_file}"], stream=False)
        return plan_file

    def one(deployment: Deployment) -> list[StackPlanFiles]:
        config = deployment.config
        deployment.prepare(synthesize=False)
        ws, data, trading = config.workspace, deployment.data, deployment.trading
        data_plan = plan(data, "policy")
        data_json = show(data, data_plan, plans_dir / f"{ws}.data-protection.json")
        data.run(["apply", "-input=false", "-no-color", str(data_plan)], stream=False)
        state_json = show(data, None, plans_dir / f"{ws}.data-protection.state.json")
        trading_json = show(trading, plan(trading, "policy"), plans_dir / f"{ws}.json")
        print(f"policy: [{ws}] planned {trading.directory.name} and {data.directory.name}", flush=True)
        return [
            StackPlanFiles(trading.directory.name, ws, trading_json, trading.directory),
            StackPlanFiles(data.directory.name, ws, data_json, data.directory, state_json),
        ]

    def account(directory: Path) -> list[StackPlanFiles]:
        # The same configuration in every workspace (python_stacks/stacks/account.py): one plan covers them all.
        stack = StackRun(directory, "default", "[account]")
        stack.init()
        target = show(stack, plan(stack, "policy"), plans_dir / f"{directory.name}.json")
        print(f"policy: planned {directory.name}", flush=True)
        return [StackPlanFiles(directory.name, "default", target, directory)]

    configs = load_configs(workspaces, env)
    deployments = [Deployment(config, outdir) for config in configs]
    per_workspace = {stack.directory for d in deployments for stack in (d.data, d.trading)}
    shared = [d for d in stack_dirs if d not in per_workspace]
    # jsii is single-threaded, Terraform is not: synthesize once above, then plan the workspaces side by side.
    with ThreadPoolExecutor(max_workers=len(configs) + len(shared)) as pool:
        futures = [pool.submit(one, d) for d in deployments] + [pool.submit(account, d) for d in shared]
        stacks = tuple(files for future in futures for files in future.result())
    return PlanSet(stacks, inputs_digest(stack_dirs, endpoint))
