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

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from python_stacks.config import EXAMPLE_AWS_ZONE, SELECTING_VARIABLES
from tools.tf import CACHE_DIR

ROOT = Path(__file__).resolve().parent.parent
WORKSPACES = ("dev", "staging", "prod")
CHECKOV_VENV = ROOT / ".venv-checkov"
CHECKOV_REQUIREMENTS = ROOT / "requirements-checkov.txt"
SKIP_FILE = ROOT / "policy" / "checkov.yaml"
PLANS_DIR = CACHE_DIR / "plans"
WORK_DIR = CACHE_DIR / "policy"
# Variables that select a deployment: the gate checks the project's own workspaces, whatever the caller's shell says.
_CHECK_ID = re.compile(r"^CKV2?_AWS_\d+$")
_RESOURCE_TYPE = re.compile(r"aws_[a-z0-9_]+\.")


class PolicyError(RuntimeError):
    """The gate could not run (checkov not installable, a plan failed, the skip list is malformed)."""


# --- the skip list -------------------------------------------------------------------------------------------------


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


# --- checkov -------------------------------------------------------------------------------------------------------


def _requirements_digest() -> str:
    return hashlib.sha256(CHECKOV_REQUIREMENTS.read_bytes()).hexdigest()


def ensure_checkov() -> Path:
    """checkov from its own virtualenv (its pins clash with ours), (re)installed when the requirements change."""
    checkov = CHECKOV_VENV / "bin" / "checkov"
    stamp = CHECKOV_VENV / ".requirements.sha256"
    digest = _requirements_digest()
    if checkov.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return checkov
    started = time.monotonic()
    print(
        f"policy: installing {CHECKOV_REQUIREMENTS.name} into {CHECKOV_VENV.name} (first run, about a minute)",
        flush=True,
    )
    python = CHECKOV_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
    result = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(CHECKOV_REQUIREMENTS),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not checkov.exists():
        raise PolicyError(f"installing checkov failed:\n{result.stdout}{result.stderr}")
    stamp.write_text(digest + "\n")
    print(f"policy: checkov installed in {time.monotonic() - started:.0f}s", flush=True)
    return checkov


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


# scan name -> checkov framework
SCANS = {"modules": "terraform", "synth": "terraform_json", "plan": "terraform_plan"}


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


# --- synthesized stacks and plans ------------------------------------------------------------------------------------


def deployment_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SELECTING_VARIABLES}
    env.update(overrides)
    return env



@dataclass(frozen=True)
class StackPlanFiles:
    """``terraform show -json`` of one stack's plan, and the synthesized stack folder it was made from."""

    stack: str
    workspace: str
    plan: Path
    stack_dir: Path
    state: Path | None = None  # the state the plan left, where the gate applied it (data-protection)


@dataclass(frozen=True)
class PlanSet:
    stacks: tuple[StackPlanFiles, ...]
    inputs: str = ""  # digest of the synthesized stacks the plans were made from (see inputs_digest)

    @property
    def files(self) -> list[Path]:
        return [s.plan for s in self.stacks]


