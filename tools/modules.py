"""The module gate: for every ``tf_modules/<name>`` — ``terraform fmt -check``, ``init`` + ``validate`` of the
module and each of its ``examples/*`` (and ``modules/*``), and ``terraform test`` on ``mock_provider "aws"``.

Usage: ``python -m tools.modules [NAME ...]`` — exits non-zero on the first kind of failure, after running all.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from python_stacks.project import CACHE_DIR, ROOT
from tools import tf

MODULES = ROOT / "tf_modules"


def terraform(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # Keep .terraform folders out of the module sources (they would otherwise sit beside the code).
    return tf.run(args, cwd, env={"TF_DATA_DIR": str(CACHE_DIR / "tf-data" / cwd.relative_to(ROOT))})


def roots_of(module: Path) -> list[Path]:
    """The module itself, its submodules and its examples: every folder that must init and validate."""
    extra = sorted(p for pattern in ("modules/*", "examples/*") for p in module.glob(pattern) if p.is_dir())
    return [module, *extra]


def check_module(module: Path) -> tuple[str, list[str]]:
    errors: list[str] = []
    started = time.monotonic()
    fmt = terraform(["fmt", "-check", "-recursive", "-diff", "-no-color"], module)
    if fmt.returncode != 0:
        errors.append(f"terraform fmt: files need formatting:\n{fmt.stdout}{fmt.stderr}")
    for root in roots_of(module):
        where = root.relative_to(ROOT)
        for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
            result = terraform(args, root)
            if result.returncode != 0:
                errors.append(f"{where}: terraform {args[0]} failed:\n{result.stdout}{result.stderr}")
                break
    tested = 0
    for root in roots_of(module):
        if (root / "tests").is_dir() and list((root / "tests").glob("*.tftest.hcl")):
            result = terraform(["test", "-no-color"], root)
            tested += 1
            if result.returncode != 0:
                errors.append(f"{root.relative_to(ROOT)}: terraform test failed:\n{result.stdout}{result.stderr}")
            else:
                summary = [line for line in result.stdout.splitlines() if line.startswith(("Success!", "Failure!"))]
                print(f"modules: {root.relative_to(ROOT)}: {' '.join(summary)}", flush=True)
    if tested == 0:
        errors.append(f"{module.relative_to(ROOT)}: no tests/*.tftest.hcl")
    status = "ok" if not errors else "FAILED"
    return f"modules: {module.name}: {status} ({time.monotonic() - started:.1f}s)", errors


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="default: every folder in tf_modules/")
    args = parser.parse_args(argv)
    modules = [MODULES / name for name in args.modules] or sorted(p for p in MODULES.iterdir() if p.is_dir())
    failed = False
    with ThreadPoolExecutor(max_workers=2) as pool:
        for summary, errors in pool.map(check_module, modules):
            print(summary, flush=True)
            for error in errors:
                failed = True
                print(error, file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
