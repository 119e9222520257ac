"""Static check against hashicorp/aws 6.x, whose provider binary is not on this machine (only 5.100.0 is).

1. A separate environment, ``.venv-aws6``, holds the bindings generated from aws 6.25.0
   (``cdktf-cdktf-provider-aws==21.22.1``, requirements-aws6.txt); it is rebuilt when that file changes.
2. Every workspace is synthesized there, for both targets. An argument that 6.x removed or renamed fails here:
   the 6.x constructors no longer accept it (keyword arguments only; keys of plain dicts passed for nested blocks
   are not checked by the bindings, which is what step 4 is for). The output is compared with the 5.x synthesis.
3. The two bindings are compared for every resource and data source type the project uses (HCL modules and
   synthesized JSON): arguments and attributes the 5.x bindings have and the 6.x bindings lack were removed.
4. ``tf_modules/**/*.tf`` and the synthesized JSON are scanned for those names and for the documented list
   below (``REMOVED``: removed in 6.0, or deprecated in 5.x/6.x and on their way out).

What this does not do: plan or apply with a 6.x provider (see docs/provider-6.md).

Usage: ``python -m tools.provider6_check [--skip-install]``; exits 1 on any finding or synthesis error.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_stacks import fast_imports
from python_stacks.project import CACHE_DIR, ROOT
from tools import sidevenv
from tools.package import zip_for
from tools.synth import shape_env

VENV = ROOT / ".venv-aws6"
REQUIREMENTS = ROOT / "requirements-aws6.txt"
MODULES_DIR = ROOT / "tf_modules"
TARGETS = ("aws", "local")


@dataclass(frozen=True)
class Removal:
    kind: str  # resource, data or provider
    type: str
    name: str  # argument or attribute (dotted for nested provider blocks)
    status: str
    instead: str


_DEPLOYMENT = "aws_api_gateway_deployment"
_S3_INLINE = (
    "acl",
    "versioning",
    "lifecycle_rule",
    "logging",
    "server_side_encryption_configuration",
    "website",
    "cors_rule",
    "replication_configuration",
    "object_lock_configuration",
    "acceleration_status",
    "request_payer",
    "policy",
    "grant",
)

# Sources: the 6.0.0 CHANGELOG and upgrade guide of hashicorp/terraform-provider-aws; the removals are confirmed
# by step 3 (present in the 20.1.0 bindings, absent from 21.22.1). Only types the project declares (tf_modules/ and
# the synthesized stacks) are listed, plus the provider's endpoints and data.aws_region, which the scanner's own
# test (tests/e2e/test_provider6.py) plants; a type added later is still covered by step 3's bindings comparison.
REMOVED: tuple[Removal, ...] = (
    Removal("resource", "aws_eip", "vpc", "removed in 6.0", 'domain = "vpc"'),
    Removal("resource", "aws_flow_log", "log_group_name", "removed in 6.0", "log_destination (the log group ARN)"),
    Removal("resource", _DEPLOYMENT, "stage_name", "removed in 6.0", "an aws_api_gateway_stage resource"),
    Removal("resource", _DEPLOYMENT, "stage_description", "removed in 6.0", "an aws_api_gateway_stage resource"),
    Removal("resource", _DEPLOYMENT, "canary_settings", "removed in 6.0", "aws_api_gateway_stage.canary_settings"),
    Removal("resource", _DEPLOYMENT, "invoke_url", "removed in 6.0", "aws_api_gateway_stage.invoke_url"),
    Removal("resource", _DEPLOYMENT, "execution_arn", "removed in 6.0", "aws_api_gateway_stage.execution_arn"),
    Removal("data", "aws_region", "name", "deprecated in 6.0", "id (the region name in 5.x and 6.x alike)"),
    *(
        Removal("provider", "aws", f"endpoints.{service}", "removed in 6.0", "nothing (service retired)")
        for service in ("opsworks", "simpledb", "sdb", "worklink")
    ),
    *(
        Removal("resource", "aws_s3_bucket", name, "deprecated since 4.0", f"the aws_s3_bucket_* resource for {name}")
        for name in _S3_INLINE
    ),
)

# Arguments that belong to Terraform or cdktf, not to the provider schema.
META = {
    "count",
    "for_each",
    "depends_on",
    "lifecycle",
    "provider",
    "provisioner",
    "connection",
    "dynamic",
    "__is_block__",
    "//",
}
REFERENCE = re.compile(r"\b(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.([a-z_][a-z0-9_]*)")


@dataclass(frozen=True)
class Use:
    """One argument set, or one attribute read, of a provider type somewhere in the code."""

    kind: str
    type: str
    name: str
    where: str


# --- the 6.x environment --------------------------------------------------------------------------------------------


def target_env(target: str) -> dict[str, str]:
    dropped = ("TF_WORKSPACE", "TRADING_STOCK_IMPORTS")
    env = {k: v for k, v in fast_imports.child_environment().items() if k not in dropped}
    return shape_env(env, target)


def synth(python: Path, outdir: Path, target: str, lambda_zip: Path) -> str | None:
    """Synthesize every workspace with ``python``'s bindings; the error output, or None."""
    env = {**target_env(target), "TRADING_LAMBDA_ZIP": str(lambda_zip)}
    outdir.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(python), "-m", "tools.synth", "--outdir", str(outdir)], cwd=ROOT, env=env, text=True, capture_output=True
    )
    return None if result.returncode == 0 else (result.stdout + result.stderr).strip()


