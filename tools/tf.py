"""Run the real Terraform with this project's own CLI configuration.

The machine image ships the ``hashicorp/aws`` provider as a local filesystem mirror and has no route to the
Terraform registry, so every Terraform call goes through here. The mirror comes from ``TF_PROVIDER_MIRROR`` or is
detected in a few well-known places; with no mirror, Terraform installs providers from the registry as usual
(a workstation with internet). Nothing is written to the user's home configuration.

Usage: ``python -m tools.tf -chdir=DIR init``  (any terraform arguments). ``make tf-env`` prints the same settings
as shell exports (``shell_exports``), so a plain ``terraform`` or ``cdktf`` run uses them too. Inside the tooling,
``run`` is the one way to start Terraform (deploy, validate, the module gate, the HCL export, the benchmarks).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from python_stacks import UserError, exit_on_user_error
from python_stacks.project import CACHE_DIR

# Places where machine images conventionally keep an unpacked provider mirror (see docs/decisions).
_MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "/usr/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
)


class TerraformSetupError(UserError, RuntimeError):
    """Terraform cannot run as configured (binary missing, mirror path wrong)."""


def find_mirror() -> Path | None:
    """The provider mirror root (the folder that holds ``registry.terraform.io``), or None."""
    explicit = os.environ.get("TF_PROVIDER_MIRROR")
    if explicit:
        path = Path(explicit).expanduser()
        if not (path / "registry.terraform.io").is_dir():
            raise TerraformSetupError(f"TF_PROVIDER_MIRROR={explicit} has no registry.terraform.io folder inside it")
        return path
    for candidate in _MIRROR_CANDIDATES:
        path = Path(candidate).expanduser()
        if (path / "registry.terraform.io" / "hashicorp").is_dir():
            return path
    return None


def cli_config_text(mirror: Path | None) -> str:
    if mirror is None:
        return "# No local provider mirror found: providers come from the registry.\n"
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "}\n"
    )


def write_cli_config() -> Path:
    """Write (only when changed) the CLI config under the project cache and return its path."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    config = CACHE_DIR / "terraformrc"
    text = cli_config_text(find_mirror())
    if not config.exists() or config.read_text() != text:
        # Parallel callers (threads, processes) each write their own file; the atomic rename makes one win.
        tmp = config.with_name(f"{config.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(text)
        tmp.replace(config)
    return config


def tooling_env() -> dict[str, str]:
    """What every Terraform or cdktf run of this project needs, whoever starts it (the tools, the cdktf CLI, a user)."""
    return {
        # The provider mirror (offline machines); the environment may name a file that does not exist.
        "TF_CLI_CONFIG_FILE": str(write_cli_config()),
        # No version or telemetry calls from Terraform and the cdktf CLI, and no writes to the home directory.
        "CHECKPOINT_DISABLE": "1",
        # cdktf would otherwise create ~/.terraform.d/plugin-cache and route every stack's providers through it;
        # like the tooling, it leaves the home directory alone (the mirror's provider is linked either way).
        "CDKTF_DISABLE_PLUGIN_CACHE_ENV": "1",
        # No npm registry lookup for a newer cdktf-cli: the pinned 0.21.0 is the final release.
        "DISABLE_VERSION_CHECK": "1",
    }


def shell_exports() -> str:
    """``tooling_env`` as ``export`` lines for ``eval "$(make -s tf-env)"``."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in tooling_env().items())


def terraform_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a Terraform subprocess of the tooling: ``tooling_env``, no prompts."""
    env = dict(os.environ if base is None else base)
    env.update(tooling_env())
    env["TF_IN_AUTOMATION"] = "1"
    env.setdefault("TF_INPUT", "0")
    return env


def terraform_binary() -> str:
    binary = os.environ.get("TERRAFORM", "terraform")
    found = shutil.which(binary)
    if not found:
        raise TerraformSetupError(f"terraform not found on PATH (looked for {binary!r}); install Terraform >= 1.5")
    return found


class TerraformError(UserError, RuntimeError):
    """A Terraform command of the tooling failed: one line here, Terraform's own words in ``output``."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def run_env(workspace: str | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment ``run`` gives Terraform (tests that start Terraform themselves use it too)."""
    env = terraform_env()
    env.pop("TF_WORKSPACE", None)
    if workspace is not None:
        env["TF_WORKSPACE"] = workspace
    env.update(extra or {})
    return env


def run(
    args: Sequence[str],
    cwd: Path,
    *,
    workspace: str | None = None,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``terraform *args`` in ``cwd`` with ``terraform_env`` and return what it printed.

    ``workspace`` becomes ``TF_WORKSPACE`` (the stacks' workspace guard fails anywhere else); without it an inherited
    ``TF_WORKSPACE`` is dropped, so a caller's shell cannot pick a workspace behind the tool's back. ``env`` adds
    variables (e.g. ``TF_DATA_DIR``). With ``on_line`` stderr joins stdout and every line is handed over as it comes
    (progress of a long apply); the result's ``stdout`` then holds both and ``stderr`` is empty. ``check`` turns a
    failure into a ``TerraformError``.
    """
    full_env = run_env(workspace, env)
    command = [terraform_binary(), *args]
    if on_line is None:
        result = subprocess.run(command, cwd=cwd, env=full_env, text=True, capture_output=True, check=False)
    else:
        with subprocess.Popen(
            command, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process:
            assert process.stdout is not None
            lines: list[str] = []
            for line in process.stdout:
                lines.append(line)
                on_line(line)
        result = subprocess.CompletedProcess(command, process.returncode, "".join(lines), "")
    if check and result.returncode != 0:
        raise TerraformError(
            f"terraform {args[0]} failed in {cwd} (exit {result.returncode})", result.stdout + result.stderr
        )
    return result


def main(argv: list[str]) -> int:
    def replace_process() -> int:
        binary = terraform_binary()
        os.execve(binary, [binary, *argv], terraform_env())
        return 0  # not reached

    return exit_on_user_error(replace_process)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
