"""``terraform init`` + ``validate`` every synthesized stack of the given workspaces with the real provider.

Usage: ``python -m tools.validate [--outdir DIR] [WORKSPACE ...]`` (run ``tools.synth`` first).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from python_stacks import UserError
from python_stacks.config import StackConfig
from python_stacks.project import ROOT
from python_stacks.stacks import load_configs
from python_stacks.workspace import ACCOUNT_STACK_ID, ACCOUNT_WORKSPACE, WORKSPACES, workspace_stack_ids
from tools import tf


def stack_dirs(outdir: Path, configs: list[StackConfig]) -> list[tuple[Path, str]]:
    """(stack folder, workspace) for every stack of the configurations; fails when one was not synthesized."""
    found = [(outdir / "stacks" / ACCOUNT_STACK_ID, ACCOUNT_WORKSPACE)]
    found += [
        (outdir / "stacks" / name, config.workspace) for config in configs for name in workspace_stack_ids(config)
    ]
    missing = [str(path) for path, _ in found if not (path / "cdk.tf.json").is_file()]
    if missing:
        raise SystemExit(f"error: not synthesized: {', '.join(missing)}: run `make synth`")
    return found


def validate(target: tuple[Path, str]) -> tuple[Path, bool, str, float]:
    stack, workspace = target
    started = time.monotonic()
    for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
        # validate evaluates the workspace guard too, so it runs in the stack's own workspace.
        result = tf.run(args, stack, workspace=workspace)
        if result.returncode != 0:
            return stack, False, f"terraform {args[0]} failed:\n{result.stdout}{result.stderr}", 0.0
    return stack, True, result.stdout.strip(), time.monotonic() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspaces", nargs="*")
    parser.add_argument("--outdir", type=Path, default=ROOT / "cdktf.out")
    args = parser.parse_args(argv)
    try:
        configs = load_configs(args.workspaces or list(WORKSPACES))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stacks = stack_dirs(args.outdir, configs)
    failed = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for stack, ok, message, seconds in pool.map(validate, stacks):
            if ok:
                print(f"validate: {stack.name}: {message} ({seconds:.1f}s)", flush=True)
            else:
                failed += 1
                print(f"validate: {stack.name}: FAILED\n{message}", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