def differing_files(left: Path, right: Path) -> list[str]:
    def files(root: Path) -> dict[str, Path]:
        return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}

    a, b = files(left), files(right)
    return sorted(n for n in a.keys() | b.keys() if n not in a or n not in b or a[n].read_bytes() != b[n].read_bytes())


# --- what the code uses ------------------------------------------------------------------------------------------


def module_files() -> list[Path]:
    return sorted(p for p in MODULES_DIR.rglob("*.tf") if ".terraform" not in p.parts)


def uses_in_hcl(path: Path) -> Iterator[Use]:
    import hcl2

    where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    text = path.read_text()
    parsed = hcl2.loads(text)
    for kind in ("resource", "data"):
        for block in parsed.get(kind, []):
            for type_, named in block.items():
                for body in named.values():
                    for name in body if isinstance(body, dict) else {}:
                        if name not in META:
                            yield Use(kind, type_.strip('"'), name, where)
    for block in parsed.get("provider", []):
        for type_, body in block.items():
            yield from _provider_uses(type_.strip('"'), body, where)
    yield from uses_in_references(text, where)


def uses_in_references(text: str, where: str) -> Iterator[Use]:
    for match in REFERENCE.finditer(text):
        data, type_, _, attribute = match.groups()
        yield Use("data" if data else "resource", type_, attribute, where)


def uses_in_json(config: Mapping[str, Any], where: str) -> Iterator[Use]:
    for kind in ("resource", "data"):
        for type_, named in config.get(kind, {}).items():
            for body in named.values():
                for name in body:
                    if name not in META:
                        yield Use(kind, type_, name, where)
    for type_, bodies in config.get("provider", {}).items():
        for body in bodies:
            yield from _provider_uses(type_, body, where)
    yield from uses_in_references(json.dumps(config), where)


def _provider_uses(type_: str, body: Mapping[str, Any], where: str) -> Iterator[Use]:
    for name, value in body.items():
        if name in META:
            continue
        yield Use("provider", type_, name, where)
        for nested in value if isinstance(value, list) else [value]:
            if isinstance(nested, dict):
                yield from (Use("provider", type_, f"{name}.{key}", where) for key in nested if key not in META)


# --- the two bindings compared ----------------------------------------------------------------------------------

# Runs in each environment: the arguments and attributes its bindings know for the given types.
SCHEMA_SCRIPT = r"""
import importlib, inspect, json, sys
from python_stacks import fast_imports
fast_imports.prepare()
META = {"connection", "count", "depends_on", "for_each", "lifecycle", "provider", "provisioners", "scope", "id_"}
out = {}
for key in sys.argv[1:]:
    kind, type_ = key.split(":", 1)
    module = ("data_" + type_) if kind == "data" else type_[len("aws_"):]
    try:
        cls = getattr(importlib.import_module("cdktf_cdktf_provider_aws." + module),
                      "".join(p[:1].upper() + p[1:] for p in module.split("_")))
    except (ModuleNotFoundError, AttributeError):
        out[key] = None
        continue
    arguments = [p for p in inspect.signature(cls.__init__).parameters if p not in META | {"self", "id"}]
    attributes = [n for n, v in vars(cls).items() if isinstance(v, property) and not n.endswith("_input")]
    out[key] = sorted(set(arguments) | set(attributes))
print("SCHEMA " + json.dumps(out))
"""


