"""Architecture diagram of one workspace, generated from the synthesized configuration (never drawn by hand).

Reads the synthesized stacks of a workspace (``cdk.tf.json``) and the module sources they ship
(``assets/<module>/<hash>/*.tf``), and renders a Graphviz diagram:

- one box per resource type in a scope (the stack, or a module), named after the constructs or blocks in it;
  a ``count``/``for_each`` block is marked ``[each]``;
- settings resources fold into the resource they configure when their type extends its type and they reference
  it (``aws_s3_bucket_versioning`` into ``aws_s3_bucket``, ``aws_rds_cluster_instance`` into ``aws_rds_cluster``);
- data sources that only compute values (``NOISE_DATA``) are left out, and references pass through them;
- boxes are grouped by concern (``CONCERNS``: network, data, compute, API, security, observability), and an
  arrow means "refers to"; a lookup of a resource another stack owns is drawn dashed.

Nothing here knows the stack's resource list: new types, modules and constructs show up by themselves.

Usage: ``python -m tools.diagram [--workspace prod] [--synth-dir DIR] [--output docs/architecture.png]``.
Without ``--synth-dir`` it synthesizes the workspace for the AWS target first. The Graphviz source is written next
to the image (``.dot``), and tests/unit/test_diagram.py checks it is current; rendering needs ``dot``
(Debian package ``graphviz``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_stacks.project import CACHE_DIR, ROOT
from tools.package import zip_for
from tools.synth import shape_env

DEFAULT_OUTPUT = ROOT / "docs" / "architecture.png"
DEFAULT_WORKSPACE = "prod"

# First match wins (a prefix matches whole words: aws_route matches aws_route_table, not aws_route53_zone);
# anything else lands in "other".
CONCERNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "network",
        "#e8f1fb",
        (
            "aws_vpc",
            "aws_subnet",
            "aws_internet_gateway",
            "aws_nat_gateway",
            "aws_eip",
            "aws_route_table",
            "aws_route",
            "aws_default_security_group",
            "aws_security_group",
            "aws_network",
            "aws_flow_log",
            "aws_default_network_acl",
            "aws_default_route_table",
        ),
    ),
    ("API and DNS", "#fdf1e3", ("aws_api_gateway", "aws_apigatewayv2", "aws_route53", "aws_acm", "aws_wafv2")),
    ("compute", "#fbe9ee", ("aws_lambda", "aws_s3_object")),
    ("data", "#eaf6ec", ("aws_rds", "aws_db", "aws_s3", "aws_dynamodb", "aws_elasticache")),
    ("security", "#f1ecf9", ("aws_kms", "aws_iam", "aws_secretsmanager")),
    ("observability", "#f3f3f3", ("aws_cloudwatch", "aws_sns", "aws_xray")),
)
OTHER = ("other", "#ffffff")
# Data sources that compute values rather than find infrastructure.
NOISE_DATA = {
    "aws_caller_identity",
    "aws_partition",
    "aws_region",
    "aws_iam_policy_document",
    "aws_availability_zones",
    "aws_default_tags",
}
META = {"//", "count", "for_each", "depends_on", "lifecycle", "provider", "__is_block__"}
REF = re.compile(r"\b(data\.|module\.|var\.)?([a-z][a-z0-9_]*)(?:\.([A-Za-z0-9_-]+))?")


def concern(resource_type: str) -> tuple[str, str]:
    for name, color, prefixes in CONCERNS:
        if any(resource_type == p or resource_type.startswith(p + "_") for p in prefixes):
            return name, color
    return OTHER


@dataclass
class Block:
    """One resource or data block: ``scope`` is the stack name or ``<stack>/module.<name>``."""

    scope: str
    kind: str
    type: str
    name: str
    label: str
    each: bool
    refs: set[str] = field(default_factory=set)  # addresses in the same scope, or module/var lookups

    @property
    def address(self) -> str:
        return f"{self.scope}:{'data.' if self.kind == 'data' else ''}{self.type}.{self.name}"


# --- reading the synthesized configuration -------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in ("//", "__is_block__"):
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def references(body: Mapping[str, Any]) -> set[str]:
    """``data.T.N``, ``T.N``, ``module.M.out`` and ``var.V`` referenced anywhere in a block body."""
    found = set()
    for text in _strings({k: v for k, v in body.items() if k not in META or k == "depends_on"}):
        for prefix, first, second in REF.findall(text):
            if prefix == "var.":
                found.add(f"var.{first}")
            elif not second:
                continue
            elif prefix in ("data.", "module."):
                found.add(f"{prefix}{first}.{second}")
            elif first.startswith("aws_") or first == "terraform_data":
                found.add(f"{first}.{second}")
    return found


def _label_from_metadata(stack: str, body: Mapping[str, Any], fallback: str) -> str:
    path = body.get("//", {}).get("metadata", {}).get("path", "")
    return path[len(stack) + 1 :] if path.startswith(stack + "/") else fallback


def stack_blocks(stack_dir: Path) -> tuple[list[Block], dict[str, tuple[Path, dict[str, Any]]]]:
    """The stack's own blocks, and its module calls (name -> (source dir, call arguments))."""
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    stack = stack_dir.name
    blocks = [
        Block(
            stack,
            kind,
            type_,
            name,
            _label_from_metadata(stack, body, name),
            "count" in body or "for_each" in body,
            references(body),
        )
        for kind in ("resource", "data")
        for type_, named in config.get(kind, {}).items()
        for name, body in named.items()
    ]
    modules = {name: ((stack_dir / call["source"]).resolve(), call) for name, call in config.get("module", {}).items()}
    return blocks, modules


