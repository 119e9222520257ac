"""The standard cdktf CLI (the pinned one, run as the README says) and make on one project and one state.

On a private copy of the project (a fresh clone: no ZIP, no .state/, no cdktf.out) against the session's private
emulator, in workspace dev with a suffix and domain no other test uses. The tests run in order and build on each
other:

1. under the CLI a user error is one line and exit status 2, a failed ZIP build too, and ``cdktf synth`` builds the
   ZIP itself;
2. the account stack is applied whatever its state holds: here a state with only a data source;
3. ``cdktf deploy '*'`` deploys every stack of dev in one command, in dependency order, with no null output;
4. make plans only the documented emulator noise on the CLI's state and prints its outputs, and make's account
   step adopts the role when the state is gone (a second machine, a wiped .state/);
5. another workspace's ``cdktf diff`` finds the account stack ready and plans to adopt the role;
6. ``cdktf destroy '*'`` removes everything, the account role included, after make applied the account stack last.

A second full ``make deploy`` would only re-apply the noise of step 4 (≈ 3 minutes of provider waits), so the
plans stand for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from python_stacks.config import SELECTING_VARIABLES
from python_stacks.constants import REGION
from python_stacks.stacks import load_configs
from python_stacks.stacks.account import cloudwatch_role_name
from tests.e2e.emulator_noise import EMULATOR_NOISE
from tests.support.sweep import kms_keys_pending_deletion, leftovers
from tools.cdktf_cli import ensure_cli
from tools.deploy import Deployment
from tools.emulator import Emulator, aws_client
from tools.tf import CACHE_DIR

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = "clidev"
DOMAIN = f"{SUFFIX}.example.com"  # api.dev.clidev.example.com: the sweep finds it by its suffix
OFFLINE = "--skip-provider-lock"  # the CLI's provider lock step needs the Terraform registry (README)
TIMEOUT = 1800
ROLE_LOOKUP = "data.aws_iam_roles.existing-cloudwatch-role"


@dataclass
class Project:
    root: Path
    env: dict[str, str]
    endpoint: str
    invoke_url: str = ""

    @property
    def outdir(self) -> Path:
        return self.root / "cdktf.out"

    def run(self, command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=self.root, env={**self.env, **env}, capture_output=True, text=True, timeout=TIMEOUT
        )

    def cdktf(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """The documented way: tools/cdktf-cli/cdktf of the copy."""
        return self.run([str(self.root / "tools" / "cdktf-cli" / "cdktf"), *args], **env)

    def make(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(["make", "--no-print-directory", *args])

    def deployment(self) -> Deployment:
        (config,) = load_configs(["dev"], self.env)
        return Deployment(config, self.outdir)

    def roles(self) -> list[str]:
        return [role["RoleName"] for role in aws_client(self.endpoint, "iam").list_roles()["Roles"]]


def copy_project(target: Path) -> None:
    """What a clone holds (tracked and new, unignored files), with their times, so make sees nothing to rebuild."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    # Installed once per checkout, shared: the virtualenv and the pinned CLI (installed here first if need be).
    (target / ".venv").symlink_to(ROOT / ".venv")
    ensure_cli()
    (target / "tools" / "cdktf-cli" / "node_modules").symlink_to(ROOT / "tools" / "cdktf-cli" / "node_modules")


