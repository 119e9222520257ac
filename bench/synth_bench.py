"""Benchmark of synthesis and Terraform: figures only, no pass/fail.

Measures, in one run:

- Synthesis with the stock binding imports (``TRADING_STOCK_IMPORTS=1``) and with the fast path of
  ``python_stacks/fast_imports.py``, side by side, for one workspace and for all three in one process: wall time
  and peak resident memory of the whole process tree (Python plus the jsii node process). Runs alternate between
  the paths so background load hits both alike; figures are medians. Targets: fast >= 4x stock, RSS <= 0.6x.
- ``terraform init``, ``validate`` and ``plan`` per stack and workspace with the real provider. Plans run
  against a private moto server on a free port, with state in a scratch folder: the data-protection stack plans
  from nothing; it is then applied (timed too) so the trading stack's plan finds the KMS alias it looks up.

Usage: ``python -m bench.synth_bench [--repeat 3] [--workspace dev] [--no-synth] [--no-terraform] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from python_stacks.project import CACHE_DIR, ROOT
from python_stacks.workspace import WORKSPACES
from tools import tf
from tools.emulator import Emulator

WORK = CACHE_DIR / "bench"
SPEEDUP_TARGET = 4.0
RSS_RATIO_TARGET = 0.6
SAMPLE_SECONDS = 0.02
# Variables that select a deployment or a loading path: every synth run starts from the same environment.
DROPPED_ENV = (
    "TF_WORKSPACE",
    "ENVIRONMENT_SUFFIX",
    "TARGET",
    "LOCAL_AWS_ENDPOINT",
    "TRADING_STOCK_IMPORTS",
    "NODE_OPTIONS",
)


# --- process-tree measurement ------------------------------------------------------------------------------------
# ru_maxrss of the children reports only the largest single process, so the tree is sampled through /proc: the
# peak is the largest sum of resident sizes seen at one instant. Each process's VmHWM (exact, kept by the kernel)
# is recorded as well, per executable name.


@dataclass
class Measurement:
    returncode: int
    wall_s: float
    tree_peak_kb: int
    hwm_kb_by_name: dict[str, int] = field(default_factory=dict)
    output: str = ""


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            found.extend(int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


def _status(pid: int) -> tuple[str, int, int] | None:
    """(name, VmRSS kB, VmHWM kB); None once the process has gone (a zombie has no VmRSS)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    if "VmRSS" not in fields:
        return None
    return fields["Name"].strip(), int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def measure(argv: Sequence[str], env: Mapping[str, str], cwd: Path = ROOT) -> Measurement:
    """Run ``argv`` to completion while sampling its process tree; output is captured, not shown."""
    started = time.monotonic()
    process = subprocess.Popen(
        list(argv), env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    chunks: list[str] = []
    reader = threading.Thread(target=lambda s=process.stdout: chunks.append(s.read()), daemon=True)  # type: ignore[misc]
    reader.start()
    hwm: dict[int, tuple[str, int]] = {}
    peak = 0
    while process.poll() is None:
        total, todo = 0, [process.pid]
        while todo:
            pid = todo.pop()
            todo.extend(_children(pid))
            status = _status(pid)
            if status is not None:
                name, rss, high = status
                total += rss
                hwm[pid] = (name, max(high, hwm.get(pid, (name, 0))[1]))
        peak = max(peak, total)
        time.sleep(SAMPLE_SECONDS)
    wall = time.monotonic() - started
    reader.join()
    by_name: dict[str, int] = {}
    for name, high in hwm.values():
        by_name[name] = max(by_name.get(name, 0), high)
    return Measurement(process.returncode, wall, peak, by_name, "".join(chunks))


# --- synthesis: stock vs fast -------------------------------------------------------------------------------------


def synth_env(*, stock: bool, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV and not k.startswith("TF_STATE_")}
    env["TARGET"] = "local"
    env["TF_BACKEND"] = "local"  # the plans below must never touch a shared state bucket
    if stock:
        env["TRADING_STOCK_IMPORTS"] = "1"
    env.update(extra or {})
    return env


def synth_argv(outdir: Path, workspaces: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "tools.synth", "--outdir", str(outdir), *workspaces]


def run_synth(workspaces: Sequence[str], *, stock: bool) -> Measurement:
    outdir = WORK / f"synth-{'stock' if stock else 'fast'}"
    shutil.rmtree(outdir, ignore_errors=True)
    result = measure(synth_argv(outdir, workspaces), synth_env(stock=stock))
    shutil.rmtree(outdir, ignore_errors=True)
    if result.returncode != 0:
        raise SystemExit(f"synth ({'stock' if stock else 'fast'}) failed:\n{result.output}")
    return result


def summarize(runs: list[Measurement]) -> dict[str, Any]:
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    names = sorted({name for run in runs for name in run.hwm_kb_by_name})
    return {
        "wall_s": [round(r.wall_s, 3) for r in runs],
        "wall_median_s": round(statistics.median(r.wall_s for r in runs), 3),
        "peak_rss_mb": mb(statistics.median(r.tree_peak_kb for r in runs)),
        "process_peak_mb": {n: mb(statistics.median(r.hwm_kb_by_name.get(n, 0) for r in runs)) for n in names},
    }


def bench_synth(scopes: Mapping[str, Sequence[str]], repeat: int) -> list[dict[str, Any]]:
    # One untimed run first: the jsii package cache is unpacked once after an install, and neither path should pay.
    run_synth(next(iter(scopes.values())), stock=False)
    runs: dict[tuple[str, bool], list[Measurement]] = {(s, stock): [] for s in scopes for stock in (True, False)}
    for index in range(repeat):
        for scope, workspaces in scopes.items():
            for stock in (True, False):
                run = run_synth(workspaces, stock=stock)
                runs[(scope, stock)].append(run)
                label = "stock" if stock else "fast"
                print(
                    f"  run {index + 1}/{repeat} {scope:<10} {label:<5} {run.wall_s:6.2f} s "
                    f"{run.tree_peak_kb / 1024:7.0f} MB",
                    flush=True,
                )
    results = []
    for scope, workspaces in scopes.items():
        stock, fast = summarize(runs[(scope, True)]), summarize(runs[(scope, False)])
        results.append(
            {
                "scope": scope,
                "workspaces": list(workspaces),
                "stock": stock,
                "fast": fast,
                "speedup": round(stock["wall_median_s"] / fast["wall_median_s"], 2),
                "rss_ratio": round(fast["peak_rss_mb"] / stock["peak_rss_mb"], 3),
            }
        )
    return results


# --- terraform: init, validate, plan per stack --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terraform(args: Sequence[str], stack_dir: Path, workspace: str) -> tuple[float, str | None]:
    """(seconds, None) or (seconds, error text)."""
    started = time.monotonic()
    # In the stack's workspace: the workspace guard fails a plan (and validate) anywhere else.
    result = tf.run(args, stack_dir, workspace=workspace)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        return seconds, (result.stderr or result.stdout).strip()
    return seconds, None


def _state_inside(stack_dir: Path, scratch: Path) -> bool:
    """True when the stack's local backend keeps its state under ``scratch`` (never in the project's .state)."""
    backend = json.loads((stack_dir / "cdk.tf.json").read_text())["terraform"].get("backend", {}).get("local")
    if backend is None:
        return False
    for key in ("path", "workspace_dir"):
        if key in backend and not (stack_dir / backend[key]).resolve().is_relative_to(scratch.resolve()):
            return False
    return True


def bench_terraform(workspaces: Sequence[str]) -> list[dict[str, Any]]:
    scratch = WORK / "terraform"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    outdir = scratch / "cdktf.out"  # stacks/<stack>/../../../.state is then scratch/.state
    emulator = Emulator(free_port())
    env = synth_env(stock=False, extra={"LOCAL_AWS_ENDPOINT": emulator.endpoint})
    synth = measure(synth_argv(outdir, workspaces), env)
    if synth.returncode != 0:
        raise SystemExit(f"synth for the Terraform bench failed:\n{synth.output}")
    rows: list[dict[str, Any]] = []
    emulator.start()
    try:
        for stack_dir in ordered_stacks(outdir / "stacks"):
            workspace = guarded_workspace(stack_dir) or "default"
            if not _state_inside(stack_dir, scratch):
                raise SystemExit(f"{stack_dir.name}: its backend writes state outside {scratch}; not running it")
            if not emulator.healthy():
                rows.append(
                    {
                        "stack": stack_dir.name,
                        "workspace": workspace,
                        "error": f"the emulator at {emulator.endpoint} stopped answering",
                    }
                )
                continue
            rows.append(bench_stack(stack_dir, workspace, apply=stack_dir.name.startswith("data-protection-")))
    finally:
        emulator.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def guarded_workspace(stack_dir: Path) -> str | None:
    """The workspace a stack's guard demands (None for account-level stacks without one)."""
    resources = json.loads((stack_dir / "cdk.tf.json").read_text()).get("resource", {})
    guard = resources.get("terraform_data", {}).get("workspace_guard", {})
    for condition in guard.get("lifecycle", {}).get("precondition", []):
        match = re.search(r'terraform\.workspace == "([^"]+)"', condition.get("condition", ""))
        if match:
            return match.group(1)
    return None


def ordered_stacks(stacks: Path) -> list[Path]:
    """Data-protection stacks first (applied: the trading stacks look their key up), then per workspace."""
    found = [p for p in stacks.iterdir() if (p / "cdk.tf.json").is_file()]
    return sorted(found, key=lambda p: (guarded_workspace(p) or "", not p.name.startswith("data-protection-"), p.name))


def bench_stack(stack_dir: Path, workspace: str, *, apply: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"stack": stack_dir.name, "workspace": workspace}
    steps = [
        ("init", ["init", "-input=false", "-no-color"]),
        ("validate", ["validate", "-no-color"]),
        ("plan", ["plan", "-input=false", "-no-color", "-lock=false"]),
    ]
    if apply:
        steps.append(("apply", ["apply", "-input=false", "-no-color", "-auto-approve"]))
    for name, args in steps:
        seconds, error = terraform(args, stack_dir, workspace)
        row[f"{name}_s"] = round(seconds, 2)
        if error:
            row["error"] = f"{name}: {_first_error(error)}"
            break
    print(
        f"  {row['stack']:<24} "
        + "  ".join(f"{k[:-2]} {v:5.1f} s" for k, v in row.items() if k.endswith("_s"))
        + (f"  FAILED {row['error']}" if "error" in row else ""),
        flush=True,
    )
    return row


def _first_error(text: str) -> str:
    lines = [line.strip("│ ").strip() for line in text.splitlines()]
    errors = [line for line in lines if line.startswith("Error:")]
    return (errors or [line for line in lines if line] or ["(no output)"])[0][:200]


# --- report ---------------------------------------------------------------------------------------------------------


def synth_table(results: list[dict[str, Any]]) -> dict[str, Any]:
    rows = []
    for r in results:
        for path in ("stock", "fast"):
            p = r[path]
            procs = p["process_peak_mb"]
            rows.append(
                [
                    r["scope"],
                    path,
                    f"{p['wall_median_s']:.2f} s",
                    f"{p['peak_rss_mb']:.0f} MB",
                    f"{procs.get('python', 0):.0f} MB",
                    f"{procs.get('node', 0):.0f} MB",
                    "",
                ]
            )
        ok = r["speedup"] >= SPEEDUP_TARGET and r["rss_ratio"] <= RSS_RATIO_TARGET
        rows.append(
            [
                r["scope"],
                "fast/stock",
                f"{r['speedup']:.1f}x faster",
                f"{r['rss_ratio']:.2f}x",
                "",
                "",
                "meets targets" if ok else "MISSES a target",
            ]
        )
    return {
        "title": f"Synthesis, stock vs fast imports (targets: >= {SPEEDUP_TARGET:g}x faster, RSS <= "
        f"{RSS_RATIO_TARGET:g}x)",
        "columns": ["scope", "path", "wall (median)", "peak RSS, tree", "python", "node", ""],
        "rows": rows,
    }


def terraform_table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    fmt = lambda row, key: f"{row[key]:.1f} s" if key in row else ""  # noqa: E731
    return {
        "title": "Terraform per stack (real provider; plan and apply against a private moto server)",
        "columns": ["stack", "init", "validate", "plan", "apply (data-protection, so trading can plan)", "error"],
        "rows": [
            [
                r["stack"],
                fmt(r, "init_s"),
                fmt(r, "validate_s"),
                fmt(r, "plan_s"),
                fmt(r, "apply_s"),
                r.get("error", ""),
            ]
            for r in rows
        ],
    }


def render(table: Mapping[str, Any], out: IO[str] = sys.stdout) -> None:
    columns, rows = table["columns"], table["rows"]
    widths = [max(len(str(x)) for x in [c, *(row[i] for row in rows)]) for i, c in enumerate(columns)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()  # noqa: E731
    print(f"\n{table['title']}", file=out)
    print(line(columns), file=out)
    print(line("-" * w for w in widths), file=out)
    for row in rows:
        print(line(row), file=out)


def markdown(report: Mapping[str, Any]) -> str:
    """The report's section in bench/results.md (used by bench/report.py)."""
    from bench.report import markdown_table

    parts = [f"**{t['title']}**\n\n{markdown_table(t['columns'], t['rows'])}" for t in report["tables"]]
    parts.append("\n".join(f"- {note}" for note in report.get("notes", [])))
    return "\n\n".join(parts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per path and scope (median reported)")
    parser.add_argument("--workspace", default="dev", choices=list(WORKSPACES), help="the one-workspace scope")
    parser.add_argument("--no-terraform", action="store_true", help="skip the terraform validate/plan timings")
    parser.add_argument("--no-synth", action="store_true", help="skip the stock-vs-fast synth timings")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this path")
    args = parser.parse_args(argv)
    # A terminated bench still stops its emulator and removes its scratch state (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    subprocess.run([sys.executable, "-m", "tools.package"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    WORK.mkdir(parents=True, exist_ok=True)
    scopes = {args.workspace: [args.workspace], "all three": list(WORKSPACES)}
    synth: list[dict[str, Any]] = []
    tables = []
    if not args.no_synth:
        print(f"synth: stock vs fast, {args.repeat} run(s) each", flush=True)
        synth = bench_synth(scopes, args.repeat)
        tables.append(synth_table(synth))
    stacks: list[dict[str, Any]] = []
    if not args.no_terraform:
        print("terraform: init, validate, plan per stack", flush=True)
        stacks = bench_terraform(list(WORKSPACES))
        tables.append(terraform_table(stacks))
    for table in tables:
        render(table)

    report = {
        "bench": "synth",
        "title": "Synthesis and Terraform",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "repeat": args.repeat,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "targets": {"speedup_min": SPEEDUP_TARGET, "rss_ratio_max": RSS_RATIO_TARGET},
        "synth": synth,
        "terraform": stacks,
        "tables": tables,
        "notes": [
            "Peak RSS is the largest sum of resident memory over the process tree (Python and the jsii node "
            "process), sampled every 20 ms; python/node columns are each process's own high-water mark.",
            "The trading stack plans after its data-protection stack was applied to the emulator (the KMS alias "
            "lookup needs it); nothing else is deployed.",
        ],
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nJSON: {args.json}")
    return 1 if any("error" in s for s in stacks) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
