"""The plans of the last gate run, reused while the stacks still synthesize to the same thing (``--reuse-plans``,
the policy tests)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from tools.policy.common import PLANS_DIR, WORK_DIR, PolicyError
from tools.policy.plans import PlanSet, StackPlanFiles, deployment_env, inputs_digest, produce_plans, synthesize


def plans_with_private_emulator(workspaces: Sequence[str], root: Path, plans_dir: Path) -> PlanSet:
    """``produce_plans`` against a moto server of its own on a free port, stopped (by PID) afterwards."""
    from tools.emulator import Emulator

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    emulator = Emulator.private()
    try:
        plans = produce_plans(workspaces, root, emulator.endpoint, plans_dir)
    finally:
        emulator.stop()
    write_manifest(plans, plans_dir)
    return plans


MANIFEST = "manifest.json"


def write_manifest(plans: PlanSet, plans_dir: Path) -> None:
    stacks = [
        {
            "stack": s.stack,
            "workspace": s.workspace,
            "plan": str(s.plan),
            "stack_dir": str(s.stack_dir),
            "state": str(s.state) if s.state else None,
        }
        for s in plans.stacks
    ]
    (plans_dir / MANIFEST).write_text(json.dumps({"inputs": plans.inputs, "stacks": stacks}, indent=1))


def current_inputs(workspaces: Sequence[str]) -> str:
    """inputs_digest of what the stacks synthesize to now (a throwaway synthesis, a few seconds)."""
    placeholder = "http://127.0.0.1:9"
    outdir = WORK_DIR / "inputs-check"
    shutil.rmtree(outdir, ignore_errors=True)
    stack_dirs = synthesize(workspaces, outdir, deployment_env(TARGET="local", LOCAL_AWS_ENDPOINT=placeholder))
    return inputs_digest(stack_dirs, placeholder)


def existing_plans(workspaces: Sequence[str], plans_dir: Path, inputs: str) -> PlanSet:
    """The plans in ``plans_dir``, if they were made from exactly the stacks that synthesize now."""
    try:
        manifest = json.loads((plans_dir / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise PolicyError(f"no plans in {plans_dir}") from exc
    stacks = tuple(
        StackPlanFiles(
            m["stack"], m["workspace"], Path(m["plan"]), Path(m["stack_dir"]), Path(m["state"]) if m["state"] else None
        )
        for m in manifest.get("stacks", [])
        if m["workspace"] in (*workspaces, "default")
    )
    if manifest.get("inputs") != inputs or {s.workspace for s in stacks} < set(workspaces):
        raise PolicyError(f"the plans in {plans_dir} were made from other stacks or workspaces than synthesize now")
    missing = [p for s in stacks for p in (s.plan, s.stack_dir / "cdk.tf.json") if not p.exists()]
    if missing:
        raise PolicyError(f"{missing[0]} is missing")
    return PlanSet(stacks, inputs)


def reusable_plans(workspaces: Sequence[str], plans_dir: Path = PLANS_DIR) -> PlanSet | None:
    """The plans of the last gate run when they are still current (the policy tests skip making them again)."""
    try:
        return existing_plans(workspaces, plans_dir, current_inputs(workspaces))
    except PolicyError:
        return None
