"""Prove the exit from CDKTF: ``cdktf synth --hcl`` for every workspace, then ``terraform init`` + ``validate``.

Steps, with progress on stdout; exits non-zero when any step fails:

1. The pinned CLI (``tools/cdktf-cli``, cdktf-cli 0.21.0, the final release) is installed with ``npm ci`` when
   ``node_modules`` is missing or was installed from another lock file (``tools.cdktf_cli.ensure_cli``).
2. A JSON synthesis of the same workspaces (one process) is the reference the HCL is checked against.
3. ``cdktf synth --hcl`` per workspace (``TF_WORKSPACE=<ws>``) into ``<outdir>/<ws>``. The app command is
   ``tools.synth`` writing to the CLI's ``$CDKTF_OUTDIR``, so the output lands where the CLI looks for it.
4. Two defects of cdktf 0.21's HCL renderer, archived upstream and never to be fixed, are repaired from the
   JSON reference, each reported (docs/leaving-cdktf.md):
   - the ``terraform`` block's plain attributes come out as ``0 = "required_version"`` (name, no value);
   - stack-level overrides outside ``terraform`` are left out, here the account stack's ``import`` block (which
     adopts an existing role), and a resource's ``lifecycle`` ``precondition`` list is written as an attribute,
     here the workspace guard's ``terraform_data``.
5. ``terraform init -backend=false`` + ``validate`` on every HCL stack, in its own workspace, and every
   resource, data source, module, output and provider of the JSON reference must be in the HCL.

A third defect cannot be repaired after the fact, so it is reported with the attribute to change: a string that
holds both a reference (``${...}``) and a literal double quote, typically ``json.dumps`` of a policy that names a
resource, is written unescaped and comes out as garbage. Build such documents with ``Fn.jsonencode`` or
``DataAwsIamPolicyDocument`` instead.

Usage: ``python -m tools.hcl_export [--outdir .cache/hcl-out] [--target aws|local] [WORKSPACE ...]`` — no workspace
means all of them; the default target ``aws`` exports what a real deployment runs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_stacks import exit_on_user_error, fast_imports
from python_stacks.project import CACHE_DIR, ROOT
from python_stacks.workspace import WORKSPACES as _SETTINGS
from tools import tf
from tools.cdktf_cli import CliInstallError, ensure_cli
from tools.package import zip_for
from tools.synth import shape_env
from tools.tf import tooling_env

DEFAULT_OUTDIR = CACHE_DIR / "hcl-out"
WORKSPACES = tuple(_SETTINGS)
# Top-level block kinds whose every label must survive the conversion.
COVERED = ("resource", "data", "module", "output", "provider")


class ExportError(RuntimeError):
    pass


# --- synthesis (the pinned CLI comes from tools/cdktf_cli.py, its one installer) -----------------------------------


def synth_env(target: str, lambda_zip: Path) -> dict[str, str]:
    dropped = ("TRADING_STOCK_IMPORTS", "TF_WORKSPACE")
    env = {k: v for k, v in fast_imports.child_environment().items() if k not in dropped}
    env["TRADING_LAMBDA_ZIP"] = str(lambda_zip)  # built for the target (tools/package.py zip_for)
    return shape_env(env, target)


def cli_env(workspace: str, target: str, lambda_zip: Path) -> dict[str, str]:
    env = synth_env(target, lambda_zip)
    env.update(tooling_env())  # the provider mirror, no telemetry or version checks
    env.update(
        {
            "TF_WORKSPACE": workspace,
            "CI": "1",  # plain progress lines instead of a spinner
            "FORCE_COLOR": "0",
        }
    )
    return env


def synth_hcl(cli: Path, workspace: str, outdir: Path, target: str, lambda_zip: Path) -> None:
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    app = f'"{sys.executable}" -m tools.synth --outdir "$CDKTF_OUTDIR" {workspace}'
    result = subprocess.run(
        [str(cli), "synth", "--hcl", "--output", str(outdir), "--app", app],
        cwd=ROOT,
        env=cli_env(workspace, target, lambda_zip),
        text=True,
        capture_output=True,
    )
    if result.returncode != 0 or not (outdir / "manifest.json").is_file():
        raise ExportError(f"cdktf synth --hcl failed for {workspace}:\n{result.stdout}{result.stderr}")


def synth_json(workspaces: Sequence[str], outdir: Path, target: str, lambda_zip: Path) -> None:
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.parent.mkdir(parents=True, exist_ok=True)  # cdktf's App creates only the last folder
    result = subprocess.run(
        [sys.executable, "-m", "tools.synth", "--outdir", str(outdir), *workspaces],
        cwd=ROOT,
        env=synth_env(target, lambda_zip),
        text=True,
        capture_output=True,
    )
    if result.returncode != 0:
        raise ExportError(f"JSON synthesis failed:\n{result.stdout}{result.stderr}")


# --- repairs of the rendered HCL -------------------------------------------------------------------------------------


def hcl_string(value: str) -> str:
    """A JSON string of the synthesized configuration as HCL: a lone ``${expr}`` becomes the bare expression."""
    if value.startswith("${") and value.endswith("}") and _interpolation_end(value, 0) == len(value):
        return value[2:-1]
    out, index = [], 0
    while index < len(value):
        if value.startswith("${", index) or value.startswith("%{", index):
            end = _interpolation_end(value, index)
            out.append(value[index:end])
            index = end
            continue
        char = value[index]
        out.append({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, char))
        index += 1
    return '"' + "".join(out) + '"'


def _interpolation_end(text: str, start: int) -> int:
    """Index just past the ``}`` closing the interpolation that opens at ``start`` (quotes inside are skipped)."""
    depth, index, quote = 0, start + 1, False
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == '"':
                quote = False
        elif char == '"':
            quote = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return len(text)


def hcl_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return hcl_string(value)
    raise ExportError(f"cannot render {value!r} as a plain HCL attribute")


def _block_span(lines: list[str], header: re.Pattern[str]) -> tuple[int, int] | None:
    """(first line, closing line) of a top-level block; cdktf closes top-level blocks with ``}`` in column 0."""
    for start, line in enumerate(lines):
        if header.match(line):
            for end in range(start + 1, len(lines)):
                if lines[end] == "}":
                    return start, end
    return None


def repair_terraform_block(lines: list[str], reference: Mapping[str, Any]) -> list[str]:
    """``0 = "required_version"`` -> ``required_version = ">= 1.5"`` (value from the JSON synthesis)."""
    span = _block_span(lines, re.compile(r"^terraform \{$"))
    if span is None:
        return []
    fixed = []
    for index in range(span[0] + 1, span[1]):
        match = re.match(r'^(\s*)\d+ = "([A-Za-z_][\w-]*)"$', lines[index])
        if match:
            name = match.group(2)
            if name not in reference:
                raise ExportError(f"terraform block names {name!r}, which the JSON synthesis does not have")
            lines[index] = f"{match.group(1)}{name} = {hcl_value(reference[name])}"
            fixed.append(f"terraform.{name}")
    return fixed


def repair_output_preconditions(lines: list[str], outputs: Mapping[str, Any]) -> list[str]:
    """Put back the ``precondition`` blocks of outputs that the HCL lacks (or renders as an attribute)."""
    fixed = []
    for name, output in outputs.items():
        preconditions = output.get("precondition") or []
        span = _block_span(lines, re.compile(rf'^output "{re.escape(name)}" \{{$'))
        if not preconditions or span is None:
            continue
        body = lines[span[0] + 1 : span[1]]
        if any(line.strip() == "precondition {" for line in body):
            continue
        # An element-level override renders as `precondition = [ {...}, ]`: an attribute Terraform rejects.
        start = next((i for i, line in enumerate(body) if line.startswith("  precondition = [")), None)
        if start is not None:
            end = next(i for i in range(start, len(body)) if body[i] == "  ]")
            del body[start : end + 1]
        for condition in preconditions:
            body.append("  precondition {")
            body += [f"    {key} = {hcl_value(value)}" for key, value in condition.items()]
            body.append("  }")
        lines[span[0] + 1 : span[1]] = body
        fixed.append(f"output.{name}.precondition")
    return fixed


def repair_resource_preconditions(lines: list[str], resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``lifecycle { precondition = [ {...}, ] }`` -> ``precondition`` blocks (the workspace guard's
    ``terraform_data``): the renderer writes the list as an attribute, which Terraform rejects."""
    fixed = []
    for kind, named in resources.items():
        for name, body in named.items():
            preconditions = (body.get("lifecycle") or {}).get("precondition") or []
            span = _block_span(lines, re.compile(rf'^resource "{re.escape(kind)}" "{re.escape(name)}" \{{$'))
            if not preconditions or span is None:
                continue
            block = lines[span[0] + 1 : span[1]]
            start = next((i for i, line in enumerate(block) if line == "    precondition = ["), None)
            if start is None:
                continue
            end = next(i for i in range(start, len(block)) if block[i] == "    ]")
            replacement = []
            for condition in preconditions:
                replacement.append("    precondition {")
                replacement += [f"      {key} = {hcl_value(value)}" for key, value in condition.items()]
                replacement.append("    }")
            block[start : end + 1] = replacement
            lines[span[0] + 1 : span[1]] = block
            fixed.append(f"{kind}.{name}.lifecycle.precondition")
    return fixed


