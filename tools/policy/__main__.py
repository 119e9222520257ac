"""Run the policy gate: ``python -m tools.policy [--workspace WS ...] [--reuse-plans]`` (docs/policy.md)."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence

from python_stacks import UserError
from python_stacks.project import ROOT
from tools import policy
from tools.policy.checkov import ensure_checkov, scan_all
from tools.policy.common import PLANS_DIR, WORK_DIR, WORKSPACES, PolicyError
from tools.policy.plan_cache import current_inputs, existing_plans, plans_with_private_emulator
from tools.policy.plans import deployment_env, synthesize
from tools.policy.report import judge, print_summary
from tools.policy.skips import load_skips
from tools.synth import shape_env


def run_gate(workspaces: Sequence[str], reuse_plans: bool) -> bool:
    from tools.module_docs import module_dirs, stale_readmes

    started = time.monotonic()
    ok = True
    problems = stale_readmes(module_dirs(), write=False)
    for problem in problems:
        print(f"policy: module docs: {problem}", flush=True)
    print(f"policy: module READMEs: {'stale' if problems else 'up to date'}", flush=True)
    ok &= not problems
    skips = load_skips()
    checkov = ensure_checkov()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    synth_aws_dir = WORK_DIR / "synth-aws"
    shutil.rmtree(synth_aws_dir, ignore_errors=True)
    # The real-AWS synthesis is what a deployment runs (the local one adds emulator endpoints and test credentials).
    step = time.monotonic()
    synthesize(workspaces, synth_aws_dir, shape_env(deployment_env(), "aws"))
    print(f"policy: synthesized {', '.join(workspaces)} for TARGET=aws ({time.monotonic() - step:.0f}s)", flush=True)
    step = time.monotonic()
    if reuse_plans:
        try:
            plans = existing_plans(workspaces, PLANS_DIR, current_inputs(workspaces))
        except PolicyError as exc:
            raise PolicyError(f"--reuse-plans: {exc}; run without --reuse-plans") from exc
        print(f"policy: reusing the current plans in {PLANS_DIR.relative_to(ROOT)}", flush=True)
    else:
        plans = plans_with_private_emulator(workspaces, WORK_DIR / "plans-root", PLANS_DIR)
        print(f"policy: {len(plans.stacks)} plans in {time.monotonic() - step:.0f}s", flush=True)
    verdict = judge(scan_all(checkov, workspaces, plans, synth_aws_dir), skips)
    print_summary(verdict)
    print(f"policy: done in {time.monotonic() - started:.0f}s")
    return ok and verdict.ok


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.policy", description=(policy.__doc__ or "").splitlines()[0])
    parser.add_argument("--workspace", action="append", choices=WORKSPACES, help="default: all workspaces")
    parser.add_argument(
        "--reuse-plans",
        action="store_true",
        help=f"scan the plans already in {PLANS_DIR.relative_to(ROOT)} (no emulator, no Terraform)",
    )
    args = parser.parse_args(argv)
    from tools.deploy import DeployError

    try:
        return 0 if run_gate(tuple(args.workspace or WORKSPACES), args.reuse_plans) else 1
    except (PolicyError, DeployError, UserError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
