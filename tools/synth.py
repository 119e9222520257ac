"""Synthesize the stacks of one or more workspaces in one process (the bindings load once).

Usage: ``python -m tools.synth [--outdir DIR] [WORKSPACE ...]`` — no workspace means all of them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from python_stacks import runtime
from python_stacks.app_builder import load_configs
from python_stacks.config import StackConfig
from python_stacks.errors import USER_ERRORS
from python_stacks.settings import WORKSPACES
from python_stacks.stack_names import ACCOUNT_STACK_ID, workspace_stack_ids

ROOT = Path(__file__).resolve().parent.parent


def synth(configs: list[StackConfig], outdir: Path) -> list[Path]:
    """Synthesize and return the stack directories written, in order."""
    runtime.prepare()
    from python_stacks.app_builder import build_app

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
    started = time.monotonic()
    try:
        configs = load_configs(workspaces)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"synth: {', '.join(workspaces)} -> {args.outdir}", flush=True)
    stacks = synth(configs, args.outdir)
    print(f"synth: {', '.join(p.name for p in stacks)} in {time.monotonic() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
