#!/usr/bin/env python3
"""CDKTF entry point: synthesizes the stacks of the workspace named by TF_WORKSPACE (as plain Terraform does)."""

from __future__ import annotations

import os
import sys

from python_stacks.errors import USER_ERRORS


def main() -> int:
    from python_stacks import runtime
    from python_stacks.app_builder import build_app, load_configs

    try:
        configs = load_configs([os.environ.get("TF_WORKSPACE", "")])
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runtime.prepare()
    # The cdktf CLI passes its --output folder as CDKTF_OUTDIR.
    build_app(configs, outdir=os.environ.get("CDKTF_OUTDIR", "cdktf.out")).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
