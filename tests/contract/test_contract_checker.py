"""The contract checker itself, on deliberately broken inputs: each kind of break is reported, by name."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.contract.contracts import declaration_problems, stack_problems
from tests.contract.hcl_types import mismatches, parse_type
from tools.module_docs import MODULES_DIR, read_interface, stale_readmes

VPC_ARGUMENTS = {
    "environment_suffix": "dev",
    "cidr": "${local.vpc_cidr}",
    "azs": "${local.azs}",
    "public_subnets": ["10.0.0.0/24", "10.0.1.0/24"],
    "private_subnets": ["10.0.10.0/24", "10.0.11.0/24"],
    "single_nat_gateway": True,
    "kms_key_arn": "${data.aws_kms_alias.kms.target_key_arn}",
}


@pytest.fixture()
def stack(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A minimal synthesized stack calling a copy of tf_modules/vpc, as cdktf lays it out."""
    asset = tmp_path / "assets" / "vpc-source" / "0123"
    asset.mkdir(parents=True)
    for path in (MODULES_DIR / "vpc").glob("*.tf"):
        shutil.copyfile(path, asset / path.name)
    config = {
        "locals": {"vpc_cidr": "10.0.0.0/16", "azs": ["us-east-1a", "us-east-1b"]},
        "module": {"vpc": {"source": "./assets/vpc-source/0123", **VPC_ARGUMENTS}},
        "output": {"vpc_id": {"value": "${module.vpc.vpc_id}"}},
    }
    return tmp_path, config


def test_a_correct_stack_has_no_problems(stack: tuple[Path, dict[str, Any]]) -> None:
    directory, config = stack
    assert stack_problems("trading-dev", directory, config) == []


def _break(config: dict[str, Any], how: str) -> dict[str, Any]:
    broken = copy.deepcopy(config)
    vpc = broken["module"]["vpc"]
    if how == "unknown variable":
        vpc["cidr_block"] = vpc.pop("cidr")
    elif how == "missing required variable":
        del vpc["private_subnets"]  # required (kms_key_arn is optional since the flow log can be off)
    elif how == "wrong literal type":
        vpc["single_nat_gateway"] = ["yes"]
    elif how == "wrong type through a local":
        broken["locals"]["azs"] = "us-east-1a"
    elif how == "list output into a string variable":
        vpc["kms_key_arn"] = "${module.vpc.private_subnets}"
    elif how == "unknown output":
        broken["output"]["vpc_id"]["value"] = "${module.vpc.id}"
    return broken


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("unknown variable", "passes 'cidr_block', which the module does not declare"),
        ("missing required variable", "required variable 'private_subnets' is not passed"),
        ("wrong literal type", "variable 'single_nat_gateway': expected bool, got list"),
        ("wrong type through a local", "variable 'azs': expected list(string), got a string"),
        (
            "list output into a string variable",
            "variable 'kms_key_arn': expected string, but module.vpc.private_subnets is a list",
        ),
        ("unknown output", "reads output 'id' of module.vpc (tf_modules/vpc), which the module does not declare"),
    ],
)
def test_each_break_is_reported_by_name(stack: tuple[Path, dict[str, Any]], how: str, expected: str) -> None:
    directory, config = stack
    problems = stack_problems("trading-dev", directory, _break(config, how))
    assert any(expected in p for p in problems), f"{how}: {problems}"
    assert all(p.startswith("trading-dev: ") for p in problems)


def test_a_module_source_that_is_no_copy_of_tf_modules_is_reported(stack: tuple[Path, dict[str, Any]]) -> None:
    directory, config = stack
    (directory / "assets" / "vpc-source" / "0123" / "main.tf").write_text("# edited by hand\n")
    assert stack_problems("trading-dev", directory, config) == [
        "trading-dev: module.vpc (source './assets/vpc-source/0123') is no copy of a module in tf_modules/"
    ]


def test_undocumented_and_untyped_declarations_are_reported(tmp_path: Path) -> None:
    (tmp_path / "variables.tf").write_text(
        'variable "a" {\n  type = string\n}\nvariable "b" {\n  description = "B."\n}\n'
    )
    (tmp_path / "outputs.tf").write_text('output "c" {\n  value = 1\n}\n')
    problems = declaration_problems(read_interface(tmp_path))
    assert [p.split(": ", 1)[1] for p in problems] == [
        "variable 'a' has no description",
        "variable 'b' has no type",
        "output 'c' has no description",
    ]


def test_a_stale_readme_is_reported_and_regenerated(tmp_path: Path) -> None:
    module = tmp_path / "m"
    module.mkdir()
    (module / "variables.tf").write_text(
        'variable "a" {\n  description = "A | B."\n  type = list(string)\n  default = ["x"]\n}\n'
    )
    (module / "outputs.tf").write_text('output "o" {\n  description = "O."\n  value = var.a\n}\n')
    readme = module / "README.md"
    readme.write_text("# M\n\nProse.\n\n<!-- BEGIN_TF_DOCS -->\nold\n<!-- END_TF_DOCS -->\n\nMore prose.\n")
    assert len(stale_readmes([module], write=False)) == 1
    assert stale_readmes([module], write=True) == []
    text = readme.read_text()
    assert text.startswith("# M\n\nProse.\n\n<!-- BEGIN_TF_DOCS -->\n") and text.endswith(
        "<!-- END_TF_DOCS -->\n\nMore prose.\n"
    )
    assert '| `a` | A \\| B. | `list(string)` | `["x"]` | no |' in text
    assert "| `o` | O. |" in text
    assert stale_readmes([module], write=False) == []


def test_a_readme_without_markers_is_reported_not_rewritten(tmp_path: Path) -> None:
    (tmp_path / "variables.tf").write_text('variable "a" {\n  description = "A."\n  type = string\n}\n')
    (tmp_path / "README.md").write_text("# No markers\n")
    assert "needs exactly one <!-- BEGIN_TF_DOCS -->" in stale_readmes([tmp_path], write=True)[0]
    assert (tmp_path / "README.md").read_text() == "# No markers\n"


@pytest.mark.parametrize(
    ("type_text", "value", "ok"),
    [
        ("string", 5, True),
        ("number", "5", True),
        ("number", "five", False),
        ("bool", "true", True),
        ("list(string)", ["a", 1], True),
        ("list(string)", {"a": "b"}, False),
        ("map(string)", {"lambda": "${aws_security_group.x.id}"}, True),
        ('map(object({value = string, apply_method = optional(string, "immediate")}))', {"p": {"value": "1"}}, True),
        (
            'map(object({value = string, apply_method = optional(string, "immediate")}))',
            {"p": {"apply_method": "x"}},
            False,
        ),
        ("object({a = string})", {"a": "x", "b": "y"}, False),
        ("tuple([string, number])", ["a", 1], True),
        ("set(number)", [1, "x"], False),
    ],
)
def test_type_conformance(type_text: str, value: Any, ok: bool) -> None:
    assert (mismatches(value, parse_type(type_text)) == []) is ok, json.dumps(value)
