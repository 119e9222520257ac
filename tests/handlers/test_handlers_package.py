"""The shared Lambda ZIP: reproducible, complete, small, and importable as Lambda would import it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tools import package

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = ("handlers.api.handler", "handlers.migrate.handler")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("zip")
    return [package.build(folder / f"build-{number}" / "lambda.zip") for number in (1, 2)]


def test_two_builds_are_byte_for_byte_identical(builds: list[dict[str, Any]]) -> None:
    first, second = builds
    assert first["sha256"] == second["sha256"]
    assert Path(first["path"]).read_bytes() == Path(second["path"]).read_bytes()


def test_size_budget(builds: list[dict[str, Any]]) -> None:
    assert builds[0]["size_bytes"] <= 1.5 * 1024 * 1024


def test_entries_are_normalized(builds: list[dict[str, Any]]) -> None:
    with zipfile.ZipFile(builds[0]["path"]) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert len(names) == len(set(names))
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    assert not [name for name in names if name.startswith("bin/") or name.endswith(("/RECORD", "/INSTALLER"))]


def test_contents(builds: list[dict[str, Any]]) -> None:
    with zipfile.ZipFile(builds[0]["path"]) as archive:
        names = set(archive.namelist())
    for required in (
        "handlers/api.py",
        "handlers/migrate.py",
        "handlers/__pycache__/api.cpython-312.pyc",
        "handlers/routes/trades.py",
        "handlers/routes/__pycache__/trades.cpython-312.pyc",
        "pymysql/__init__.py",
        "pymysql/__pycache__/connections.cpython-312.pyc",
        "aws_lambda_powertools/__init__.py",
        "aws_lambda_powertools/event_handler/__pycache__/api_gateway.cpython-312.pyc",
        "jmespath/__init__.py",
        "typing_extensions.py",
    ):
        assert required in names, required
    top_level = {name.split("/")[0] for name in names}
    assert not top_level & {"boto3", "botocore", "s3transfer", "pydantic", "tests", "tools", "python_stacks"}
    assert not [name for name in names if "swagger-ui" in name]
    # Bytecode only for CPython 3.12 (the runtime), and only where the source is shipped too.
    pycs = [name for name in names if name.endswith(".pyc")]
    assert pycs and all(name.endswith(".cpython-312.pyc") for name in pycs)
    for pyc in pycs:
        folder, _, file = pyc.rpartition("__pycache__/")
        assert f"{folder}{file.split('.')[0]}.py" in names, pyc


def test_bytecode_is_unchecked_hash_with_relative_paths(builds: list[dict[str, Any]]) -> None:
    with zipfile.ZipFile(builds[0]["path"]) as archive:
        data = archive.read("handlers/__pycache__/api.cpython-312.pyc")
    flags = int.from_bytes(data[4:8], "little")
    assert flags == 0b01  # hash-based, check_source off: valid whatever the file timestamps
    assert b"/work/" not in data and str(ROOT).encode() not in data


def test_lock_matches_the_direct_pins() -> None:
    direct = package.read_pins(package.REQUIREMENTS)
    locked = package.check_lock()
    assert direct.items() <= locked.items()
    assert set(locked) == {"aws-lambda-powertools", "pymysql", "jmespath", "typing-extensions"}


def test_entry_points_import_from_the_unzipped_artifact(builds: list[dict[str, Any]], tmp_path: Path) -> None:
    with zipfile.ZipFile(builds[0]["path"]) as archive:
        archive.extractall(tmp_path)
    script = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "found = {}\n"
        f"for entry in {list(ENTRY_POINTS)!r}:\n"
        "    module, function = entry.rsplit('.', 1)\n"
        "    found[entry] = callable(getattr(importlib.import_module(module), function))\n"
        "import pymysql, aws_lambda_powertools\n"
        "found['pymysql'] = pymysql.__file__\n"
        "found['powertools'] = aws_lambda_powertools.__file__\n"
        "print(json.dumps(found))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), **package.PLACEHOLDER_ENV, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert all(found[entry] is True for entry in ENTRY_POINTS)
    assert found["pymysql"].startswith(str(tmp_path)) and found["powertools"].startswith(str(tmp_path))
