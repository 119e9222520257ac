"""Apply and destroy times on the local emulator: each workspace alone, then all three in parallel.

Usage: ``python -m bench.deploy_bench [--workspaces dev staging prod] [--no-parallel] [--json PATH]``
Starts its own moto server on a free loopback port and works in a temporary folder; prints a markdown table.
Takes about 15 minutes for the full run on 2 cores (each apply ~2 min, each destroy ~2 min).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from python_stacks.stacks import load_configs
from tools.deploy import Deployment
from tools.emulator import Emulator
from tools.synth import synth


def timed(work) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    work()
    return time.monotonic() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", nargs="+", default=["dev", "staging", "prod"])
    parser.add_argument("--no-parallel", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    emulator = Emulator.private()
    rows: list[dict[str, object]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="deploy-bench-", dir=os.environ.get("TMPDIR")) as tmp:
            outdir = Path(tmp) / "root" / "cdktf.out"
            env = {"TARGET": "local", "LOCAL_AWS_ENDPOINT": emulator.endpoint}
            configs = load_configs(args.workspaces, env)
            synth(configs, outdir)
            deployments = {c.workspace: Deployment(c, outdir) for c in configs}
            for workspace, deployment in deployments.items():
                apply_s = timed(partial(deployment.deploy, synthesize=False))
                destroy_s = timed(partial(deployment.destroy, with_data=True, synthesize=False))
                rows.append({"case": workspace, "apply_s": round(apply_s, 1), "destroy_s": round(destroy_s, 1)})
            if not args.no_parallel and len(deployments) > 1:
                with ThreadPoolExecutor(max_workers=len(deployments)) as pool:
                    apply_s = timed(lambda: list(pool.map(lambda d: d.deploy(synthesize=False), deployments.values())))
                    destroy_s = timed(
                        lambda: list(
                            pool.map(lambda d: d.destroy(with_data=True, synthesize=False), deployments.values())
                        )
                    )
                rows.append(
                    {
                        "case": f"{len(deployments)} in parallel",
                        "apply_s": round(apply_s, 1),
                        "destroy_s": round(destroy_s, 1),
                    }
                )
    finally:
        emulator.stop()
    print("\n| case | apply (s) | destroy (s) |\n| --- | ---: | ---: |")
    for row in rows:
        print(f"| {row['case']} | {row['apply_s']} | {row['destroy_s']} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"deploy": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def markdown(report: dict[str, list[dict[str, object]]]) -> str:
    """The section bench/report.py puts into bench/results.md."""
    lines = [
        "Real Terraform and provider against a private moto server; each workspace alone (apply, then destroy,"
        " including its data-protection stack), then all three in parallel.",
        "",
        "| case | apply (s) | destroy (s) |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {row['case']} | {row['apply_s']} | {row['destroy_s']} |" for row in report["deploy"]]
    return "\n".join(lines)
