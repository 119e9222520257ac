"""The Lambda workers' runtime: a CPython 3.12 plus boto3 and AWS's Runtime Interface Client, built once.

Lambda's python3.12 runtime gives every function an interpreter under ``/var/lang``, boto3, and AWS's Runtime
Interface Client (``awslambdaric``) under ``/var/runtime``. The emulator's workers get the same: the CPython 3.12
that ``tools.package.find_runtime_python`` finds (the one the shared ZIP's bytecode is compiled with) and the exact
pins of ``local_cloud/runtime-requirements.txt``, installed with that interpreter's pip into
``.cache/lambda-runtime/<key>/packages`` (the key hashes the pins and the interpreter). The sandbox mounts both
read-only (local_cloud/lambda_sandbox.py), so pip's precompiled bytecode is what the workers load.

Usage: ``python -m local_cloud.lambda_env`` builds it with pip's progress output (the emulator does the same in the
background when it starts, so the first invocation need not wait long).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from python_stacks.project import CACHE_DIR
from tools import sidevenv
from tools.package import RUNTIME_VERSION, PackageError, find_runtime_python, normalize, read_pins

REQUIREMENTS = Path(__file__).with_name("runtime-requirements.txt")
ENV_ROOT = CACHE_DIR / "lambda-runtime"
_PROBE = (
    "import json, os, sys; print(json.dumps({'prefix': os.path.realpath(sys.base_prefix), "
    "'executable': os.path.realpath(getattr(sys, '_base_executable', sys.executable)), 'version': sys.version}))"
)


class RuntimeEnvError(RuntimeError):
    """The workers' runtime cannot be built; the message says what to do."""


@dataclass(frozen=True)
class RuntimeEnv:
    """Where the pieces of the worker runtime are on the host (the sandbox mounts them at Lambda's paths)."""

    prefix: Path  # the interpreter's installation (sys.base_prefix): /var/lang in the sandbox
    executable: str  # the interpreter, relative to prefix (e.g. bin/python3.12)
    packages: Path  # awslambdaric, boto3 and their dependencies: /var/runtime in the sandbox
    version: str  # sys.version of the interpreter, for reports


def _probe(python: str) -> dict[str, str]:
    result = subprocess.run([python, "-I", "-c", _PROBE], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeEnvError(f"{python} does not run: {result.stderr.strip()}")
    found: dict[str, str] = json.loads(result.stdout)
    return found


def _describe(python: str) -> tuple[Path, str, str]:
    found = _probe(python)
    prefix, executable = Path(found["prefix"]), Path(found["executable"])
    if not executable.is_relative_to(prefix):
        raise RuntimeEnvError(
            f"{executable} is not inside its installation {prefix}: use another CPython {RUNTIME_VERSION}"
        )
    return prefix, str(executable.relative_to(prefix)), found["version"]


def locate() -> tuple[str, Path, str, str]:
    """The runtime interpreter: (path, installation prefix, executable relative to it, version)."""
    try:
        python = find_runtime_python(None)
    except PackageError as exc:
        raise RuntimeEnvError(
            f"no CPython {RUNTIME_VERSION} for Lambda workers (the runtime's version): install one (e.g. "
            f"pyenv install {RUNTIME_VERSION}) or set LAMBDA_PYTHON"
        ) from exc
    prefix, executable, version = _describe(python)
    return python, prefix, executable, version


def env_key(python_version: str, requirements: str) -> str:
    source = json.dumps({"python": python_version, "requirements": requirements}, sort_keys=True)
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def ensure(progress: Callable[[str], None] = print) -> RuntimeEnv:
    """The runtime, from the cache or built now (pip's own output goes to this process's stdout)."""
    python, prefix, executable, version = locate()
    pins = read_pins(REQUIREMENTS)
    target = ENV_ROOT / env_key(version, REQUIREMENTS.read_text())
    packages = target / "packages"
    env = RuntimeEnv(prefix=prefix, executable=executable, packages=packages, version=version.split()[0])
    if packages.is_dir():
        return env
    target.mkdir(parents=True, exist_ok=True)
    # Emulators of parallel test sessions may start together: one builds, the others wait for it.
    with sidevenv.build_lock(packages):
        if packages.is_dir():
            return env
        main_pins = ", ".join(f"{name}=={pins[name]}" for name in ("boto3", "awslambdaric") if name in pins)
        progress(f"lambda runtime: building the worker environment once ({main_pins}) with {python} into {packages}")
        staging = Path(tempfile.mkdtemp(prefix=".packages-", dir=target))
        try:
            command = [
                python,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--progress-bar",
                "off",
                "--only-binary=:all:",
                "--target",
                str(staging),
                "-r",
                str(REQUIREMENTS),
            ]
            done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=sys.stdout, stderr=sys.stderr, check=False)
            if done.returncode != 0:
                raise RuntimeEnvError(f"pip could not install {REQUIREMENTS.name} for Lambda workers (output above)")
            found = staging.glob("*.dist-info")
            distributions = (path.name.removesuffix(".dist-info").rsplit("-", 1) for path in found)
            installed = {normalize(name): version for name, version in distributions}
            if installed != pins:
                raise RuntimeEnvError(
                    f"pip installed {installed}, {REQUIREMENTS.name} pins {pins}: pin every dependency exactly"
                )
            shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts with this machine's shebang
            staging.chmod(0o755)  # mkdtemp makes it private; workers run as an unprivileged user
            staging.rename(packages)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        progress(f"lambda runtime: worker environment ready ({sum(1 for _ in packages.rglob('*.py'))} modules)")
    return env


def main() -> int:
    try:
        env = ensure()
    except (RuntimeEnvError, PackageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"lambda runtime: Python {env.version} at {env.prefix}, packages at {env.packages}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
