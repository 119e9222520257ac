"""Module contracts: what the Python stacks pass to and read from tf_modules/, the modules' own declarations, and
their README tables. A module change that breaks the stacks fails here first, naming the variable or output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import WORKSPACES
from tests.contract.contracts import declaration_problems, stack_problems
from tests.support.stacks import Synthesized
from tools.module_docs import MODULES_DIR, module_dirs, read_interface, shown, stale_readmes

MODULES = module_dirs()


def test_every_module_is_covered() -> None:
    # Guards the parametrization below: a discovery bug must not turn every contract test into a no-op.
    assert {shown(p, MODULES_DIR) for p in MODULES} >= {"vpc", "aurora", "api", "api/modules/account-settings"}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: shown(p, MODULES_DIR))
def test_every_variable_has_a_type_and_a_description_and_every_output_a_description(module: Path) -> None:
    interface = read_interface(module)
    assert interface.variables and interface.outputs, f"tf_modules/{interface.name}: no variables or outputs found"
    problems = declaration_problems(interface)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: shown(p, MODULES_DIR))
def test_readme_tables_match_the_terraform_files(module: Path) -> None:
    problems = stale_readmes([module], write=False)
    assert not problems, "\n".join(problems)


def test_the_python_side_passes_declared_variables_and_reads_declared_outputs(synth: Synthesized) -> None:
    problems = [
        p
        for name in synth.stack_names
        for p in stack_problems(name, synth.stack(name).directory, synth.stack(name).config)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_each_workspace_calls_the_three_modules(synth: Synthesized, workspace: str) -> None:
    # Guards the contract test above: it checks the module calls it finds, so it must find them.
    assert set(synth.trading(workspace).config["module"]) == {"vpc", "aurora", "api"}
