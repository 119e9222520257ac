"""Stage two of a Lambda worker, inside the sandbox: what Lambda's ``/var/runtime/bootstrap.py`` does, then AWS's
Runtime Interface Client (awslambdaric) runs the function.

Runs as ``/var/lang/bin/python3.12 /var/rapid/lambda_bootstrap.py <emulator-pid>`` (standard library only until
awslambdaric is imported from ``/var/runtime``). The emulator's two additions, both before the handler is imported:

- a watch on the emulator's PID (the parent-death signal's second line: should the emulator vanish without it,
  the worker exits within half a second);
- ``worker_network.install()`` (local_cloud/worker_network.py, copied next to this file when the emulator has it),
  which lets the function reach the emulator's database servers under their AWS host names.

The bootstrap's directory leaves ``sys.path`` again, so function code sees Lambda's path: ``/var/task``, ``/opt``
and ``/var/runtime``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time

PARENT_POLL_SECONDS = 0.5


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(137)


def _install_worker_network(directory: str) -> None:
    path = os.path.join(directory, "worker_network.py")
    if not os.path.exists(path):
        return
    spec = importlib.util.spec_from_file_location("local_cloud_worker_network", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()


def main() -> None:
    parent = int(sys.argv[1])
    threading.Thread(target=_watch_parent, args=(parent,), name="local-cloud-parent-watch", daemon=True).start()
    here = os.path.dirname(os.path.abspath(__file__))
    _install_worker_network(here)
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[0:0] = [task_root, "/opt/python/lib/python3.12/site-packages", "/opt/python"]
    sys.argv = ["/var/runtime/bootstrap.py"]
    from awslambdaric.__main__ import main as run_runtime

    run_runtime(["awslambdaric", os.environ["_HANDLER"]])


if __name__ == "__main__":
    main()
