"""The skip list (policy/checkov.yaml): every accepted failed check names the check, the resources and the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from python_stacks.project import ROOT
from tools.policy.common import SCANS, SKIP_FILE, Finding, PolicyError

_CHECK_ID = re.compile(r"^CKV2?_AWS_\d+$")
_RESOURCE_TYPE = re.compile(r"aws_[a-z0-9_]+\.")


@dataclass(frozen=True)
class Skip:
    check: str
    resources: tuple[str, ...]
    reason: str
    scans: tuple[str, ...] = ()  # empty: every scan

    def matches(self, finding: Finding) -> bool:
        return (
            finding.check_id == self.check
            and (not self.scans or finding.scan in self.scans)
            and any(_pattern(glob).fullmatch(finding.resource) for glob in self.resources)
        )


def _pattern(glob: str) -> re.Pattern[str]:
    """``*`` is the only wildcard: addresses are full of brackets and quotes (``route["GET /health"]``)."""
    return re.compile(".*".join(map(re.escape, glob.split("*"))))


def load_skips(path: Path = SKIP_FILE) -> list[Skip]:
    """Read and validate the skip list: no entry without a check id, a resource type and a reason."""
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    skips, problems = [], []
    for index, entry in enumerate(data.get("skips") or [], start=1):
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} entry {index}"
        check = str(entry.get("check", ""))
        resources = tuple(entry.get("resources") or ())
        reason = " ".join(str(entry.get("reason") or "").split())
        scans = tuple(entry.get("scans") or ())
        if not _CHECK_ID.match(check):
            problems.append(f"{where}: check {check!r} is not a checkov AWS check id (CKV_AWS_n / CKV2_AWS_n)")
        if not resources or not all(_RESOURCE_TYPE.search(glob) for glob in resources):
            problems.append(
                f"{where} ({check}): every resources glob must name a resource type (aws_...): "
                "a skip never covers a whole check"
            )
        if len(reason) < 40:
            problems.append(f"{where} ({check}): the reason must name the requirement or the conflict")
        if unknown := set(scans) - set(SCANS):
            problems.append(f"{where} ({check}): unknown scans {sorted(unknown)}; known: {', '.join(SCANS)}")
        skips.append(Skip(check, resources, reason, scans))
    if problems:
        raise PolicyError("malformed skip list:\n  " + "\n  ".join(problems))
    return skips
