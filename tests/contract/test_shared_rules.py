"""Rules the Python stacks and the HCL modules both enforce, defined once in Python and restated in each module's
variables.tf (a module is reusable without Python, so it cannot import the rule). Two checks per rule: the module's
validation is the Python definition's text, and real Terraform decides the same as Python on a set of candidates,
so a rule that drifts fails here whichever side moved.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from python_stacks.config import ZONE_ID_PATTERN
from python_stacks.workspace import SUFFIX_RULE, Naming, final_snapshot_prefix
from tools.tf import terraform_binary, terraform_env

ROOT = Path(__file__).resolve().parents[2]
# Every module that takes an environment suffix (their examples pass one and do not validate it again).
SUFFIX_MODULES = ("vpc", "aurora", "api", "api/modules/account-settings")
SUFFIX_CANDIDATES = (
    "dev",
    "staging",
    "prod",
    "pr-42",
    "a-b-c",
    "a" * 21,
    "a" * 20 + "-",
    "a" * 22,
    "Dev",
    "-dev",
    "dev-",
    "dev--1",
    "dev_1",
    "dev.1",
    "",
    "-",
    "é",
)
ZONE_ID_CANDIDATES = ("Z0000000000EXAMPLE", "Z123", "A" * 32, "A" * 33, "z0123", "/hostedzone/Z123", "", "Z-1")


def validation_conditions(module: str, variable: str) -> list[str]:
    """The ``condition`` expressions of ``variable``'s validation blocks, as written in the module's variables.tf."""
    text = (ROOT / "tf_modules" / module / "variables.tf").read_text()
    block = re.search(rf'^variable "{variable}" \{{\n(.*?)^\}}', text, re.M | re.S)
    assert block, f"tf_modules/{module}: no variable {variable!r}"
    return re.findall(r"^\s*condition\s*=\s*(.+?)\s*$", block.group(1), re.M)


def terraform_decides(condition: str, variable: str, candidates: tuple[str, ...], workdir: Path) -> dict[str, bool]:
    """Evaluate ``condition`` for every candidate value of ``var.<variable>`` with `terraform console`."""
    expression = condition.replace(f"var.{variable}", "candidate")
    workdir.mkdir(parents=True, exist_ok=True)
    values = json.dumps(list(candidates))
    (workdir / "main.tf").write_text(
        f"locals {{\n  results = {{ for candidate in {values} : candidate => {expression} }}\n}}\n"
    )
    result = subprocess.run(
        [terraform_binary(), "console"],
        input="jsonencode(local.results)\n",
        cwd=workdir,
        env=terraform_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # The console prints the JSON as an HCL string literal: decode that first, then the JSON inside.
    decided: dict[str, bool] = json.loads(json.loads(result.stdout.strip()))
    return decided


def test_the_python_suffix_rule_is_what_the_stack_checks() -> None:
    assert SUFFIX_RULE.accepts("dev") and SUFFIX_RULE.accepts("pr-42")
    assert not SUFFIX_RULE.accepts("dev--1") and not SUFFIX_RULE.accepts("a" * (SUFFIX_RULE.max_length + 1))


@pytest.mark.parametrize("module", SUFFIX_MODULES)
def test_every_module_validates_the_environment_suffix_with_the_python_rule(module: str, tmp_path: Path) -> None:
    expected = (
        f"length(var.environment_suffix) <= {SUFFIX_RULE.max_length} "
        f'&& can(regex("{SUFFIX_RULE.pattern}", var.environment_suffix))'
    )
    conditions = validation_conditions(module, "environment_suffix")
    assert conditions == [expected], f"tf_modules/{module}: environment_suffix validation differs from SUFFIX_RULE"
    decided = terraform_decides(conditions[0], "environment_suffix", SUFFIX_CANDIDATES, tmp_path)
    python = {candidate: SUFFIX_RULE.accepts(candidate) for candidate in SUFFIX_CANDIDATES}
    assert decided == python


def test_the_api_module_validates_the_hosted_zone_id_with_the_python_rule(tmp_path: Path) -> None:
    conditions = validation_conditions("api", "zone_id")
    assert conditions == [f'var.zone_id == null || can(regex("{ZONE_ID_PATTERN}", var.zone_id))'], conditions
    decided = terraform_decides(conditions[0], "zone_id", ZONE_ID_CANDIDATES, tmp_path)
    python = {candidate: re.fullmatch(ZONE_ID_PATTERN, candidate) is not None for candidate in ZONE_ID_CANDIDATES}
    assert decided == python


def test_the_final_snapshot_prefix_is_the_one_the_aurora_module_names_snapshots_with() -> None:
    main = (ROOT / "tf_modules" / "aurora" / "main.tf").read_text()
    (template,) = re.findall(r'^\s*final_snapshot_identifier\s*=\s*"(aurora-final-[^"]*)"', main, re.M)
    # The module's suffix local is the environment suffix; the prefix is everything before the timestamp.
    assert "${local.suffix}" in template and re.search(r"^\s*suffix\s*=\s*var\.environment_suffix\s*$", main, re.M)
    assert template.split("${formatdate")[0].replace("${local.suffix}", "pr-42") == final_snapshot_prefix(
        Naming("pr-42")
    )
