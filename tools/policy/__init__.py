"""The policy gate: README tables, then checkov over the modules, the synthesized JSON and real plans.

Three views, because each sees what the others miss: ``terraform`` over ``tf_modules/`` (the module code),
``terraform_json`` over the synthesized stacks (the CDKTF side; it does not follow modules) and ``terraform_plan``
over ``terraform show -json`` of a real plan of every workspace against a private local emulator (inside the
modules, with values resolved). A failed check passes the gate only through an entry of ``policy/checkov.yaml``
that names the check, the resources and the reason; an entry that no longer matches anything fails the gate too.

Usage: ``python -m tools.policy [--workspace WS ...] [--reuse-plans]`` (exit 1 on any unexplained failure).
Plans land in ``.cache/plans/<workspace>.json`` (trading stack) and ``<workspace>.data-protection.json``.
"""

from __future__ import annotations

from tools.policy.checkov import typed_address
from tools.policy.common import SKIP_FILE, Finding, PolicyError, ScanResult
from tools.policy.plan_cache import plans_with_private_emulator, reusable_plans
from tools.policy.plans import PlanSet, StackPlanFiles
from tools.policy.report import Verdict, judge
from tools.policy.skips import Skip, load_skips

__all__ = [
    "SKIP_FILE",
    "Finding",
    "PlanSet",
    "PolicyError",
    "ScanResult",
    "Skip",
    "StackPlanFiles",
    "Verdict",
    "judge",
    "load_skips",
    "plans_with_private_emulator",
    "reusable_plans",
    "typed_address",
]
