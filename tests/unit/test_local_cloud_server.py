"""The emulator server's own machinery: extension selection, the front, and child processes that never outlive it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from local_cloud import janitor
from local_cloud.server import ExtensionSelectionError, selected_extensions
from tools.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
AVAILABLE = ("local_cloud.alpha", "local_cloud.beta")


def test_extensions_default_to_all_and_can_be_switched_off_or_chosen() -> None:
    assert selected_extensions({}, AVAILABLE) == AVAILABLE
    assert selected_extensions({"LOCAL_CLOUD_EXTENSIONS": "none"}, AVAILABLE) == ()
    assert selected_extensions({"LOCAL_CLOUD_EXTENSIONS": "beta"}, AVAILABLE) == ("local_cloud.beta",)


def test_an_unknown_extension_is_one_line_naming_the_valid_ones() -> None:
    with pytest.raises(
        ExtensionSelectionError,
        match=r"^unknown LOCAL_CLOUD_EXTENSIONS gamma: valid values are all, none, alpha, beta$",
    ):
        selected_extensions({"LOCAL_CLOUD_EXTENSIONS": "gamma"}, AVAILABLE)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def _wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# A stand-in server process: a Supervisor that starts a child, which starts a grandchild, then waits to be killed.
_SUPERVISED = textwrap.dedent(
    """
    import subprocess, sys, time
    from pathlib import Path
    from local_cloud.processes import Supervisor
    supervisor = Supervisor(Path(sys.argv[1]))
    child = supervisor.spawn("sleeper", ["bash", "-c", "sleep 300 & echo $!; wait"], stdout=subprocess.PIPE)
    grandchild = int(child.process.stdout.readline())
    print(child.process.pid, grandchild, flush=True)
    if sys.argv[2] == "close":
        supervisor.close()
        print("closed", flush=True)
    time.sleep(300)
    """
)


@pytest.mark.parametrize("ending", ["sigkill", "close"])
def test_children_and_run_directory_never_outlive_the_server(tmp_path: Path, ending: str) -> None:
    run_dir = tmp_path / "run-test"
    server = subprocess.Popen(
        [sys.executable, "-c", _SUPERVISED, str(run_dir), ending], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        child, grandchild = map(int, server.stdout.readline().split())
        assert (_alive(child) and _alive(grandchild)) or ending == "close"
        if ending == "sigkill":
            assert [pid for pid, _ in janitor.read_processes(run_dir / janitor.CHILDREN_FILE)] == [child]
            server.send_signal(signal.SIGKILL)
        else:
            assert server.stdout.readline().strip() == "closed"
        assert _wait_until(lambda: not _alive(child)), "the child was stopped"
        assert _wait_until(lambda: not _alive(grandchild)), "the child's own children were stopped"
        assert _wait_until(lambda: not run_dir.exists()), "the run directory was removed"
    finally:
        server.kill()
        server.wait()


def test_a_stale_run_directory_is_swept_at_the_next_start(tmp_path: Path) -> None:
    stale = tmp_path / "run-1"
    stale.mkdir()
    (stale / janitor.SERVER_FILE).write_text("999999999 1\n")  # no such process
    live = tmp_path / f"run-{os.getpid()}"
    live.mkdir()
    (live / janitor.SERVER_FILE).write_text(f"{os.getpid()} {janitor.start_time(os.getpid())}\n")
    assert janitor.sweep_stale(tmp_path) == [stale]
    assert not stale.exists() and live.exists()


def test_the_server_reports_its_extensions_and_stops_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_CACHE_DIR", str(tmp_path))
    emulator = Emulator.private()
    try:
        with urllib.request.urlopen(f"{emulator.endpoint}/_local_cloud/status/", timeout=10) as response:
            status = json.load(response)
        assert status["pid"] == emulator.pid()
        assert isinstance(status["extensions"], list)
    finally:
        assert emulator.stop()
    assert list((tmp_path / "emulator").glob("run-*")) == []
