"""checkov from its own virtualenv, run offline over one view; its findings named the same way in every scan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from python_stacks.project import ROOT
from tools import sidevenv
from tools.policy.common import SCANS, WORK_DIR, Finding, PolicyError, ScanResult
from tools.policy.plans import PlanSet

CHECKOV_VENV = ROOT / ".venv-checkov"
CHECKOV_REQUIREMENTS = ROOT / "requirements-checkov.txt"


def ensure_checkov() -> Path:
    """checkov from its own virtualenv (its pins clash with ours), (re)installed when the requirements change."""
    python = sidevenv.ensure(CHECKOV_VENV, CHECKOV_REQUIREMENTS, label="policy")
    checkov = python.parent / "checkov"
    if not checkov.exists():
        raise PolicyError(f"{CHECKOV_REQUIREMENTS.name} installed no checkov into {CHECKOV_VENV}")
    return checkov


def typed_address(resource: str, types_by_name: Mapping[str, str]) -> str:
    """checkov's terraform_json runner names some resources ``resource.<id>`` / ``data.<id>``; put the type back so
    a skip reads the same in every scan."""
    kind, _, name = resource.partition(".")
    if kind in ("resource", "data") and name in types_by_name:
        return f"{'data.' if kind == 'data' else ''}{types_by_name[name]}.{name}"
    return resource


def types_by_name(stack_files: Sequence[Path]) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in stack_files:
        config = json.loads(path.read_text())
        for block in ("resource", "data"):
            for resource_type, resources in config.get(block, {}).items():
                found.update({name: resource_type for name in resources})
    return found


def run_checkov(
    checkov: Path, scan: str, targets: Sequence[str], inputs: int, names: Mapping[str, str] | None = None
) -> ScanResult:
    """One checkov run; offline (``--skip-download``) and without any checkov config file of its own."""
    started = time.monotonic()
    command = [
        str(checkov),
        "--framework",
        SCANS[scan],
        *targets,
        "--skip-download",
        "--quiet",
        "--compact",
        "--output",
        "json",
    ]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(command, check=False, cwd=WORK_DIR, capture_output=True, text=True, env=env)
    # checkov exits 1 when a check fails: that is a result, not a crash. Anything else is.
    if result.returncode not in (0, 1):
        raise PolicyError(f"checkov {scan} crashed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    try:
        reports = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"checkov {scan}: unreadable output ({exc}):\n{result.stderr[-3000:]}") from exc
    outcome = ScanResult(scan, inputs)
    for report in reports if isinstance(reports, list) else [reports]:
        if "results" not in report:  # no resources of this framework found: checkov prints an empty summary
            continue
        outcome.passed += report["summary"]["passed"]
        outcome.parsing_errors += report["summary"].get("parsing_errors", 0)
        for failed in report["results"]["failed_checks"]:
            resource = typed_address(failed["resource"], names or {})
            outcome.failed.append(
                Finding(scan, failed["check_id"], failed["check_name"], resource, failed.get("file_path", ""))
            )
    if outcome.parsing_errors:
        raise PolicyError(
            f"checkov {scan}: {outcome.parsing_errors} file(s) could not be parsed:\n{result.stderr[-3000:]}"
        )
    outcome.seconds = time.monotonic() - started
    return outcome


def checkov_json_copy(stack_json: Path, into: Path) -> Path:
    """The stack's JSON as checkov 3.3's terraform_json parser accepts it.

    The parser raises on the string ``terraform.required_version``, and on the list of ``import`` blocks (the account
    stack adopts an existing role), and then reports the whole file as a parsing error; neither carries anything a
    check looks at (the imported resource is checked as declared), so the copy leaves them out.
    """
    config = json.loads(stack_json.read_text())
    config.get("terraform", {}).pop("required_version", None)
    config.pop("import", None)
    target = into / f"{stack_json.parent.name}.tf.json"
    target.write_text(json.dumps(config, indent=1))
    return target


def scan_all(checkov: Path, workspaces: Sequence[str], plans: PlanSet, synth_aws_dir: Path) -> list[ScanResult]:
    modules = sorted(str(p) for p in (ROOT / "tf_modules").iterdir() if p.is_dir())
    json_dir = WORK_DIR / "checkov-json"
    shutil.rmtree(json_dir, ignore_errors=True)
    json_dir.mkdir(parents=True)
    stacks = [checkov_json_copy(d / "cdk.tf.json", json_dir) for d in sorted((synth_aws_dir / "stacks").iterdir())]
    # Examples are callers of the modules, not the modules: their stand-in resources are not the product.
    module_args = ["--directory", str(ROOT / "tf_modules"), "--skip-path", "/examples/", "--skip-path", r"\.terraform"]
    jobs = [
        ("modules", module_args, len(modules), None),
        ("synth", ["--file", *map(str, stacks)], len(stacks), types_by_name(stacks)),
        ("plan", ["--file", *map(str, plans.files)], len(plans.files), None),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda job: run_checkov(checkov, *job), jobs))
