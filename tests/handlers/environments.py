"""Separate Lambda execution environments for concurrency tests: one forked process per environment.

Lambda runs one request at a time per execution environment, and concurrent requests in separate ones. Threads
in one process are not that: Powertools keeps the current event in a class attribute shared by every resolver
of the process, so two threads' requests could read each other's event. A forked process per environment has
its own API instance, resolver state and database connections, like the real thing; the parent's secrets
extension and MariaDB serve them all, as the extension process and the cluster do on AWS.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")
FORK = multiprocessing.get_context("fork")


def in_environments(
    count: int, build: Callable[[], Any], job: Callable[[int, Any], T], timeout: float = 180.0
) -> list[T]:
    """Run ``job(index, api)`` in ``count`` environments, each with ``api = build()``; results in index order.

    Shared synchronisation (a ``FORK.Barrier``) is made by the caller before this call and captured by ``job``.
    """
    receivers: list[Connection] = []
    processes = []
    for index in range(count):
        receiver, sender = FORK.Pipe(duplex=False)
        process = FORK.Process(target=_environment, args=(index, build, job, sender), daemon=True)
        process.start()
        sender.close()
        receivers.append(receiver)
        processes.append(process)
    results: list[T] = []
    try:
        for index, receiver in enumerate(receivers):
            if not receiver.poll(timeout):
                raise AssertionError(f"execution environment {index} did not finish within {timeout} s")
            ok, value = receiver.recv()
            if not ok:
                raise AssertionError(f"execution environment {index} failed:\n{value}")
            results.append(value)
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return results


def _environment(index: int, build: Callable[[], Any], job: Callable[[int, Any], Any], sender: Connection) -> None:
    try:
        api = build()
        try:
            outcome = (True, job(index, api))
        finally:
            api.database.close()
    except BaseException:  # reported to the parent with its traceback
        outcome = (False, traceback.format_exc())
    sender.send(outcome)