def _hcl_blocks(source: Path) -> dict[str, list[dict[str, Any]]]:
    import hcl2

    merged: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(source.glob("*.tf")):
        for key, value in hcl2.loads(path.read_text()).items():
            merged[key].extend(value)
    return merged


def _unquote(label: str) -> str:
    return label.strip('"')


def module_blocks(
    scope: str, source: Path
) -> tuple[list[Block], dict[str, set[str]], list[tuple[str, Path, dict[str, Any]]]]:
    """A module's blocks, the references behind each of its outputs, and its own module calls."""
    parsed = _hcl_blocks(source)
    unquote = _unquote
    blocks = []
    for kind in ("resource", "data"):
        for entry in parsed.get(kind, []):
            for type_, named in entry.items():
                for name, body in named.items():
                    blocks.append(
                        Block(
                            scope,
                            kind,
                            unquote(type_),
                            unquote(name),
                            unquote(name),
                            "count" in body or "for_each" in body,
                            references(body),
                        )
                    )
    outputs = {unquote(name): references(body) for entry in parsed.get("output", []) for name, body in entry.items()}
    calls = [
        (unquote(name), (source / unquote(body["source"])).resolve(), body)
        for entry in parsed.get("module", [])
        for name, body in entry.items()
        if unquote(body.get("source", "")).startswith(".")
    ]
    return blocks, outputs, calls


@dataclass
class Model:
    blocks: dict[str, Block] = field(default_factory=dict)
    # Where a module output or input leads: "<scope>:module.M.out" / "<scope>/module.M:var.V" -> addresses.
    aliases: dict[str, set[str]] = field(default_factory=dict)
    external: set[tuple[str, str]] = field(default_factory=set)  # dashed cross-stack lookups

    def add(self, blocks: Iterable[Block]) -> None:
        for block in blocks:
            self.blocks[block.address] = block


def _add_module(model: Model, parent: str, name: str, source: Path, call: Mapping[str, Any]) -> None:
    scope = f"{parent}/module.{name}"
    blocks, outputs, calls = module_blocks(scope, source)
    model.add(blocks)
    for output, refs in outputs.items():
        model.aliases[f"{parent}:module.{name}.{output}"] = {f"{scope}:{r}" for r in refs}
    for variable, value in call.items():
        if variable not in META and variable != "source":
            model.aliases[f"{scope}:var.{variable}"] = {f"{parent}:{r}" for r in references({variable: value})}
    for child, child_source, child_call in calls:
        _add_module(model, scope, child, child_source, child_call)


def load(stack_dirs: Iterable[Path]) -> Model:
    model = Model()
    for stack_dir in sorted(stack_dirs):
        blocks, modules = stack_blocks(stack_dir)
        model.add(blocks)
        for name, (source, call) in sorted(modules.items()):
            _add_module(model, stack_dir.name, name, source, call)
    _link_lookups(model)
    return model


def _link_lookups(model: Model) -> None:
    """A data source that looks up a resource of the same type another stack creates (matched by type)."""
    owners = defaultdict(list)
    for block in model.blocks.values():
        if block.kind == "resource":
            owners[block.type].append(block)
    for block in model.blocks.values():
        if block.kind == "data" and block.type not in NOISE_DATA:
            for owner in owners.get(block.type, []):
                if owner.scope.split("/")[0] != block.scope.split("/")[0]:
                    model.external.add((block.address, owner.address))


