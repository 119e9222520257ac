"""Synthesize stacks in-process and read the synthesized JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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

    def trading(self, workspace: str) -> Stack:
        return self.stack(f"trading-{workspace}")

    def data_protection(self, workspace: str) -> Stack:
        return self.stack(f"data-protection-{workspace}")

    @property
    def stack_names(self) -> list[str]:
        return sorted(p.name for p in (self.outdir / "stacks").iterdir())


def synthesize(workspaces: Iterable[str], outdir: Path, env: Mapping[str, str]) -> Synthesized:
    from python_stacks.stacks import build_app, load_configs

    build_app(load_configs(workspaces, env), outdir=outdir).synth()
    return Synthesized(outdir)
