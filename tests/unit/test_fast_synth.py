"""The fast binding imports (python_stacks/fast_imports.py) synthesize exactly what the stock import path does.

One subprocess per path synthesizes every workspace (the stock one pays the ~10 s package import once); the two
run side by side and their output trees are compared file by file, byte for byte, module asset hashes included.
Each subprocess also reports which path it really took, so the comparison can never be between two stock runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from python_stacks import fast_imports
from python_stacks.fast_imports import HOOK_NAME, NODE_HOOK, NODE_PACKAGE
from python_stacks.workspace import WORKSPACES

ROOT = Path(__file__).resolve().parents[2]

# Runs tools.synth, then reports how the bindings were loaded.
DRIVER = """
import json, os, sys
from tools.synth import main
code = main(sys.argv[1:])
package = sys.modules.get("cdktf_cdktf_provider_aws")
print("FAST-SYNTH-REPORT " + json.dumps({
    "code": code,
    "fast": bool(getattr(package, "__trading_fast__", False)),
    "submodules": sum(1 for name in sys.modules if name.startswith("cdktf_cdktf_provider_aws.")),
    "node_hook": os.environ.get("NODE_OPTIONS", "").count(HOOK_NAME),
}))
""".replace("HOOK_NAME", repr(HOOK_NAME))

# Variables that select a deployment or a loading path; both runs get the same clean environment.
DROPPED = {
    "TF_WORKSPACE",
    "ENVIRONMENT_SUFFIX",
    "TARGET",
    "LOCAL_AWS_ENDPOINT",
    "TRADING_DOMAIN",
    "TRADING_STOCK_IMPORTS",
    "NODE_OPTIONS",
}


def _start(outdir: Path, *, stock: bool) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    if stock:
        env["TRADING_STOCK_IMPORTS"] = "1"
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, "--outdir", str(outdir), *WORKSPACES],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _finish(process: subprocess.Popen[str], label: str) -> dict[str, object]:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, f"{label} synth failed ({process.returncode}):\n{stdout}\n{stderr}"
    lines = [line for line in stdout.splitlines() if line.startswith("FAST-SYNTH-REPORT ")]
    assert lines, f"{label} synth printed no report:\n{stdout}\n{stderr}"
    return json.loads(lines[-1].split(" ", 1)[1])


def _files(outdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outdir)): p.read_bytes() for p in sorted(outdir.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def both_paths(
    tmp_path_factory: pytest.TempPathFactory, lambda_zip: Path
) -> tuple[dict[str, object], Path, dict[str, object], Path]:
    stock_dir = tmp_path_factory.mktemp("synth-stock")
    fast_dir = tmp_path_factory.mktemp("synth-fast")
    stock, fast = _start(stock_dir, stock=True), _start(fast_dir, stock=False)
    return _finish(stock, "stock"), stock_dir, _finish(fast, "fast"), fast_dir


def test_each_run_took_the_path_it_was_asked_for(both_paths: tuple) -> None:  # type: ignore[type-arg]
    stock, _, fast, _ = both_paths
    assert stock["fast"] is False and stock["node_hook"] == 0
    # The stock package __init__ imports every submodule (~1,500 in 20.1.0).
    assert stock["submodules"] > 1000
    assert fast["fast"] is True and fast["node_hook"] == 1
    assert 0 < fast["submodules"] < 100


def test_fast_output_is_byte_identical_to_stock_for_every_workspace(both_paths: tuple) -> None:  # type: ignore[type-arg]
    _, stock_dir, _, fast_dir = both_paths
    stock, fast = _files(stock_dir), _files(fast_dir)
    expected_stacks = {
        f"stacks/{kind}-{ws}/cdk.tf.json" for ws in WORKSPACES for kind in ("data-protection", "trading")
    }
    assert expected_stacks <= set(stock), f"missing stacks in {sorted(stock)}"
    assert any("/assets/" in name for name in stock), "no module assets were synthesized"
    assert sorted(fast) == sorted(stock)
    differing = [name for name in stock if fast[name] != stock[name]]
    assert not differing, f"fast and stock synthesis differ in: {differing}"


def test_node_hook_defers_provider_submodules_until_first_use(tmp_path: Path) -> None:
    """The preload script makes the index lazy for the provider package only; a broken submodule proves it."""
    hook = tmp_path / HOOK_NAME
    hook.write_text(NODE_HOOK)
    index = 'exports.good = require("./good");\nexports.broken = require("./broken");\n'
    for name, package in (("provider", NODE_PACKAGE), ("other", "some-other-package")):
        lib = tmp_path / name / "lib"
        lib.mkdir(parents=True)
        (tmp_path / name / "package.json").write_text(json.dumps({"name": package, "main": "lib/index.js"}))
        (lib / "index.js").write_text(index)
        (lib / "good.js").write_text("exports.Type = 'good';\n")
        (lib / "broken.js").write_text("throw new Error('loaded broken');\n")
    script = (
        "const p = require(process.argv[1]);"
        "console.log(p.good.Type);"
        "try { p.broken; console.log('no error'); } catch (e) { console.log(e.message); }"
        "try { require(process.argv[2]); console.log('eager ok'); } catch (e) { console.log('eager: ' + e.message); }"
    )
    result = subprocess.run(
        ["node", f"--require={hook}", "-e", script, str(tmp_path / "provider"), str(tmp_path / "other")],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"},
    )
    assert result.returncode == 0, result.stderr
    # The provider index loads without touching broken.js until it is asked for; other packages stay eager.
    assert result.stdout.splitlines() == ["good", "loaded broken", "eager: loaded broken"]


def test_programs_started_after_prepare_do_not_inherit_the_node_hook() -> None:
    # tests/conftest.py ran fast_imports.prepare(): this process carries the hook, its children must not.
    if fast_imports.stock_requested():
        pytest.skip("TRADING_STOCK_IMPORTS=1: no hook was added")
    assert HOOK_NAME in os.environ.get("NODE_OPTIONS", "")
    assert HOOK_NAME not in fast_imports.child_environment().get("NODE_OPTIONS", "")
    kept = fast_imports.child_environment({"PATH": "/bin", "NODE_OPTIONS": f"--require={HOOK_NAME}"})
    assert kept["PATH"] == "/bin" and HOOK_NAME not in kept.get("NODE_OPTIONS", "")
