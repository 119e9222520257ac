"""No stack output may be null in any workspace: the cdktf CLI fails after a successful apply when one is
(``TypeError: Cannot convert undefined or null to object``, exit 1), so a good deploy would look failed.

Outputs are references, so null-ness is read where a workspace decides it: in the expressions of the module outputs
a stack exposes, with the literal inputs of that workspace's module call. A module output can be null in the shapes
the modules use — ``var.X ? null : ...`` and ``one(...)``/``try(..., null)`` over a resource created only when
``count = var.X ? 1 : 0`` — and both are decided here from ``X`` as synthesized (or its default). An expression that
reads only provider attributes (``try(<resource>.master_user_secret[0].secret_arn, null)``) is not decided by any
input; the end-to-end CLI deploy (tests/e2e/test_cdktf_cli.py) covers it on a real apply. Any other null-yielding
shape fails the test until the check learns it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.conftest import WORKSPACES
from tests.support.stacks import Stack, Synthesized
from tools.module_docs import _HCL_OPTIONS, ModuleInterface, read_interface

MODULE_OUTPUT = re.compile(r"\bmodule\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)")
NULLABLE = re.compile(r"\bnull\b|\bone\(|\btry\(")
CONDITIONAL = re.compile(r"^\$\{var\.(\w+) \? (.+) : (.+)\}$")  # var.X ? A : B
COUNT_BY_FLAG = re.compile(r"^\$\{var\.(\w+) \? 1 : 0\}$")  # count = var.X ? 1 : 0
RESOURCE_REF = re.compile(r"\b(aws_[a-z0-9_]+)\.([A-Za-z0-9_]+)\b")
UNSET = object()


@cache
def module_counts(directory: Path) -> dict[str, str]:
    """``<type>.<name>`` -> its ``count`` expression, for every counted resource of the module."""
    counts = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=_HCL_OPTIONS)
        for block in parsed.get("resource", []):
            for resource_type, named in block.items():
                counted = {name: body["count"] for name, body in named.items() if "count" in body}
                counts.update({f"{resource_type}.{name}": count for name, count in counted.items()})
    return counts


def flag(call: dict[str, Any], interface: ModuleInterface, name: str) -> Any:
    """The literal value of ``var.<name>`` in this call (its default when the call leaves it out), or UNSET."""
    if name in call:
        return call[name] if isinstance(call[name], bool) else UNSET
    variable = interface.variable(name)
    return variable.default if variable is not None and isinstance(variable.default, bool) else UNSET


def null_reason(stack: Stack, module: str, output: str) -> str | None:
    """Why ``module.<module>.<output>`` is (or may be) null in this stack, or None when no input makes it null."""
    call = stack.module(module)
    directory = (stack.directory / call["source"]).resolve()
    interface = read_interface(directory)
    declared = interface.output(output)
    assert declared is not None, f"{stack.name}: module.{module} has no output {output!r}"
    expression = str(declared.value)
    if not NULLABLE.search(expression):
        return None
    conditional = CONDITIONAL.match(expression)
    if conditional:
        value = flag(call, interface, conditional.group(1))
        if value is UNSET:
            return f"module.{module}.{output} = {expression}, with var.{conditional.group(1)} not a literal"
        chosen = (conditional.group(2) if value else conditional.group(3)).strip()
        if chosen != "null":
            return None
        return f"module.{module}.{output} is null here ({conditional.group(1)} = {value})"
    counted = [f"{t}.{n}" for t, n in RESOURCE_REF.findall(expression) if f"{t}.{n}" in module_counts(directory)]
    if not counted:
        # Provider attributes only: no input of this workspace makes it null (the e2e apply checks the value).
        return None if "var." not in expression else f"module.{module}.{output} may be null: {expression}"
    for resource in counted:
        by_flag = COUNT_BY_FLAG.match(module_counts(directory)[resource])
        value = flag(call, interface, by_flag.group(1)) if by_flag else UNSET
        if value is UNSET:
            return f"module.{module}.{output} = {expression}, and {resource}'s count is not decided by a literal"
        if value is False:
            return f"module.{module}.{output} is null here ({resource} is not created: {by_flag.group(1)} = false)"
    return None


def null_outputs(stack: Stack, outputs: dict[str, Any] | None = None) -> list[str]:
    problems = []
    for name, body in (stack.outputs if outputs is None else outputs).items():
        value = body.get("value")
        if value is None or NULLABLE.search(MODULE_OUTPUT.sub("", str(value))):
            problems.append(f"{stack.name}: output {name} = {value!r} can be null")
            continue
        problems += [
            f"{stack.name}: output {name}: {reason}"
            for module, output in MODULE_OUTPUT.findall(str(value))
            if (reason := null_reason(stack, module, output))
        ]
    return problems


@pytest.mark.parametrize("target", ["local", "aws"])
def test_no_output_of_any_stack_is_null_in_any_workspace(
    target: str, synth: Synthesized, synth_aws: Synthesized
) -> None:
    synthesized = synth if target == "local" else synth_aws
    names = synthesized.stack_names
    expected = {f"{kind}-{ws}" for kind in ("trading", "data-protection") for ws in WORKSPACES}
    assert expected | {"account-settings"} <= set(names), "the check must see every stack"
    assert [problem for name in names for problem in null_outputs(synthesized.stack(name))] == []


def test_the_final_snapshot_name_is_an_output_only_where_one_is_taken(synth: Synthesized) -> None:
    declared = {ws: "db_final_snapshot_identifier" in synth.trading(ws).outputs for ws in WORKSPACES}
    assert declared == {"dev": False, "staging": False, "prod": True}


def test_the_check_finds_outputs_an_input_makes_null(synth: Synthesized) -> None:
    # What dev declared before: the aurora module's final snapshot name, null where skip_final_snapshot is true.
    old = {"db_final_snapshot_identifier": {"value": "${module.aurora.final_snapshot_identifier}"}}
    (problem,) = null_outputs(synth.trading("dev"), old)
    assert "is null here (skip_final_snapshot = True)" in problem
    assert null_outputs(synth.trading("prod"), old) == []
    # A counted resource: null when the call turns it off, decided from the call (or the variable's default).
    prod = synth.trading("prod")
    flow_log = {"flow_log": {"value": "${module.vpc.flow_log_id}"}}
    assert null_outputs(prod, flow_log) == []  # enable_flow_log defaults to true
    without_flow_log = Stack(
        prod.name,
        prod.directory,
        {**prod.config, "module": {**prod.config["module"], "vpc": {**prod.module("vpc"), "enable_flow_log": False}}},
    )
    assert "aws_flow_log.this is not created" in null_outputs(without_flow_log, flow_log)[0]
    assert null_outputs(prod, {"literal": {"value": None}}) and null_outputs(prod, {"x": {"value": "${null}"}})
