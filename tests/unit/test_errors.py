"""Every user error is one line on stderr and exit status 2, whichever entry point meets it: make, ``python app.py``
(the cdktf CLI's app command), the tools, and the pinned CLI's wrapper — and never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from python_stacks import EXIT_USER_ERROR, UserError, exit_on_user_error, one_line
from python_stacks.aws.lambda_package import MissingArtifactError, rebuild_reason
from python_stacks.backend import BackendConfigError
from python_stacks.config import ConfigError
from python_stacks.target import InvalidTargetError
from python_stacks.workspace import InvalidSuffixError, UnknownWorkspaceError
from tools.cdktf_cli import CliSetupError, reaches_aws, synthesizes
from tools.synth import PackageFailedError
from tools.tf import TerraformSetupError

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "error: unknown workspace 'qa': valid workspaces are dev, staging, prod"


def test_every_user_error_derives_from_the_one_base_class() -> None:
    for error in (
        ConfigError,
        InvalidSuffixError,
        UnknownWorkspaceError,
        InvalidTargetError,
        BackendConfigError,
        MissingArtifactError,
        TerraformSetupError,
        CliSetupError,
        PackageFailedError,
    ):
        assert issubclass(error, UserError), error


def test_a_user_error_is_one_line_and_exit_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    def fail() -> int:
        raise ConfigError("first line\n  second line")

    assert exit_on_user_error(fail) == EXIT_USER_ERROR == 2
    assert capsys.readouterr().err == "error: first line second line\n"
    assert one_line(UnknownWorkspaceError("x")) == "error: x"


def test_anything_else_keeps_its_traceback() -> None:
    def bug() -> int:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        exit_on_user_error(bug)


PY = sys.executable
CASES = {
    "app.py, unknown workspace": ([PY, "app.py"], {"TF_WORKSPACE": "qa"}, UNKNOWN),
    "app.py, no workspace": (
        [PY, "app.py"],
        {},
        "error: no workspace selected: set TF_WORKSPACE to one of: dev, staging, prod",
    ),
    "app.py, bad suffix": (
        [PY, "app.py"],
        {"TF_WORKSPACE": "dev", "ENVIRONMENT_SUFFIX": "Dev_1"},
        "error: invalid environment suffix 'Dev_1': use 1-21 lower-case letters or digits, words joined by single '-'",
    ),
    "app.py, bad target": (
        [PY, "app.py"],
        {"TF_WORKSPACE": "dev", "TARGET": "gcp"},
        "error: unknown TARGET 'gcp': valid targets are local, aws",
    ),
    "app.py, half a backend": (
        [PY, "app.py"],
        {"TF_WORKSPACE": "dev", "TF_BACKEND": "s3"},
        "error: TF_BACKEND=s3 needs TF_STATE_BUCKET (the state bucket's name)",
    ),
    "app.py, no such ZIP": (
        [PY, "app.py"],
        {"TF_WORKSPACE": "dev", "TRADING_LAMBDA_ZIP": "/nonexistent/lambda.zip"},
        "error: the shared Lambda ZIP /nonexistent/lambda.zip does not exist: run `make package` first",
    ),
    "tools.synth": ([PY, "-m", "tools.synth", "qa"], {}, UNKNOWN),
    "tools.deploy": ([PY, "-m", "tools.deploy", "deploy", "--workspace", "qa"], {}, UNKNOWN),
    "tools.tf": (
        [PY, "-m", "tools.tf", "version"],
        {"TERRAFORM": "no-such-terraform"},
        "error: terraform not found on PATH (looked for 'no-such-terraform'); install Terraform >= 1.5",
    ),
    # Checked before the CLI is installed or started: no npm, no node needed to learn the workspace is wrong.
    "cdktf wrapper": ([str(ROOT / "tools" / "cdktf-cli" / "cdktf"), "synth"], {"TF_WORKSPACE": "qa"}, UNKNOWN),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_entry_point_reports_a_user_error_in_one_line(case: str, clean_env: dict[str, str]) -> None:
    command, env, expected = CASES[case]
    result = subprocess.run(command, cwd=ROOT, env={**clean_env, **env}, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr.splitlines()) == (2, [expected]), result.stdout + result.stderr
    assert "Traceback" not in result.stdout


def test_make_passes_the_one_line_through(clean_env: dict[str, str]) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "synth", "WORKSPACE=qa"],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert (result.returncode, ours) == (2, [UNKNOWN]), result.stdout + result.stderr


def test_the_wrapper_prepares_only_what_the_command_needs() -> None:
    assert synthesizes(["deploy", "*", "--auto-approve"]) and synthesizes(["synth", "--hcl"])
    assert synthesizes(["outputs"]) and synthesizes(["plan", "trading-dev"])
    assert not synthesizes(["deploy", "--skip-synth"]) and not synthesizes(["deploy", "--help"])
    assert not synthesizes(["--version"]) and not synthesizes(["debug"]) and not synthesizes([])
    # The local emulator is started only for commands that run Terraform against it, --skip-synth or not.
    assert reaches_aws(["deploy", "*"]) and reaches_aws(["destroy", "--skip-synth"]) and reaches_aws(["output"])
    assert not reaches_aws(["synth"]) and not reaches_aws(["list"]) and not reaches_aws(["deploy", "-h"])


def test_the_zip_is_rebuilt_when_missing_or_older_than_what_it_is_built_from(tmp_path: Path) -> None:
    (tmp_path / "handlers").mkdir()
    (tmp_path / "tools").mkdir()
    sources = [
        tmp_path / "handlers" / "api.py",
        tmp_path / "handlers" / "requirements.lock",
        tmp_path / "tools" / "package.py",
    ]
    for source in sources:
        source.write_text("x")
        os.utime(source, (1_000, 1_000))
    built = tmp_path / "dist" / "lambda.zip"
    assert rebuild_reason(built, tmp_path) == "dist/lambda.zip is missing"
    built.parent.mkdir()
    built.write_bytes(b"zip")
    os.utime(built, (2_000, 2_000))
    assert rebuild_reason(built, tmp_path) is None
    os.utime(sources[0], (3_000, 3_000))
    assert rebuild_reason(built, tmp_path) == "handlers/api.py changed since it was built"
    (tmp_path / "handlers" / "README.md").write_text("not a build input")
    os.utime(sources[0], (1_000, 1_000))
    assert rebuild_reason(built, tmp_path) is None
