"""Session-wide fixtures: synthesize each workspace once, and a moto server for tests that run real Terraform."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from python_stacks import fast_imports

# Before any cdktf import: jsii caches and temporary folders go to the project cache.
fast_imports.prepare()

from python_stacks.config import EXAMPLE_AWS_ZONE, SELECTING_VARIABLES  # noqa: E402
from python_stacks.workspace import WORKSPACES as _SETTINGS  # noqa: E402
from tests.support.stacks import Synthesized, synthesize  # noqa: E402
from tools.emulator import Emulator  # noqa: E402

WORKSPACES = tuple(_SETTINGS)  # dev, staging, prod: python_stacks/workspace.py is the one list


@pytest.fixture(scope="session")
def lambda_zip() -> Path:
    """The shared ZIP the stacks deploy (``make package``; a no-op when it is up to date)."""
    subprocess.run([sys.executable, "-m", "tools.package"], check=True, stdout=subprocess.DEVNULL)
    from python_stacks.aws.lambda_package import lambda_zip_path

    return lambda_zip_path()


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, lambda_zip: Path) -> Synthesized:
    """All workspaces, local target (the default), synthesized once per test session."""
    return synthesize(WORKSPACES, tmp_path_factory.mktemp("synth-local"), {"TARGET": "local"})


@pytest.fixture(scope="session")
def synth_aws(tmp_path_factory: pytest.TempPathFactory, lambda_zip: Path) -> Synthesized:
    """All workspaces for the real-AWS target."""
    return synthesize(WORKSPACES, tmp_path_factory.mktemp("synth-aws"), {"TARGET": "aws", **EXAMPLE_AWS_ZONE})


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """A private moto server on a free loopback port, stopped by PID at the end of the session."""
    server = Emulator.private()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def clean_env() -> dict[str, str]:
    """The process environment without the variables that select a deployment, nor those of an outer make (under
    `make test`, a make the test runs would otherwise be a sub-make and print `make[2]: ...`)."""
    outer_make = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")
    return {k: v for k, v in os.environ.items() if k not in SELECTING_VARIABLES and k not in outer_make}
