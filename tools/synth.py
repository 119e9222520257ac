"""Synthesize the stacks of one or more workspaces in one process (the bindings load once).

Usage: ``python -m tools.synth [--outdir DIR] [WORKSPACE ...]`` — no workspace means all of them. The shared ZIP is
built first when it is missing or older than its sources (``ensure_lambda_zip``), so every entry point — make,
``python app.py``, the cdktf CLI — synthesizes from a fresh clone without a separate ``make package``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from python_stacks import UserError, exit_on_user_error, fast_imports
from python_stacks.aws.lambda_package import explicit_zip, lambda_zip_path, rebuild_reason
from python_stacks.backend import local_state_dir
from python_stacks.config import EXAMPLE_AWS_ZONE, StackConfig
from python_stacks.project import ROOT
from python_stacks.stacks import load_configs
from python_stacks.workspace import ACCOUNT_STACK_ID, WORKSPACES, workspace_stack_ids
from tools.package import ca_bundle_mismatch


class PackageFailedError(UserError):
    """tools/package.py could not build the ZIP (no CPython 3.12, no network for the first pip install, ...)."""


def shape_env(env: Mapping[str, str], target: str) -> dict[str, str]:
    """``env`` for synthesizing ``target`` where only the stacks' shape matters (diagram, HCL export, provider-6 check,
    policy gate): a real deployment names its own hosted zone; without one, the real-AWS target gets the example
    zone (python_stacks.config.EXAMPLE_AWS_ZONE), and a zone the caller names still wins."""
    shaped = {**env, "TARGET": target}
    return {**EXAMPLE_AWS_ZONE, **shaped} if target == "aws" else shaped


def ensure_lambda_zip(log: bool = True) -> Path:
    """The shared ZIP, built with ``python -m tools.package`` (what ``make package`` runs) when missing or stale.

    A ZIP named by TRADING_LAMBDA_ZIP is never rebuilt: it was built elsewhere on purpose.
    """
    if explicit_zip() is not None:
        return lambda_zip_path()
    reason = rebuild_reason() or ca_bundle_mismatch(lambda_zip_path())
    if reason is not None:
        if log:
            print(f"synth: building the shared Lambda ZIP ({reason})", flush=True)
        result = subprocess.run([sys.executable, "-m", "tools.package"], cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
            last = lines[-1].removeprefix("error: ") if lines else f"exit status {result.returncode}"
            raise PackageFailedError(f"building the shared Lambda ZIP failed: {last} (`make package` shows it all)")
    return lambda_zip_path()


def register_account_workspace(config: StackConfig, outdir: Path) -> None:
    """Make ``config``'s workspace known to the account stack's local state, as ``terraform workspace new`` would:
    an empty folder. The account stack keeps one state per workspace (docs/decisions/0013-account-settings-state.md),
    and ``terraform init`` with TF_WORKSPACE set, as the cdktf CLI runs it, refuses a workspace the backend does not
    hold once it holds another. The tooling's own runs need none of this (they init in the default workspace); with
    the S3 backend a further workspace is created by its first ``make deploy`` (docs/deploy.md).
    """
    if config.backend.kind == "local":
        (local_state_dir(outdir, ACCOUNT_STACK_ID) / config.workspace).mkdir(parents=True, exist_ok=True)


def synth(configs: list[StackConfig], outdir: Path) -> list[Path]:
    """Synthesize and return the stack directories written, in order."""
    fast_imports.prepare()
    from python_stacks.stacks import build_app

    # cdktf's App creates only the last folder of its output path.
    outdir.parent.mkdir(parents=True, exist_ok=True)

    build_app(configs, outdir=outdir).synth()
    names = {name for config in configs for name in workspace_stack_ids(config)} | {ACCOUNT_STACK_ID}
    return sorted(outdir / "stacks" / name for name in names)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspaces", nargs="*", help=f"default: all ({', '.join(WORKSPACES)})")
    parser.add_argument("--outdir", type=Path, default=ROOT / "cdktf.out")
    args = parser.parse_args(argv)
    workspaces = args.workspaces or list(WORKSPACES)

    def run() -> int:
        started = time.monotonic()
        configs = load_configs(workspaces)
        ensure_lambda_zip()
        print(f"synth: {', '.join(workspaces)} -> {args.outdir}", flush=True)
        stacks = synth(configs, args.outdir)
        print(f"synth: {', '.join(p.name for p in stacks)} in {time.monotonic() - started:.1f}s", flush=True)
        return 0

    return exit_on_user_error(run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
