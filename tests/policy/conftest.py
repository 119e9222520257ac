"""Real plans of every workspace, made once per session against a private emulator (tools/policy/'s procedure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from python_stacks.constants import REGION
from tests.conftest import WORKSPACES
from tests.policy.rules import StackPlan
from tools.policy import PlanSet, plans_with_private_emulator, reusable_plans


@pytest.fixture(scope="session")
def plan_set(tmp_path_factory: pytest.TempPathFactory, lambda_zip: Path) -> PlanSet:
    # `make check` leaves plans in .cache/plans; they are reused only when made from exactly the stacks that
    # synthesize now (a digest of every synthesized stack), which saves a few minutes of Terraform per run.
    current = reusable_plans(WORKSPACES)
    if current is not None:
        return current
    root = tmp_path_factory.mktemp("policy")
    return plans_with_private_emulator(WORKSPACES, root / "root", root / "plans")


@pytest.fixture(scope="session")
def stack_plans(plan_set: PlanSet) -> list[StackPlan]:
    plans = []
    for files in plan_set.stacks:
        # Stacks of a workspace carry its suffix; the account-wide stack carries the region instead.
        suffix = REGION if files.workspace == "default" else files.workspace
        plans.append(
            StackPlan(
                json.loads(files.plan.read_text()),
                files.workspace,
                suffix,
                json.loads((files.stack_dir / "cdk.tf.json").read_text()),
                files.stack_dir,
            )
        )
    return plans