def known_names(python: Path, types: Iterable[tuple[str, str]]) -> dict[str, set[str] | None]:
    keys = sorted(f"{kind}:{type_}" for kind, type_ in types)
    env = {k: v for k, v in fast_imports.child_environment().items() if k != "TRADING_STOCK_IMPORTS"}
    result = subprocess.run(
        [str(python), "-c", SCHEMA_SCRIPT, *keys], cwd=ROOT, env=env, text=True, capture_output=True
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("SCHEMA ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"reading the bindings of {python} failed:\n{result.stdout}{result.stderr}")
    return {k: (None if v is None else set(v)) for k, v in json.loads(lines[-1][len("SCHEMA ") :]).items()}


def removed_between(old: Mapping[str, set[str] | None], new: Mapping[str, set[str] | None]) -> dict[str, set[str]]:
    """Per ``kind:type``: names the old bindings have and the new lack (``{"*"}`` for a type that is gone)."""
    removed: dict[str, set[str]] = {}
    for key, names in old.items():
        if names is None:
            continue
        if new.get(key) is None:
            removed[key] = {"*"}
        elif names - new[key]:  # type: ignore[operator]
            removed[key] = names - new[key]  # type: ignore[operator]
    return removed


# --- findings ----------------------------------------------------------------------------------------------------


def findings(uses: Iterable[Use], removed_by_bindings: Mapping[str, set[str]] | None = None) -> list[str]:
    listed = {(r.kind, r.type, r.name): r for r in REMOVED}
    found = set()
    for use in uses:
        entry = listed.get((use.kind, use.type, use.name))
        if entry:
            found.add(f"{use.where}: {use.kind} {use.type}.{use.name} ({entry.status}; use {entry.instead})")
        gone = (removed_by_bindings or {}).get(f"{use.kind}:{use.type}", set())
        if "*" in gone:
            found.add(f"{use.where}: {use.kind} {use.type} does not exist in the 6.x bindings")
        elif use.name in gone and not entry:
            found.add(f"{use.where}: {use.kind} {use.type}.{use.name} is not in the 6.x bindings (removed or renamed)")
    return sorted(found)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-install", action="store_true", help=f"use {VENV.name} as it is")
    parser.add_argument("--outdir", type=Path, default=CACHE_DIR / "provider6")
    args = parser.parse_args(argv)
    started = time.monotonic()
    aws6 = sidevenv.venv_python(VENV) if args.skip_install else sidevenv.ensure(VENV, REQUIREMENTS, label="provider6")
    if not aws6.exists():
        print(f"error: {aws6} not found: run without --skip-install", file=sys.stderr)
        return 2
    failed = False
    uses: list[Use] = [use for path in module_files() for use in uses_in_hcl(path)]
    for target in TARGETS:
        out6, out5 = args.outdir / f"aws6-{target}", args.outdir / f"aws5-{target}"
        # Built by this interpreter: the 6.x environment has no boto3, which the build needs.
        lambda_zip = zip_for(target, args.outdir / f"lambda-{target}.zip", target_env(target))
        error = synth(aws6, out6, target, lambda_zip)
        if error:
            failed = True
            print(f"provider6: synth with the 6.x bindings (TARGET={target}): FAILED\n{error}", flush=True)
            continue
        stacks = sorted(out6.glob("stacks/*/cdk.tf.json"))
        uses += [u for p in stacks for u in uses_in_json(json.loads(p.read_text()), f"{p.parent.name} ({target})")]
        comparison = ""
        if synth(Path(sys.executable), out5, target, lambda_zip) is None:
            diff = differing_files(out5, out6)
            comparison = "; byte-identical to the 5.x synthesis" if not diff else f"; differs from 5.x in {diff}"
        print(
            f"provider6: synth with the 6.x bindings (TARGET={target}): {len(stacks)} stacks ok{comparison}", flush=True
        )
    types = sorted({(u.kind, u.type) for u in uses if u.kind in ("resource", "data") and u.type.startswith("aws_")})
    removed = removed_between(known_names(Path(sys.executable), types), known_names(aws6, types))
    lacking = "; ".join(f"{key.split(':', 1)[1]}: {', '.join(sorted(names))}" for key, names in sorted(removed.items()))
    print(
        f"provider6: {len(types)} resource/data types in use; the 6.x bindings lack, of their 5.x "
        f"arguments/attributes: {lacking or 'none'}",
        flush=True,
    )
    problems = findings(uses, removed)
    for problem in problems:
        print(f"provider6: {problem}", flush=True)
    print(
        f"provider6: scanned {len(module_files())} module files and the synthesized JSON: "
        f"{len(problems)} finding(s) ({time.monotonic() - started:.0f}s)",
        flush=True,
    )
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
