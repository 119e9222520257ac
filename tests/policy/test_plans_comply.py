"""Our own rules on the real plan of every stack of every workspace (made against a private local emulator)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import WORKSPACES
from tests.policy.rules import RULES, StackPlan, plaintext_secrets
from tools.policy import PlanSet

pytestmark = pytest.mark.e2e


def test_every_stack_of_every_workspace_was_planned(stack_plans: list[StackPlan]) -> None:
    # Guards the rule tests below: an empty or partial set of plans would make them pass vacuously.
    names = {plan.name for plan in stack_plans}
    assert names >= {f"{kind}-{ws}" for kind in ("trading", "data-protection") for ws in WORKSPACES}
    for plan in stack_plans:
        assert plan.resources(), f"{plan.name}: the plan creates nothing"


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_holds_on_every_plan(stack_plans: list[StackPlan], name: str) -> None:
    violations = [f"{plan.workspace}: {v}" for plan in stack_plans for v in RULES[name](plan)]
    assert not violations, "\n".join(violations)


def test_no_plaintext_secret_in_the_state_the_gate_applied(plan_set: PlanSet) -> None:
    states = [files.state for files in plan_set.stacks if files.state is not None]
    assert len(states) == len(WORKSPACES)
    for state in states:
        assert plaintext_secrets(json.loads(state.read_text()), state.name) == []
