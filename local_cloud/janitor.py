"""Cleans up after an emulator server that died without stopping its children (SIGKILL, crash).

Runs as its own process (``python -I janitor.py <server-pid> <server-start-time> <run-dir>``), started by
``processes.Supervisor``, standard library only. It waits until the server is gone, kills every child still
listed in the run directory (each child leads its own process group, so its descendants go too) and removes the
run directory. ``sweep_stale`` does the same at the next server start for run directories nobody cleaned.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from pathlib import Path

CHILDREN_FILE = "children"
SERVER_FILE = "server"
POLL_SECONDS = 0.25


def _stat(pid: int) -> list[str] | None:
    """Fields 3 and later of /proc/<pid>/stat, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    return stat[stat.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (tells a PID apart from a recycled one), or None."""
    fields = _stat(pid)
    return None if fields is None else int(fields[19])  # field 22 of proc(5)


def alive(pid: int, started: int) -> bool:
    """Running, and the same process: a zombie (dead, not yet reaped by its parent) counts as gone."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z" and int(fields[19]) == started


def read_processes(path: Path) -> list[tuple[int, int]]:
    """``pid start-time`` pairs, one per line (further words are a label)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0].isdigit() and words[1].isdigit():
            found.append((int(words[0]), int(words[1])))
    return found


def kill_children(run_dir: Path) -> None:
    for pid, started in read_processes(run_dir / CHILDREN_FILE):
        now = start_time(pid)
        if now is not None and now != started:
            continue  # the PID was recycled: the group of that PID is not ours
        # The leader may be gone already (the kernel's death signal) while its own children live on in its group;
        # Linux never reuses a PID while a process group of that id exists, so the group is still ours.
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(OSError):
                kill(pid, signal.SIGKILL)


def clean(run_dir: Path) -> None:
    kill_children(run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)


def sweep_stale(run_root: Path) -> list[Path]:
    """Clean every ``run-*`` directory under ``run_root`` whose server no longer runs; return them."""
    cleaned = []
    for run_dir in sorted(run_root.glob("run-*")):
        server = read_processes(run_dir / SERVER_FILE)
        if server and alive(*server[0]):
            continue
        clean(run_dir)
        cleaned.append(run_dir)
    return cleaned


def watch(server_pid: int, server_started: int, run_dir: Path) -> None:
    while alive(server_pid, server_started) and run_dir.exists():
        time.sleep(POLL_SECONDS)
    if run_dir.exists():  # a graceful stop removes it first: nothing to do then
        clean(run_dir)


if __name__ == "__main__":
    # Ignore the terminal's Ctrl-C: the janitor must outlive the server it watches.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