def repair_imports(lines: list[str], imports: Sequence[Mapping[str, Any]]) -> list[str]:
    """Append the ``import`` blocks of the JSON synthesis when the HCL has none (``to`` is an address, not a string)."""
    if not imports or any(line == "import {" for line in lines):
        return []
    for block in imports:
        lines.append("import {")
        lines += [f"  {key} = {value if key == 'to' else hcl_value(value)}" for key, value in block.items()]
        lines.append("}")
    return [f"import[{len(imports)}]"]


def repair(cdk_tf: Path, reference: Mapping[str, Any]) -> list[str]:
    lines = cdk_tf.read_text().split("\n")
    fixed = repair_terraform_block(lines, reference.get("terraform", {}))
    fixed += repair_output_preconditions(lines, reference.get("output", {}))
    fixed += repair_resource_preconditions(lines, reference.get("resource", {}))
    fixed += repair_imports(lines, reference.get("import", []))
    if fixed:
        cdk_tf.write_text("\n".join(lines))
    return fixed


# --- checks -----------------------------------------------------------------------------------------------------------


def addresses_json(config: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for kind in COVERED:
        for name, body in config.get(kind, {}).items():
            if kind in ("resource", "data"):
                found.update(f"{kind}.{name}.{label}" for label in body)
            else:
                found.add(f"{kind}.{name}")
    found.update(f"import.{block['to']}" for block in config.get("import", []))
    return found


def addresses_hcl(text: str) -> set[str]:
    import hcl2

    from tools.module_docs import strip_interpolation

    def unquote(label: str) -> str:
        return label.strip('"')

    parsed = hcl2.loads(text)
    found: set[str] = set()
    for kind in COVERED:
        for block in parsed.get(kind, []):
            for name, body in block.items():
                if kind in ("resource", "data"):
                    found.update(
                        f"{kind}.{unquote(name)}.{unquote(label)}" for label in body if label != "__is_block__"
                    )
                else:
                    found.add(f"{kind}.{unquote(name)}")
    found.update(f"import.{strip_interpolation(block['to'])}" for block in parsed.get("import", []))
    return found


@dataclass
class StackResult:
    stack: str
    workspace: str
    repairs: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def check_stack(stack_dir: Path, workspace: str, reference: Mapping[str, Any]) -> StackResult:
    result = StackResult(stack_dir.name, workspace)
    started = time.monotonic()
    cdk_tf = stack_dir / "cdk.tf"
    if not cdk_tf.is_file():
        result.error = f"no cdk.tf in {stack_dir}"
        return result
    result.repairs = repair(cdk_tf, reference)
    unrenderable = unrenderable_strings(reference)
    if unrenderable:
        result.error = (
            "cdktf's HCL renderer garbles strings that hold both a reference and a double quote; build these "
            "with Fn.jsonencode or DataAwsIamPolicyDocument instead of json.dumps:\n  " + "\n  ".join(unrenderable)
        )
        return result
    steps = (
        ["fmt", "-no-color", "cdk.tf"],
        ["init", "-backend=false", "-input=false", "-no-color"],
        ["validate", "-no-color"],
    )
    for args in steps:  # fmt aligns the repaired lines like the rest of the file
        run = tf.run(args, stack_dir, workspace=workspace)  # validate evaluates the workspace guard
        if run.returncode != 0:
            result.error = f"terraform {args[0]} failed:\n{run.stdout}{run.stderr}"
            return result
    try:
        missing = sorted(addresses_json(reference) - addresses_hcl(cdk_tf.read_text()))
    except Exception as exc:
        result.error = f"cdk.tf validates but python-hcl2 cannot parse it, so its coverage is unchecked: {exc}"
        return result
    if missing:
        result.error = f"missing from the HCL: {', '.join(missing)}"
        return result
    result.seconds = time.monotonic() - started
    return result


def unrenderable_strings(config: Any, path: str = "") -> list[str]:
    """Paths of strings cdktf 0.21 writes unescaped: a ``${`` makes its renderer skip quote escaping."""
    if isinstance(config, Mapping):
        return [
            p for key, value in config.items() if key != "//" for p in unrenderable_strings(value, _join(path, key))
        ]
    if isinstance(config, list):
        return [p for i, value in enumerate(config) for p in unrenderable_strings(value, f"{path}[{i}]")]
    if isinstance(config, str) and "${" in config and '"' in _outside_interpolations(config):
        return [path]
    return []


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _outside_interpolations(text: str) -> str:
    out, index = [], 0
    while index < len(text):
        if text.startswith("${", index) or text.startswith("%{", index):
            index = _interpolation_end(text, index)
            continue
        out.append(text[index])
        index += 1
    return "".join(out)


def export(workspaces: Sequence[str], outdir: Path, target: str = "aws") -> list[StackResult]:
    started = time.monotonic()
    cli = ensure_cli("hcl-export")
    outdir.mkdir(parents=True, exist_ok=True)
    lambda_zip = zip_for(target, outdir / f"lambda-{target}.zip")
    print(f"hcl-export: JSON reference for {', '.join(workspaces)} (TARGET={target})", flush=True)
    synth_json(workspaces, outdir / "json", target, lambda_zip)
    targets: list[tuple[Path, str, dict[str, Any]]] = []
    for workspace in workspaces:
        step = time.monotonic()
        synth_hcl(cli, workspace, outdir / workspace, target, lambda_zip)
        stacks = sorted(p for p in (outdir / workspace / "stacks").iterdir() if p.is_dir())
        print(
            f"hcl-export: {workspace}: cdktf synth --hcl -> {', '.join(p.name for p in stacks)} "
            f"({time.monotonic() - step:.1f}s)",
            flush=True,
        )
        for stack in stacks:
            reference = outdir / "json" / "stacks" / stack.name / "cdk.tf.json"
            if not reference.is_file():
                raise ExportError(f"{stack.name} is in the HCL output but not in the JSON synthesis")
            targets.append((stack, workspace, json.loads(reference.read_text())))
    results = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for result in pool.map(lambda t: check_stack(*t), targets):
            results.append(result)
            repairs = f"; repaired {', '.join(result.repairs)}" if result.repairs else ""
            if result.error:
                print(f"hcl-export: {result.stack}: FAILED{repairs}\n{result.error}", file=sys.stderr, flush=True)
            else:
                print(f"hcl-export: {result.stack}: init + validate ok ({result.seconds:.1f}s){repairs}", flush=True)
    failed = sum(1 for r in results if r.error)
    print(
        f"hcl-export: {len(results) - failed}/{len(results)} stacks valid as plain HCL in {outdir} "
        f"({time.monotonic() - started:.0f}s)",
        flush=True,
    )
    return results


def stack_files(outdir: Path, workspaces: Iterable[str] = WORKSPACES) -> dict[str, Path]:
    """The cdk.tf of every stack an export wrote, keyed ``<workspace>/<stack>`` (for tests and docs)."""
    return {f"{ws}/{p.parent.name}": p for ws in workspaces for p in sorted((outdir / ws / "stacks").glob("*/cdk.tf"))}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspaces", nargs="*", help=f"default: all ({', '.join(WORKSPACES)})")
    parser.add_argument("--outdir", type=Path, default=DEFAULT_OUTDIR)
    parser.add_argument(
        "--target",
        choices=["aws", "local"],
        default="aws",
        help="what to export (default aws: the configuration a real deployment runs)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.workspaces) - set(WORKSPACES))
    if unknown:
        print(f"error: unknown workspace(s) {', '.join(unknown)}: valid are {', '.join(WORKSPACES)}", file=sys.stderr)
        return 2

    def run() -> int:
        try:
            results = export(args.workspaces or list(WORKSPACES), args.outdir.resolve(), args.target)
        except (ExportError, CliInstallError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 1 if any(r.error for r in results) or not results else 0

    return exit_on_user_error(run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
