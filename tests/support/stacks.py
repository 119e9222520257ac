"""Synthesize stacks in-process and read the synthesized JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_stacks.workspace import Naming, data_protection_stack_name, trading_stack_name


@dataclass(frozen=True)
class Stack:
    name: str
    directory: Path
    config: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return self.config.get("resource", {}).get(resource_type, {})

    def resource(self, resource_type: str) -> dict[str, Any]:
        """The only resource of a type (fails when there are several)."""
        found = self.resources(resource_type)
        assert len(found) == 1, f"{self.name}: expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.values()))

    def at_path(self, kind: str, path: str) -> str:
        """The synthesized address (``aws_security_group.lambda-network_functions_79D1312D``, ``data.<type>.<id>``)
        of the resource or data block whose construct path is ``<stack>/<path>``: cdktf hashes that path into the
        logical id, so tests name the construct path and never the hash."""
        data = kind.startswith("data.")
        blocks = self.data(kind.removeprefix("data.")) if data else self.resources(kind)
        wanted = f"{self.name}/{path}"
        found = [name for name, body in blocks.items() if body.get("//", {}).get("metadata", {}).get("path") == wanted]
        assert len(found) == 1, f"{self.name}: expected one {kind} at {wanted}, found {found}"
        return f"{kind}.{found[0]}"

    def ref(self, kind: str, path: str, attribute: str) -> str:
        """``${<address>.<attribute>}``: how the stack refers to the block at ``path``."""
        return f"${{{self.at_path(kind, path)}.{attribute}}}"

    def data(self, data_type: str) -> dict[str, dict[str, Any]]:
        return self.config.get("data", {}).get(data_type, {})

    def module(self, name: str) -> dict[str, Any]:
        return self.config["module"][name]

    @property
    def outputs(self) -> dict[str, Any]:
        return self.config.get("output", {})


@dataclass(frozen=True)
class Synthesized:
    outdir: Path

    def stack(self, name: str) -> Stack:
        directory = self.outdir / "stacks" / name
        return Stack(name, directory, json.loads((directory / "cdk.tf.json").read_text()))

    # The fixtures synthesize with the default environment suffix: the workspace's name.
    def trading(self, workspace: str) -> Stack:
        return self.stack(trading_stack_name(Naming(workspace)))

    def data_protection(self, workspace: str) -> Stack:
        return self.stack(data_protection_stack_name(Naming(workspace)))

    @property
    def stack_names(self) -> list[str]:
        return sorted(p.name for p in (self.outdir / "stacks").iterdir())


def synthesize(workspaces: Iterable[str], outdir: Path, env: Mapping[str, str]) -> Synthesized:
    from python_stacks.stacks import build_app, load_configs

    build_app(load_configs(workspaces, env), outdir=outdir).synth()
    return Synthesized(outdir)
