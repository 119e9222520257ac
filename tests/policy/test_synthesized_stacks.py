"""The rules that need no plan, on the synthesized stacks of both targets: secrets, prevent_destroy, `*` on `*`."""

from __future__ import annotations

import pytest

from tests.policy.rules import (
    StackPlan,
    no_plaintext_secret,
    no_wildcard_actions_on_wildcard_resources,
    only_the_migration_reads_the_master_secret,
    plaintext_secrets,
    prevent_destroy_settings,
)
from tests.support.stacks import Synthesized


def _stacks(synthesized: Synthesized) -> list[StackPlan]:
    stacks = [synthesized.stack(name) for name in synthesized.stack_names]
    assert any(s.name.startswith("trading-") for s in stacks)
    return [StackPlan({}, "n/a", "n/a", s.config, s.directory) for s in stacks]


@pytest.mark.parametrize("target", ["local", "aws"])
def test_no_plaintext_secret_prevent_destroy_or_star_on_star(
    synth: Synthesized, synth_aws: Synthesized, target: str
) -> None:
    for stack in _stacks(synth if target == "local" else synth_aws):
        problems = [str(v) for v in no_plaintext_secret(stack) + no_wildcard_actions_on_wildcard_resources(stack)]
        problems += [str(v) for v in only_the_migration_reads_the_master_secret(stack)]
        problems += [f"{where}: lifecycle.prevent_destroy" for where in prevent_destroy_settings(stack)]
        assert not problems, f"{stack.name}:\n" + "\n".join(problems)


def test_the_migration_is_the_one_function_that_may_read_the_master_secret(synth: Synthesized) -> None:
    # The rule is not vacuous: the migration does read it, and the rule lets it.
    stack = next(s for s in _stacks(synth) if s.config.get("resource", {}).get("aws_lambda_function"))
    handlers = sorted(f["handler"] for f in stack.config["resource"]["aws_lambda_function"].values())
    assert handlers == ["handlers.api.handler", "handlers.migrate.handler"]
    assert only_the_migration_reads_the_master_secret(stack) == []


def test_only_the_local_target_carries_the_emulator_credentials(synth: Synthesized, synth_aws: Synthesized) -> None:
    local = synth.trading("dev").config["provider"]["aws"][0]
    assert (local["access_key"], local["secret_key"]) == ("test", "test")
    for name in synth_aws.stack_names:
        provider = synth_aws.stack(name).config["provider"]["aws"][0]
        assert "access_key" not in provider and "secret_key" not in provider, name


def test_the_emulator_exception_covers_only_the_provider_block() -> None:
    assert plaintext_secrets({"provider": {"aws": [{"secret_key": "test"}]}}) == []
    assert plaintext_secrets({"resource": {"x": {"y": {"secret_key": "test"}}}}) == ["resource.x.y.secret_key"]
