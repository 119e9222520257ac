"""The contract between the Python stacks and the HCL modules, read from both sides.

The Python side is what it synthesizes: each ``module`` block's arguments and every ``${module.<name>.<output>}``
reference anywhere in a stack. The module side is ``tf_modules/<module>``'s variables and outputs (python-hcl2).
Every problem names the stack, the module and the variable or output, so a module change that breaks the stacks
says what broke.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.contract.hcl_types import TfType, TypeSyntaxError, is_expression, mismatches, parse_type
from tools.module_docs import MODULES_DIR, ModuleInterface, module_dirs, read_interface, shown

MODULE_REFERENCE = re.compile(r"\bmodule\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)")
# Module block keys that are Terraform meta-arguments (or cdktf metadata), not module variables.
META_ARGUMENTS = frozenset({"//", "source", "version", "providers", "depends_on", "count", "for_each"})


@dataclass(frozen=True)
class ModuleCall:
    stack: str
    name: str
    module_dir: Path
    arguments: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.stack}: module.{self.name} (tf_modules/{shown(self.module_dir, MODULES_DIR)})"


def _tf_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.glob("*.tf")}


def shipped_module(stack_dir: Path, source: str, candidates: list[Path]) -> Path | None:
    """The tf_modules folder whose Terraform files the synthesized asset ``source`` is a copy of."""
    shipped = _tf_files(stack_dir / source)
    return next((c for c in candidates if _tf_files(c) == shipped), None) if shipped else None


def module_calls(stack_name: str, stack_dir: Path, config: Mapping[str, Any]) -> tuple[list[ModuleCall], list[str]]:
    calls, problems = [], []
    candidates = module_dirs()
    for name, block in config.get("module", {}).items():
        source = block.get("source", "")
        module_dir = shipped_module(stack_dir, source, candidates) if source.startswith("./") else None
        if module_dir is None:
            problems.append(f"{stack_name}: module.{name} (source {source!r}) is no copy of a module in tf_modules/")
            continue
        arguments = {k: v for k, v in block.items() if k not in META_ARGUMENTS}
        calls.append(ModuleCall(stack_name, name, module_dir, arguments))
    return calls, problems


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def output_references(config: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(module, output) for every ``module.<name>.<output>`` the stack reads, wherever it appears."""
    return {match.groups() for text in strings(config) if "${" in text for match in MODULE_REFERENCE.finditer(text)}


def declaration_problems(interface: ModuleInterface) -> list[str]:
    """Every variable has a valid type and a description; every output a description."""
    problems = []
    for var in interface.variables:
        where = f"tf_modules/{interface.name}: variable {var.name!r}"
        if not (var.description or "").strip():
            problems.append(f"{where} has no description")
        if var.type is None:
            problems.append(f"{where} has no type")
        else:
            try:
                parse_type(var.type)
            except TypeSyntaxError as exc:
                problems.append(f"{where}: {exc}")
    problems += [
        f"tf_modules/{interface.name}: output {out.name!r} has no description"
        for out in interface.outputs
        if not (out.description or "").strip()
    ]
    return problems


def _expression_kind(expression: str, interface: ModuleInterface | None) -> str | None:
    """``list``, ``map`` or a primitive for an HCL expression whose shape is evident; None when it is not."""
    if expression.startswith("["):
        return "list"
    if expression.startswith("{"):
        return "map"
    match = re.fullmatch(r"var\.([A-Za-z0-9_-]+)", expression)
    if match and interface is not None:
        var = interface.variable(match.group(1))
        if var is not None and var.type is not None:
            return _kind(parse_type(var.type))
    return None


def _kind(t: TfType) -> str:
    return {"set": "list", "tuple": "list", "object": "map"}.get(t.kind, t.kind)


def _kinds_compatible(source: str | None, expected: TfType) -> bool:
    target = _kind(expected)
    if source is None or "any" in (source, target):
        return True
    primitives = ("string", "number", "bool")
    if source in primitives and target in primitives:
        return True  # Terraform converts between primitives (it fails at plan time only on bad values)
    return source == target


