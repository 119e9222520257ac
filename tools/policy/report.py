"""The verdict: which failed checks a skip explains, which skips explain nothing any more, and the summary table."""

from __future__ import annotations

from dataclasses import dataclass, field

from python_stacks.project import ROOT
from tools.policy.common import SCANS, SKIP_FILE, Finding, ScanResult
from tools.policy.skips import Skip


@dataclass
class Verdict:
    results: list[ScanResult]
    skips: list[Skip]
    unexplained: list[Finding] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # per scan
    unused: list[Skip] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unexplained and not self.unused


def judge(results: list[ScanResult], skips: list[Skip]) -> Verdict:
    verdict = Verdict(results, skips)
    used: set[int] = set()
    for result in results:
        verdict.skipped[result.scan] = 0
        for finding in result.failed:
            matching = [i for i, skip in enumerate(skips) if skip.matches(finding)]
            if matching:
                used.update(matching)
                verdict.skipped[result.scan] += 1
            else:
                verdict.unexplained.append(finding)
    verdict.unused = [skip for i, skip in enumerate(skips) if i not in used]
    return verdict


def print_summary(verdict: Verdict) -> None:
    rows = [("scan", "framework", "inputs", "passed", "failed", "skipped", "unexplained", "time")]
    for r in verdict.results:
        unexplained = sum(1 for f in verdict.unexplained if f.scan == r.scan)
        rows.append(
            (
                r.scan,
                SCANS[r.scan],
                str(r.inputs),
                str(r.passed),
                str(len(r.failed)),
                str(verdict.skipped.get(r.scan, 0)),
                str(unexplained),
                f"{r.seconds:.1f}s",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for n, row in enumerate(rows):
        print(
            "  "
            + "  ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    if verdict.unexplained:
        print("\nFailed checks with no entry in policy/checkov.yaml (fix the code, or add a skip with its reason):")
        for f in sorted(verdict.unexplained, key=lambda f: (f.check_id, f.scan, f.resource)):
            print(f"  {f.check_id} [{f.scan}] {f.resource}  ({f.check_name}; {f.file})")
    if verdict.unused:
        print("\nSkips in policy/checkov.yaml that match no failed check any more (remove them):")
        for skip in verdict.unused:
            print(f"  {skip.check} {list(skip.resources)}")
    used = len(verdict.skips) - len(verdict.unused)
    print(
        f"\npolicy: {'PASSED' if verdict.ok else 'FAILED'}: {len(verdict.unexplained)} unexplained failure(s), "
        f"{sum(verdict.skipped.values())} skipped by {used} reasoned skip(s) in {SKIP_FILE.relative_to(ROOT)}"
    )
