"""What every part of the policy gate shares: its folders, its error, and a finding."""

from __future__ import annotations

from dataclasses import dataclass, field

from python_stacks.project import CACHE_DIR, ROOT
from python_stacks.workspace import WORKSPACES as SETTINGS

WORKSPACES = tuple(SETTINGS)
SKIP_FILE = ROOT / "policy" / "checkov.yaml"
PLANS_DIR = CACHE_DIR / "plans"
WORK_DIR = CACHE_DIR / "policy"
# scan name -> checkov framework
SCANS = {"modules": "terraform", "synth": "terraform_json", "plan": "terraform_plan"}


class PolicyError(RuntimeError):
    """The gate could not run (checkov not installable, a plan failed, the skip list is malformed)."""


@dataclass(frozen=True)
class Finding:
    scan: str
    check_id: str
    check_name: str
    resource: str
    file: str


@dataclass
class ScanResult:
    scan: str
    inputs: int
    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    parsing_errors: int = 0
    seconds: float = 0.0