@dataclass(frozen=True)
class StackContext:
    """What an expression in one stack can refer to: its locals, its variables and its modules' outputs."""

    config: Mapping[str, Any]
    interfaces: Mapping[str, ModuleInterface]  # by module block name

    def expression_kind(self, expression: str) -> str | None:
        if match := re.fullmatch(r"var\.([A-Za-z0-9_-]+)", expression):
            declared = self.config.get("variable", {}).get(match.group(1), {}).get("type")
            return _kind(parse_type(declared)) if isinstance(declared, str) else None
        if match := re.fullmatch(r"module\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)", expression):
            interface = self.interfaces.get(match.group(1))
            output = interface.output(match.group(2)) if interface else None
            if output is None or not isinstance(output.value, str) or not is_expression(output.value):
                return None
            return _expression_kind(output.value[2:-1], interface)
        return None

    def value_problems(self, value: Any, expected: TfType, where: str) -> list[str]:
        if is_expression(value):
            expression = value[2:-1].strip()
            if match := re.fullmatch(r"local\.([A-Za-z0-9_-]+)", expression):
                locals_ = self.config.get("locals", {})
                if match.group(1) not in locals_:
                    return [f"{where}: refers to local.{match.group(1)}, which the stack does not define"]
                return self.value_problems(locals_[match.group(1)], expected, where)
            kind = self.expression_kind(expression)
            if not _kinds_compatible(kind, expected):
                return [f"{where}: expected {expected}, but {expression} is a {kind}"]
            return []
        if isinstance(value, list) and expected.kind in ("list", "set") and expected.element is not None:
            return [
                p for i, item in enumerate(value) for p in self.value_problems(item, expected.element, f"{where}[{i}]")
            ]
        if isinstance(value, dict) and expected.kind == "map" and expected.element is not None:
            return [
                p
                for key, item in value.items()
                for p in self.value_problems(item, expected.element, f"{where}[{key!r}]")
            ]
        return mismatches(value, expected, where)


def argument_problems(call: ModuleCall, interface: ModuleInterface, context: StackContext) -> list[str]:
    """Every argument is a declared variable of a compatible type; every required variable is passed."""
    problems = []
    for name, value in call.arguments.items():
        var = interface.variable(name)
        if var is None:
            problems.append(f"{call.label}: passes {name!r}, which the module does not declare as a variable")
            continue
        if var.type is None:
            continue  # reported by declaration_problems
        problems += context.value_problems(value, parse_type(var.type), f"{call.label}: variable {name!r}")
    problems += [
        f"{call.label}: required variable {var.name!r} is not passed"
        for var in interface.variables
        if var.required and var.name not in call.arguments
    ]
    return problems


def reference_problems(
    stack_name: str,
    references: set[tuple[str, str]],
    interfaces: Mapping[str, ModuleInterface],
    unresolved: frozenset[str] = frozenset(),
) -> list[str]:
    problems = []
    for module, output in sorted(references):
        interface = interfaces.get(module)
        if interface is None and module in unresolved:
            continue  # its source is already reported
        if interface is None:
            problems.append(f"{stack_name}: reads module.{module}.{output}, but the stack has no module {module!r}")
        elif interface.output(output) is None:
            problems.append(
                f"{stack_name}: reads output {output!r} of module.{module} "
                f"(tf_modules/{interface.name}), which the module does not declare"
            )
    return problems


def stack_problems(stack_name: str, stack_dir: Path, config: Mapping[str, Any]) -> list[str]:
    """Everything wrong between one synthesized stack and the modules it calls."""
    calls, problems = module_calls(stack_name, stack_dir, config)
    interfaces = {call.name: read_interface(call.module_dir) for call in calls}
    context = StackContext(config, interfaces)
    for call in calls:
        problems += argument_problems(call, interfaces[call.name], context)
    unresolved = frozenset(config.get("module", {})) - set(interfaces)
    problems += reference_problems(stack_name, output_references(config), interfaces, unresolved)
    return problems
