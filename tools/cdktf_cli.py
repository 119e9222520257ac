"""The pinned cdktf CLI (cdktf-cli 0.21.0, the final release, locked by tools/cdktf-cli/package-lock.json).

``tools/cdktf-cli/cdktf ARGS`` runs this module; it is the one documented way to run the CLI (README, "The standard
CDKTF CLI"). It

1. installs the CLI with ``npm ci`` when ``node_modules`` is missing or was installed from another lock file
   (``make setup`` does it up front; CI and a fresh clone get it on first use);
2. before a command that synthesizes, validates the workspace's settings and builds the shared ZIP when it is
   missing or stale, so a user error is one line and exit status 2 here as everywhere (cdktf itself would wrap the
   app's one line in its own message and exit 1); before one that talks to AWS with ``TARGET=local`` (the default),
   starts or reuses the local emulator, as ``make deploy`` does;
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

from python_stacks import UserError, exit_on_user_error
from python_stacks.project import ROOT
from tools.tf import tooling_env

CLI_DIR = ROOT / "tools" / "cdktf-cli"
CLI_BIN = CLI_DIR / "node_modules" / ".bin" / "cdktf"
LOCK_STAMP = CLI_DIR / "node_modules" / ".trading-lock.sha256"
# cdktf commands (and aliases) that run the app first, unless --skip-synth says the output is already there.
SYNTHESIZING = frozenset(
    {"synth", "synthesize", "deploy", "apply", "destroy", "diff", "plan", "list", "watch", "output", "outputs"}
)
# ... and of those, the ones that run Terraform against the target.
REACHING_AWS = SYNTHESIZING - {"synth", "synthesize", "list"}


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
    print(
        f"{log_prefix}: installing the pinned cdktf CLI into {CLI_DIR.relative_to(ROOT)} (npm ci, about 420 MB, once)",
        file=sys.stderr,
        flush=True,
    )
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=CLI_DIR,
        text=True,
        capture_output=True,
        env={**os.environ, "DISABLE_VERSION_CHECK": "1"},
    )
    if result.returncode != 0 or not CLI_BIN.exists():
        raise CliInstallError(f"npm ci failed in {CLI_DIR}:\n{result.stdout}{result.stderr}")
    LOCK_STAMP.write_text(lock_digest() + "\n")
    return CLI_BIN


def _command(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _helps(argv: Sequence[str]) -> bool:
    return any(arg in ("--help", "-h") for arg in argv)


def synthesizes(argv: Sequence[str]) -> bool:
    """True when cdktf will run the app: a synthesizing command without --skip-synth or --help."""
    skips = any(arg.split("=", 1)[0] == "--skip-synth" for arg in argv)
    return _command(argv) in SYNTHESIZING and not skips and not _helps(argv)


def reaches_aws(argv: Sequence[str]) -> bool:
    return _command(argv) in REACHING_AWS and not _helps(argv)


def preflight(argv: Sequence[str]) -> None:
    """What the app would reject, rejected here first in one line; the ZIP built when missing or stale; the local
    emulator running when the command needs it."""
    from python_stacks.stacks import load_configs
    from tools.synth import ensure_lambda_zip

    (config,) = load_configs([os.environ.get("TF_WORKSPACE", "")])
    if synthesizes(argv):
        ensure_lambda_zip()
    if reaches_aws(argv) and config.target.is_local:
        from tools.emulator import Emulator, port_of

        started = Emulator(port_of(config.target.endpoint)).start()
        print(
            f"emulator: {'started' if started else 'reusing'} moto server at {config.target.endpoint}",
            file=sys.stderr,
            flush=True,
        )


def cli_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(tooling_env())
    return env


def main(argv: list[str]) -> int:
    def run() -> int:
        if argv[:1] == ["--install"]:
            print(f"cdktf-cli: {ensure_cli()} (cdktf-cli pinned by {CLI_DIR.relative_to(ROOT)}/package-lock.json)")
            return 0
        if synthesizes(argv) or reaches_aws(argv):
            preflight(argv)  # before the install: a wrong setting fails in one line, not after 420 MB of npm
        binary = ensure_cli()
        os.chdir(ROOT)  # cdktf.json and its relative app command live here
        os.execve(binary, [str(binary), *argv], cli_env())
        return 0  # not reached

    from tools.emulator import EmulatorError

    try:
        return exit_on_user_error(run)
    except (CliInstallError, EmulatorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
