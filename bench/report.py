"""Collect the benchmark figures into one Markdown report, with the machine and tool versions they ran on.

Each benchmark ``bench/<name>_bench.py`` writes its figures with ``--json bench/out/<name>.json``. With ``--run``
this script runs every benchmark that exists first (synth, handlers, cold_start, deploy, rds, api, lambda_runtime, in
that order); without it, it only collects the JSON files already there. A benchmark module renders its own section
through a
``markdown(report: dict) -> str`` function when it has one; otherwise its ``tables`` (``title``, ``columns``,
``rows``) are rendered, or else its scalar figures as a flat table.

Usage: ``python -m bench.report [--run] [--only synth,handlers] [--output bench/results.md]``
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from python_stacks.project import ROOT

OUT_DIR = ROOT / "bench" / "out"
BENCHES = ("synth", "handlers", "cold_start", "deploy", "rds", "api", "lambda_runtime")
TITLES = {
    "synth": "Synthesis and Terraform",
    "handlers": "Lambda handlers",
    "cold_start": "Cold start of the API function",
    "deploy": "Deploy to the emulator",
    "rds": "Aurora on the emulator (MariaDB per cluster)",
    "api": "The deployed API on the emulator",
    "lambda_runtime": "Lambda runtime of the emulator",
}
PACKAGES = ("cdktf", "cdktf-cdktf-provider-aws", "constructs", "jsii", "moto", "aws-lambda-powertools", "PyMySQL")


def run_benches(names: list[str]) -> dict[str, int]:
    """Run each existing benchmark, streaming its output; returns the exit code per benchmark."""
    codes: dict[str, int] = {}
    for name in names:
        if not (ROOT / "bench" / f"{name}_bench.py").is_file():
            continue
        print(f"\n=== bench: {name} ===", flush=True)
        command = [sys.executable, "-m", f"bench.{name}_bench", "--json", str(OUT_DIR / f"{name}.json")]
        codes[name] = subprocess.run(command, cwd=ROOT).returncode
    return codes


# --- machine and versions ----------------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _command_version(argv: list[str], pattern: str = r"(\d+\.\d+[\w.\-]*)") -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    match = re.search(pattern, result.stdout + result.stderr)
    return match.group(1) if match else "unknown"


def machine() -> dict[str, str]:
    cpu = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    os_name = re.search(r'^PRETTY_NAME="?([^"\n]+)', _read("/etc/os-release"), re.M)
    return {
        "CPU": cpu.group(1).strip() if cpu else platform.processor() or "unknown",
        "cores": str(os.cpu_count()),
        "memory": f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "unknown",
        "OS": f"{os_name.group(1) if os_name else platform.system()} (kernel {platform.release()})",
        "load average when reported": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def versions() -> dict[str, str]:
    found = {
        "Python": platform.python_version(),
        "Terraform": _terraform_version(),
        "hashicorp/aws provider (mirror)": _provider_versions(),
        "Node.js": _command_version(["node", "--version"]),
        "MariaDB": _command_version(["mariadbd", "--version"], r"Ver (\S+)"),
    }
    for package in PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _terraform_version() -> str:
    """The Terraform the tooling runs (tools.tf: TERRAFORM or the one on PATH)."""
    from tools import tf

    try:
        output = tf.run(["version"], ROOT).stdout
    except tf.TerraformSetupError:
        return "not found"
    match = re.search(r"(\d+\.\d+[\w.\-]*)", output)
    return match.group(1) if match else "unknown"


def _provider_versions() -> str:
    from tools.tf import find_mirror

    mirror = find_mirror()
    if mirror is None:
        return "registry (no local mirror)"
    folder = mirror / "registry.terraform.io" / "hashicorp" / "aws"
    return ", ".join(sorted(p.name for p in folder.iterdir() if p.is_dir())) if folder.is_dir() else "none"


# --- rendering ---------------------------------------------------------------------------------------------------


def markdown_table(columns: list[str], rows: list[list[Any]]) -> str:
    cell = lambda value: str(value).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and all(not isinstance(v, (Mapping, list)) for v in value):
        yield prefix, ", ".join(str(v) for v in value)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def section(name: str, report: dict[str, Any]) -> str:
    renderer = None
    try:
        renderer = getattr(importlib.import_module(f"bench.{name}_bench"), "markdown", None)
    except Exception:
        renderer = None
    if renderer is not None:
        body = renderer(report)
    elif report.get("tables"):
        body = "\n\n".join(f"**{t['title']}**\n\n{markdown_table(t['columns'], t['rows'])}" for t in report["tables"])
    else:
        body = markdown_table(["figure", "value"], [list(pair) for pair in _flatten(report)])
    notes = "".join(f"\n- {note}" for note in report.get("notes", []) if renderer is None)
    return f"## {TITLES.get(name, name)}\n\n{body}\n{notes}".rstrip() + "\n"


def render(names: list[str], reports: dict[str, dict[str, Any]], codes: Mapping[str, int]) -> str:
    when = datetime.now(UTC).isoformat(timespec="seconds")
    parts = [
        "# Benchmark results\n",
        f"Generated by `make bench` (`python -m bench.report --run`) on {when}. Figures from scripts, not "
        "assertions; the machine was shared with other work, so read ratios rather than absolute times.\n",
        "## Machine\n\n" + markdown_table(["", ""], [list(kv) for kv in machine().items()]) + "\n",
        "## Versions\n\n" + markdown_table(["tool", "version"], [list(kv) for kv in versions().items()]) + "\n",
    ]
    for name, report in reports.items():
        parts.append(section(name, report))
    failed = [f"`{name}` exited {code} (see its output above the report)" for name, code in codes.items() if code]
    missing = [name for name in names if name not in reports and codes.get(name, 0) == 0]
    if failed or missing:
        parts.append("## Not in this report\n")
        parts += [f"- {text}" for text in failed] + [f"- `{name}`: no `bench/out/{name}.json`" for name in missing]
        parts.append("")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run the benchmarks first (otherwise only collect)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.md")
    args = parser.parse_args(argv)
    names = [n for n in (args.only.split(",") if args.only else BENCHES) if n]
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    codes = run_benches(names) if args.run else {}
    reports = {}
    for name in names:
        path = OUT_DIR / f"{name}.json"
        if path.is_file():
            reports[name] = json.loads(path.read_text())
    args.output.write_text(render(names, reports, codes))
    print(f"\nreport: {args.output} ({', '.join(reports) or 'no figures found'})")
    return 1 if any(codes.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
