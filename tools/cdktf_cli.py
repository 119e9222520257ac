"""The pinned cdktf CLI (cdktf-cli 0.21.0, the final release, locked by tools/cdktf-cli/package-lock.json).

``tools/cdktf-cli/cdktf ARGS`` runs this module; it is the one documented way to run the CLI (README, "The standard
CDKTF CLI"). It

1. installs the CLI with ``npm ci`` when ``node_modules`` is missing or was installed from another lock file
   (``make setup`` does it up front; CI and a fresh clone get it on first use);
2. before a command that synthesizes, validates the workspace's settings and builds the shared ZIP when it is
   missing or stale, so a user error is one line and exit status 2 here as everywhere (cdktf itself would wrap the
   app's one line in its own message and exit 1);
3. runs the CLI in the project root with the tooling's Terraform settings (``tools.tf.tooling_env``: the provider
   mirror for offline machines, no telemetry or version checks).

Usage: ``tools/cdktf-cli/cdktf <cdktf arguments>`` · ``python -m tools.cdktf_cli --install`` (install only)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from python_stacks.errors import UserError, exit_on_user_error
from tools.tf import tooling_env

ROOT = Path(__file__).resolve().parent.parent
CLI_DIR = ROOT / "tools" / "cdktf-cli"
CLI_BIN = CLI_DIR / "node_modules" / ".bin" / "cdktf"
LOCK_STAMP = CLI_DIR / "node_modules" / ".trading-lock.sha256"
# cdktf commands (and aliases) that run the app first, unless --skip-synth says the output is already there.
SYNTHESIZING = frozenset({"synth", "synthesize", "deploy", "apply", "destroy", "diff", "plan", "list", "watch",
                          "output", "outputs"})


class CliSetupError(UserError):
    """The pinned CLI cannot be installed here (no npm)."""


class CliInstallError(RuntimeError):
    """``npm ci`` failed; its output says why."""


def lock_digest() -> str:
    return hashlib.sha256((CLI_DIR / "package-lock.json").read_bytes()).hexdigest()


def installed() -> bool:
    return CLI_BIN.exists() and LOCK_STAMP.is_file() and LOCK_STAMP.read_text().strip() == lock_digest()


def ensure_cli(log_prefix: str = "cdktf-cli") -> Path:
    """The pinned cdktf binary, installed from package-lock.json when missing or stale."""
    if installed():
        return CLI_BIN
    if not shutil.which("npm"):
        raise CliSetupError("npm not found: the pinned cdktf CLI needs Node.js >= 20 with npm")
    print(f"{log_prefix}: installing the pinned cdktf CLI into {CLI_DIR.relative_to(ROOT)} "
          "(npm ci, about 420 MB, once)", file=sys.stderr, flush=True)
    result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CLI_DIR,
                            text=True, capture_output=True, env={**os.environ, "DISABLE_VERSION_CHECK": "1"})
    if result.returncode != 0 or not CLI_BIN.exists():
        raise CliInstallError(f"npm ci failed in {CLI_DIR}:\n{result.stdout}{result.stderr}")
    LOCK_STAMP.write_text(lock_digest() + "\n")
    return CLI_BIN


def synthesizes(argv: Sequence[str]) -> bool:
    """True when cdktf will run the app: a synthesizing command without --skip-synth or --help."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    flags = {arg.split("=", 1)[0] for arg in argv if arg.startswith("-")}
    return command in SYNTHESIZING and not flags & {"--skip-synth", "--help", "-h"}


def preflight() -> None:
    """What the app would reject, rejected here first in one line; the ZIP built when missing or stale."""
    from python_stacks.app_builder import load_configs
    from tools.synth import ensure_lambda_zip

    load_configs([os.environ.get("TF_WORKSPACE", "")])
    ensure_lambda_zip()


def cli_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(tooling_env())
    return env


def main(argv: list[str]) -> int:
    def run() -> int:
        if argv[:1] == ["--install"]:
            print(f"cdktf-cli: {ensure_cli()} (cdktf-cli pinned by {CLI_DIR.relative_to(ROOT)}/package-lock.json)")
            return 0
        if synthesizes(argv):
            preflight()  # before the install: a wrong setting fails in one line, not after 420 MB of npm
        binary = ensure_cli()
        os.chdir(ROOT)  # cdktf.json and its relative app command live here
        os.execve(binary, [str(binary), *argv], cli_env())
        return 0  # not reached

    try:
        return exit_on_user_error(run)
    except CliInstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