# --- from blocks to a readable graph -----------------------------------------------------------------------------


def resolve(model: Model, scope: str, ref: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """Block addresses a reference in ``scope`` leads to, through module outputs, inputs and noise data."""
    key = f"{scope}:{ref}"
    if key in seen:
        return set()
    seen = seen | {key}
    if ref.startswith(("module.", "var.")):
        alias = key if ref.startswith("var.") else f"{scope}:{'.'.join(ref.split('.')[:3])}"
        found = set()
        for target in model.aliases.get(alias, set()):
            target_scope, target_ref = target.split(":", 1)
            found |= resolve(model, target_scope, target_ref, seen)
        return found
    block = model.blocks.get(key)
    if block is None:
        return set()
    if block.kind == "data" and block.type in NOISE_DATA:
        return {a for r in block.refs for a in resolve(model, block.scope, r, seen)}
    return {block.address}


def node_key(block: Block) -> str:
    return f"{block.scope}:{block.kind}:{block.type}"


@dataclass
class Node:
    key: str
    scope: str
    type: str
    kind: str
    names: set[str] = field(default_factory=set)
    folded: set[str] = field(default_factory=set)
    each: bool = False


def graph(model: Model) -> tuple[dict[str, Node], set[tuple[str, str, bool]]]:
    edges_by_block: dict[str, set[str]] = {
        address: {t for r in block.refs for t in resolve(model, block.scope, r)} - {address}
        for address, block in model.blocks.items()
        if not (block.kind == "data" and block.type in NOISE_DATA)
    }
    # Fold settings resources into the resource they configure.
    host: dict[str, str] = {}
    for address, targets in edges_by_block.items():
        block = model.blocks[address]
        parents = [
            model.blocks[t]
            for t in targets
            if model.blocks[t].scope == block.scope
            and block.type.startswith(model.blocks[t].type + "_")
            and model.blocks[t].kind == "resource"
        ]
        if block.kind == "resource" and parents:
            host[address] = max(parents, key=lambda p: len(p.type)).address
    nodes: dict[str, Node] = {}
    for address in edges_by_block:
        block = model.blocks[address]
        owner = model.blocks[host.get(address, address)]
        node = nodes.setdefault(node_key(owner), Node(node_key(owner), owner.scope, owner.type, owner.kind))
        if address in host:
            node.folded.add(block.type[len(owner.type) + 1 :].replace("_", " "))
        else:
            node.names.add(block.label)
            node.each = node.each or block.each
    edges: set[tuple[str, str, bool]] = set()
    for address, targets in edges_by_block.items():
        source = node_key(model.blocks[host.get(address, address)])
        for target in targets:
            if target not in edges_by_block:
                continue
            sink = node_key(model.blocks[host.get(target, target)])
            if sink != source:
                edges.add((source, sink, False))
    for lookup, owner_address in model.external:
        owner_block = model.blocks[host.get(owner_address, owner_address)]
        edges.add((node_key(model.blocks[lookup]), node_key(owner_block), True))
    return nodes, edges


# --- DOT -------------------------------------------------------------------------------------------------------------


def _title(resource_type: str) -> str:
    words = resource_type.removeprefix("aws_").split("_")
    upper = {"vpc", "eip", "nat", "iam", "kms", "s3", "rds", "db", "acm", "api", "sg", "dns"}
    special = {"cloudwatch": "CloudWatch", "route53": "Route 53", "apigatewayv2": "API Gateway v2"}
    return " ".join(special.get(w, w.upper() if w in upper else w.capitalize()) for w in words)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _node_label(node: Node) -> str:
    title = ("data: " if node.kind == "data" else "") + _title(node.type) + (" [each]" if node.each else "")
    names = sorted(node.names)
    lines = [title, ", ".join(names if len(names) <= 3 else [*names[:3], f"+{len(names) - 3}"])]
    if node.folded:
        lines.append("+ " + ", ".join(sorted(node.folded)))
    return "\\n".join(_wrap(line) for line in lines)


def _wrap(text: str, width: int = 34) -> str:
    out, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    out.append(line)
    return "\\n".join(_escape(part) for part in out)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _scope_label(scope: str) -> str:
    stack, _, rest = scope.partition("/")
    return f"{stack}: {rest.replace('/', ' / ')}" if rest else stack


def to_dot(nodes: Mapping[str, Node], edges: Iterable[tuple[str, str, bool]], title: str) -> str:
    ids = {key: f"n{index}" for index, key in enumerate(sorted(nodes))}
    by_concern: dict[tuple[str, str], list[Node]] = defaultdict(list)
    for node in nodes.values():
        by_concern[concern(node.type)].append(node)
    lines = [
        "digraph architecture {",
        f"  graph [rankdir=LR, fontname=Helvetica, fontsize=20, labelloc=t, label={_quote(title)}, "
        "nodesep=0.25, ranksep=0.9, compound=true, newrank=true];",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname=Helvetica, fontsize=10];',
        '  edge [color="#555555", arrowsize=0.6];',
    ]
    order = [c[:2] for c in CONCERNS] + [OTHER]
    for index, (name, color) in enumerate(order):
        members = sorted(by_concern.get((name, color), []), key=lambda n: n.key)
        if not members:
            continue
        lines += [
            f"  subgraph cluster_{index} {{",
            f'    label={_quote(name)}; style="rounded,filled"; fillcolor="{color}"; color="#999999"; fontsize=14;',
        ]
        for scope in sorted({n.scope for n in members}):
            scoped = [n for n in members if n.scope == scope]
            lines.append(f"    subgraph cluster_{index}_{ids[scoped[0].key]} {{")
            lines.append(f'      label={_quote(_scope_label(scope))}; style="dashed"; fontsize=9; color="#888888";')
            lines += [f'      {ids[n.key]} [label="{_node_label(n)}"];' for n in scoped]
            lines.append("    }")
        lines.append("  }")
    for source, sink, dashed in sorted(edges):
        style = ' [style=dashed, color="#7a4fb0", label="lookup", fontsize=8]' if dashed else ""
        lines.append(f"  {ids[source]} -> {ids[sink]}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_for(stack_dirs: Iterable[Path], workspace: str) -> str:
    nodes, edges = graph(load(stack_dirs))
    title = (
        f"Trading platform — workspace {workspace} (generated by tools/diagram.py from the synthesized "
        "stacks; arrows: refers to)"
    )
    return to_dot(nodes, edges, title)


def workspace_stacks(synth_dir: Path, workspace: str) -> list[Path]:
    """The stacks of ``workspace`` plus the account-level ones (those without a workspace guard)."""
    stacks = []
    for path in sorted((synth_dir / "stacks").iterdir()):
        if not (path / "cdk.tf.json").is_file():
            continue
        guarded = "workspace" in json.loads((path / "cdk.tf.json").read_text()).get("output", {})
        if path.name.endswith(f"-{workspace}") or not guarded:
            stacks.append(path)
    if not any(p.name.endswith(f"-{workspace}") for p in stacks):
        raise SystemExit(f"error: no synthesized stacks for {workspace} in {synth_dir}: run `make synth`")
    return stacks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default=DEFAULT_WORKSPACE)
    parser.add_argument("--synth-dir", type=Path, help="synthesized output to read (default: synthesize now)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="image path (.png or .svg)")
    args = parser.parse_args(argv)
    synth_dir = args.synth_dir
    if synth_dir is None:
        synth_dir = CACHE_DIR / "diagram" / "cdktf.out"
        synth_dir.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("TF_WORKSPACE", "ENVIRONMENT_SUFFIX")}
        env = shape_env(env, "aws")  # the configuration a real deployment runs, without emulator concessions
        env["TRADING_LAMBDA_ZIP"] = str(zip_for("aws", synth_dir.parent / "lambda-aws.zip", env))
        subprocess.run(
            [sys.executable, "-m", "tools.synth", "--outdir", str(synth_dir), args.workspace],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    dot = dot_for(workspace_stacks(synth_dir, args.workspace), args.workspace)
    source = args.output.with_suffix(".dot")
    source.write_text(dot)
    if not shutil.which("dot"):
        print(
            f"diagram: wrote {source}; install Graphviz (apt-get install graphviz) to render {args.output.name}",
            file=sys.stderr,
        )
        return 1
    fmt = args.output.suffix.lstrip(".") or "png"
    subprocess.run(["dot", f"-T{fmt}", "-Gdpi=96", "-o", str(args.output), str(source)], check=True)
    print(f"diagram: {args.output} and {source.name} ({dot.count(' -> ')} arrows)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
