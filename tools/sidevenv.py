"""Side virtualenvs: tools whose pins clash with the project's own (checkov, the aws 6.x bindings, the cold-start
benchmark's boto3) run from a virtualenv of their own, built once and rebuilt only when what it is built from
changes.

The key of an environment is a digest of its requirements and of the interpreter that builds it; it is stamped
into the environment after a successful install, so an interrupted install is redone. Parallel callers (test
sessions, threads) take a file lock under the cache and build once. The Lambda workers' package tree
(local_cloud/lambda_env.py) takes the same lock; it is a ``pip --target`` folder keyed by its pins, not a
virtualenv, because the sandbox mounts it where Lambda keeps its runtime (docs/decisions/0020-one-runner-one-venv.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from python_stacks import UserError
from python_stacks.project import CACHE_DIR

STAMP = ".requirements.sha256"


class SideVenvError(UserError, RuntimeError):
    """A side environment could not be built (pip's output went to stderr above the message)."""


def digest(*parts: str | bytes) -> str:
    """sha256 over the parts, each length-prefixed so that ("ab", "c") and ("a", "bc") differ."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(f"{len(data)}:".encode() + data)
    return hasher.hexdigest()


@contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock while building ``folder``: under the cache, because a rebuild clears the folder itself
    and the folder's parent may be the checkout."""
    locks = CACHE_DIR / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{folder.name}-{digest(str(folder.resolve()))[:12]}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure(
    venv: Path,
    requirements: Path | Sequence[str],
    *,
    python: str = sys.executable,
    label: str = "setup",
) -> Path:
    """The python of ``venv``, (re)built with ``requirements`` (a requirements file or requirement strings) when
    its stamp does not match them; progress lines start with ``label``."""
    if isinstance(requirements, Path):
        pip_args, what, key = ["-r", str(requirements)], requirements.name, digest(requirements.read_bytes(), python)
    else:
        pip_args, what, key = list(requirements), " ".join(requirements), digest("\n".join(requirements), python)
    stamp = venv / STAMP
    if _current(venv, stamp, key):
        return venv_python(venv)
    with build_lock(venv):
        if _current(venv, stamp, key):  # another caller built it while this one waited
            return venv_python(venv)
        print(f"{label}: installing {what} into {venv} (once; about a minute)", flush=True)
        # --clear: a changed pin list must not leave the old packages behind.
        _run([python, "-m", "venv", "--clear", str(venv)], f"creating {venv}")
        pip = [str(venv_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pip_args]
        _run(pip, f"installing {what} into {venv}")
        stamp.write_text(key + "\n")
    return venv_python(venv)


def _current(venv: Path, stamp: Path, key: str) -> bool:
    return venv_python(venv).exists() and stamp.is_file() and stamp.read_text().strip() == key


def _run(command: Sequence[str], doing: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SideVenvError(f"{doing} failed (exit {result.returncode}; output above)")