def inputs_digest(stack_dirs: Sequence[Path], endpoint: str) -> str:
    """What a plan depends on in this repository: the synthesized stacks, whose module sources and Lambda ZIP are
    referenced by content hash. The emulator endpoint (a free port) is left out."""
    digest = hashlib.sha256()
    for directory in sorted(stack_dirs, key=lambda d: d.name):
        text = (directory / "cdk.tf.json").read_text().replace(endpoint, "<endpoint>")
        digest.update(directory.name.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()


def synthesize(workspaces: Sequence[str], outdir: Path, env: Mapping[str, str]) -> list[Path]:
    """Synthesize in-process (the bindings load once per process); returns the stack folders."""
    from python_stacks import fast_imports

    fast_imports.prepare()
    from python_stacks.stacks import load_configs
    from tools.synth import synth

    return synth(load_configs(workspaces, env), outdir)


def produce_plans(workspaces: Sequence[str], root: Path, endpoint: str, plans_dir: Path) -> PlanSet:
    """Synthesize for the emulator at ``endpoint``, plan and apply each data-protection stack (the trading stack's
    KMS alias lookup needs the key), then plan each trading stack, and the account-wide stack once; every plan is
    written as JSON into ``plans_dir``: ``<ws>.json`` (trading), ``<ws>.data-protection.json``, ``<stack>.json``.

    ``root`` must be fresh for a fresh emulator: local state lives in ``root/.state``, as the stacks expect it three
    levels above their folder (``root/cdktf.out/stacks/<stack>``).
    """
    from python_stacks.stacks import load_configs
    from tools.deploy import Deployment, StackRun

    env = deployment_env(TARGET="local", LOCAL_AWS_ENDPOINT=endpoint)
    outdir = root / "cdktf.out"
    stack_dirs = synthesize(workspaces, outdir, env)
    plans_dir.mkdir(parents=True, exist_ok=True)

    def show(stack: StackRun, plan_file: Path | None, target: Path) -> Path:
        args = ["show", "-json", "-no-color", *([str(plan_file)] if plan_file else [])]
        target.write_text(stack.run(args, stream=False))
        return target

    def plan(stack: StackRun, name: str) -> Path:
        plan_file = stack.directory / f"{name}.tfplan"
        stack.run(["plan", "-input=false", "-no-color", "-lock=false", f"-out={plan_file}"], stream=False)
        return plan_file

    def one(deployment: Deployment) -> list[StackPlanFiles]:
        config = deployment.config
        deployment.prepare(synthesize=False)
        ws, data, trading = config.workspace, deployment.data, deployment.trading
        data_plan = plan(data, "policy")
        data_json = show(data, data_plan, plans_dir / f"{ws}.data-protection.json")
        data.run(["apply", "-input=false", "-no-color", str(data_plan)], stream=False)
        state_json = show(data, None, plans_dir / f"{ws}.data-protection.state.json")
        trading_json = show(trading, plan(trading, "policy"), plans_dir / f"{ws}.json")
        print(f"policy: [{ws}] planned {trading.directory.name} and {data.directory.name}", flush=True)
        return [
            StackPlanFiles(trading.directory.name, ws, trading_json, trading.directory),
            StackPlanFiles(data.directory.name, ws, data_json, data.directory, state_json),
        ]

    def account(directory: Path) -> list[StackPlanFiles]:
        # The same configuration in every workspace (python_stacks/account_stack.py): one plan covers them all.
        stack = StackRun(directory, "default", "[account]")
        stack.init()
        target = show(stack, plan(stack, "policy"), plans_dir / f"{directory.name}.json")
        print(f"policy: planned {directory.name}", flush=True)
        return [StackPlanFiles(directory.name, "default", target, directory)]

    configs = load_configs(workspaces, env)
    deployments = [Deployment(config, outdir) for config in configs]
    per_workspace = {stack.directory for d in deployments for stack in (d.data, d.trading)}
    shared = [d for d in stack_dirs if d not in per_workspace]
    # jsii is single-threaded, Terraform is not: synthesize once above, then plan the workspaces side by side.
    with ThreadPoolExecutor(max_workers=len(configs) + len(shared)) as pool:
        futures = [pool.submit(one, d) for d in deployments] + [pool.submit(account, d) for d in shared]
        stacks = tuple(files for future in futures for files in future.result())
    return PlanSet(stacks, inputs_digest(stack_dirs, endpoint))


def plans_with_private_emulator(workspaces: Sequence[str], root: Path, plans_dir: Path) -> PlanSet:
    """``produce_plans`` against a moto server of its own on a free port, stopped (by PID) afterwards."""
    from tools.emulator import Emulator

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    emulator = Emulator.private()
    try:
        plans = produce_plans(workspaces, root, emulator.endpoint, plans_dir)
    finally:
        emulator.stop()
    write_manifest(plans, plans_dir)
    return plans


MANIFEST = "manifest.json"


def write_manifest(plans: PlanSet, plans_dir: Path) -> None:
    stacks = [
        {
            "stack": s.stack,
            "workspace": s.workspace,
            "plan": str(s.plan),
            "stack_dir": str(s.stack_dir),
            "state": str(s.state) if s.state else None,
        }
        for s in plans.stacks
    ]
    (plans_dir / MANIFEST).write_text(json.dumps({"inputs": plans.inputs, "stacks": stacks}, indent=1))


def current_inputs(workspaces: Sequence[str]) -> str:
    """inputs_digest of what the stacks synthesize to now (a throwaway synthesis, a few seconds)."""
    placeholder = "http://127.0.0.1:9"
    outdir = WORK_DIR / "inputs-check"
    shutil.rmtree(outdir, ignore_errors=True)
    stack_dirs = synthesize(workspaces, outdir, deployment_env(TARGET="local", LOCAL_AWS_ENDPOINT=placeholder))
    return inputs_digest(stack_dirs, placeholder)


def existing_plans(workspaces: Sequence[str], plans_dir: Path, inputs: str) -> PlanSet:
    """The plans in ``plans_dir``, if they were made from exactly the stacks that synthesize now."""
    try:
        manifest = json.loads((plans_dir / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise PolicyError(f"no plans in {plans_dir}") from exc
    stacks = tuple(
        StackPlanFiles(
            m["stack"], m["workspace"], Path(m["plan"]), Path(m["stack_dir"]), Path(m["state"]) if m["state"] else None
        )
        for m in manifest.get("stacks", [])
        if m["workspace"] in (*workspaces, "default")
    )
    if manifest.get("inputs") != inputs or {s.workspace for s in stacks} < set(workspaces):
        raise PolicyError(f"the plans in {plans_dir} were made from other stacks or workspaces than synthesize now")
    missing = [p for s in stacks for p in (s.plan, s.stack_dir / "cdk.tf.json") if not p.exists()]
    if missing:
        raise PolicyError(f"{missing[0]} is missing")
    return PlanSet(stacks, inputs)


def reusable_plans(workspaces: Sequence[str], plans_dir: Path = PLANS_DIR) -> PlanSet | None:
    """The plans of the last gate run when they are still current (the policy tests skip making them again)."""
    try:
        return existing_plans(workspaces, plans_dir, current_inputs(workspaces))
    except PolicyError:
        return None


# --- the gate ------------------------------------------------------------------------------------------------------


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


def run_gate(workspaces: Sequence[str], reuse_plans: bool) -> bool:
    from tools.module_docs import module_dirs, stale_readmes

    started = time.monotonic()
    ok = True
    problems = stale_readmes(module_dirs(), write=False)
    for problem in problems:
        print(f"policy: module docs: {problem}", flush=True)
    print(f"policy: module READMEs: {'stale' if problems else 'up to date'}", flush=True)
    ok &= not problems
    skips = load_skips()
    checkov = ensure_checkov()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    synth_aws_dir = WORK_DIR / "synth-aws"
    shutil.rmtree(synth_aws_dir, ignore_errors=True)
    # The real-AWS synthesis is what a deployment runs (the local one adds emulator endpoints and test credentials).
    step = time.monotonic()
    synthesize(workspaces, synth_aws_dir, deployment_env(TARGET="aws", **EXAMPLE_AWS_ZONE))
    print(f"policy: synthesized {', '.join(workspaces)} for TARGET=aws ({time.monotonic() - step:.0f}s)", flush=True)
    step = time.monotonic()
    if reuse_plans:
        try:
            plans = existing_plans(workspaces, PLANS_DIR, current_inputs(workspaces))
        except PolicyError as exc:
            raise PolicyError(f"--reuse-plans: {exc}; run without --reuse-plans") from exc
        print(f"policy: reusing the current plans in {PLANS_DIR.relative_to(ROOT)}", flush=True)
    else:
        plans = plans_with_private_emulator(workspaces, WORK_DIR / "plans-root", PLANS_DIR)
        print(f"policy: {len(plans.stacks)} plans in {time.monotonic() - step:.0f}s", flush=True)
    verdict = judge(scan_all(checkov, workspaces, plans, synth_aws_dir), skips)
    print_summary(verdict)
    print(f"policy: done in {time.monotonic() - started:.0f}s")
    return ok and verdict.ok


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", action="append", choices=WORKSPACES, help="default: all workspaces")
    parser.add_argument(
        "--reuse-plans",
        action="store_true",
        help=f"scan the plans already in {PLANS_DIR.relative_to(ROOT)} (no emulator, no Terraform)",
    )
    args = parser.parse_args(argv)
    from tools.deploy import DeployError

    try:
        return 0 if run_gate(tuple(args.workspace or WORKSPACES), args.reuse_plans) else 1
    except (PolicyError, DeployError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
