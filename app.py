#!/usr/bin/env python3
"""CDKTF entry point (cdktf.json's ``app``): synthesizes the stacks of the workspace named by TF_WORKSPACE, as plain
Terraform selects it, into the cdktf CLI's output folder ($CDKTF_OUTDIR, default ``cdktf.out``).

The shared Lambda ZIP is built first when it is missing or stale. A user error (unknown workspace, bad setting,
failed ZIP build) is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from python_stacks import exit_on_user_error


def main() -> int:
    from python_stacks.stacks import load_configs
    from tools.synth import ensure_lambda_zip, register_account_workspace, synth

    (config,) = load_configs([os.environ.get("TF_WORKSPACE", "")])
    ensure_lambda_zip()
    outdir = Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out"))
    synth([config], outdir)
    # The CLI runs `terraform init` for every stack in TF_WORKSPACE's workspace next.
    register_account_workspace(config, outdir)
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))