@pytest.fixture(scope="module")
def project(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("cdktf-cli") / "trading"
    copy_project(root)
    env = {k: v for k, v in os.environ.items() if k not in (*SELECTING_VARIABLES, "NODE_OPTIONS")}
    env.update(
        {
            "TF_WORKSPACE": "dev",
            "ENVIRONMENT_SUFFIX": SUFFIX,
            "TRADING_DOMAIN": DOMAIN,
            "TARGET": "local",
            "LOCAL_AWS_ENDPOINT": emulator.endpoint,
            # The checkout's caches: Lambda dependencies for the ZIP, jsii, the Terraform CLI config, emulator PIDs.
            "TRADING_CACHE_DIR": str(CACHE_DIR),
            "CI": "1",  # plain progress lines from the CLI
            "FORCE_COLOR": "0",
        }
    )
    yield Project(root, env, emulator.endpoint)


def by_stack(output: str, stacks: list[str]) -> list[tuple[str, str]]:
    """(stack, line) for every line of the CLI's output: it names the stack on the first line of each chunk only."""
    current, attributed = "", []
    for line in output.splitlines():
        named = next((s for s in stacks if re.match(rf"{re.escape(s)}\s", line)), None)
        current = named or current
        attributed.append((current, line[len(named) :].strip() if named else line.strip()))
    return attributed


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_under_the_cli_a_user_error_is_one_line_and_a_fresh_clone_builds_its_zip(project: Project) -> None:
    wrong = project.cdktf("deploy", "*", "--auto-approve", TF_WORKSPACE="qa")
    assert (wrong.returncode, wrong.stderr.splitlines()) == (
        2,
        ["error: unknown workspace 'qa': valid workspaces are dev, staging, prod"],
    ), wrong.stderr
    # A fresh clone has no ZIP; building it can fail for reasons of the machine (here: no CPython 3.12).
    zip_path = project.root / "dist" / "lambda.zip"
    assert not zip_path.exists()
    failed = project.cdktf("synth", LAMBDA_PYTHON="/bin/false")
    assert failed.stderr.splitlines() == [
        "error: building the shared Lambda ZIP failed: /bin/false is not CPython 3.12 (`make package` shows it all)"
    ], failed.stdout + failed.stderr
    assert failed.returncode == 2 and "Traceback" not in failed.stdout
    ok(project.cdktf("synth"))
    assert zip_path.is_file(), "the CLI path built the ZIP"
    stacks = sorted(p.name for p in (project.outdir / "stacks").iterdir())
    assert stacks == ["account-settings", f"data-protection-{SUFFIX}", f"trading-{SUFFIX}"]


def test_a_state_that_holds_only_a_data_source_does_not_pass_for_applied(project: Project) -> None:
    # What a failed first apply can leave behind. The tooling used to skip the stack then, role missing.
    deployment = project.deployment()
    account = deployment.account
    account.init()
    account.run(["apply", "-input=false", "-no-color", "-auto-approve", f"-target={ROLE_LOOKUP}"], stream=False)
    assert account.state_resources() == [ROLE_LOOKUP]
    deployment.ensure_account_settings()
    assert cloudwatch_role_name(REGION) in project.roles()


def test_the_cli_deploys_every_stack_of_dev_in_one_command(project: Project, tmp_path: Path) -> None:
    outputs_file = tmp_path / "outputs.json"
    out = ok(project.cdktf("deploy", "*", "--auto-approve", "--no-color", OFFLINE, "--outputs-file", str(outputs_file)))
    # Dependencies first: the trading stack reads nothing before both others are done.
    lines = by_stack(out, ["account-settings", f"data-protection-{SUFFIX}", f"trading-{SUFFIX}"])
    done = {stack: i for i, (stack, line) in enumerate(lines) if line.startswith(("Apply complete!", "No changes."))}
    assert len(done) == 3, out
    first_read = next(
        i for i, (stack, line) in enumerate(lines) if stack == f"trading-{SUFFIX}" and "Reading..." in line
    )
    assert done["account-settings"] < first_read and done[f"data-protection-{SUFFIX}"] < first_read
    outputs = json.loads(outputs_file.read_text())
    trading = outputs[f"trading-{SUFFIX}"]
    assert re.fullmatch(r"https://[a-z0-9]+\.execute-api\.us-east-1\.amazonaws\.com/dev", trading["api_invoke_url"])
    assert trading["api_custom_domain_url"] == f"https://api.dev.{DOMAIN}/"
    assert "db_final_snapshot_identifier" not in trading  # dev takes no final snapshot
    nulls = [f"{stack}.{name}" for stack, values in outputs.items() for name, value in values.items() if value is None]
    assert nulls == []
    role_arn = outputs["account-settings"]["apigateway_cloudwatch_role_arn"]
    assert role_arn.endswith(f":role/{cloudwatch_role_name(REGION)}")
    # One state per stack, in the workspace's Terraform workspace: where make looks for it.
    for stack in ("account-settings", f"data-protection-{SUFFIX}", f"trading-{SUFFIX}"):
        assert (project.root / ".state" / stack / "dev" / "terraform.tfstate").is_file(), stack
    project.invoke_url = trading["api_invoke_url"]


def test_make_finds_the_state_the_cli_left_and_plans_only_the_documented_emulator_noise(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment = project.deployment()
    deployment.prepare(synthesize=False)
    deployment.account.init()
    assert deployment.account.plan_changes() == []
    assert deployment.data.plan_changes() == []
    changes = {(c.address, c.actions, c.attributes) for c in deployment.trading.plan_changes()}
    assert changes <= EMULATOR_NOISE, f"undocumented drift: {sorted(changes - EMULATOR_NOISE)}"
    shown = ok(project.make("outputs", "WORKSPACE=dev"))
    assert f"API invoke URL      {project.invoke_url}" in shown
    # A second machine, or a wiped .state/: the role exists, this state does not hold it. make's account step (the
    # one that failed with EntityAlreadyExists) adopts it.
    shutil.rmtree(project.root / ".state" / "account-settings")
    capsys.readouterr()
    deployment.ensure_account_settings()
    progress = capsys.readouterr().out
    assert f"Import complete [id={cloudwatch_role_name(REGION)}]" in progress
    assert "Resources: 1 imported" in progress


def test_another_workspace_finds_the_account_stack_ready_under_the_cli(project: Project) -> None:
    # Terraform's init refuses TF_WORKSPACE=staging once the account state holds dev but not staging; the CLI's
    # app registers the workspace, and the plan adopts the role dev's state already holds.
    plan = ok(project.cdktf("diff", "account-settings", "--no-color", OFFLINE, TF_WORKSPACE="staging"))
    assert f'(imported from "{cloudwatch_role_name(REGION)}")' in plan and "Plan: 1 to import" in plan, plan
    assert (project.root / ".state" / "account-settings" / "staging").is_dir()


def test_cdktf_destroy_removes_everything(project: Project) -> None:
    pending = kms_keys_pending_deletion(project.endpoint)
    ok(project.cdktf("destroy", "*", "--auto-approve", "--no-color", OFFLINE))
    assert leftovers(project.endpoint, SUFFIX) == {}
    assert kms_keys_pending_deletion(project.endpoint) == pending + 1
    assert cloudwatch_role_name(REGION) not in project.roles(), "the account stack, applied last by make, went too"
