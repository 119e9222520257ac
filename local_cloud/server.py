"""The emulator server: moto's WSGI application behind the local_cloud front, with the extensions applied.

Usage: ``python -m local_cloud.server [-H HOST] [-p PORT] [--run-root DIR]`` (``tools/emulator.py`` starts it).
``LOCAL_CLOUD_EXTENSIONS`` chooses the extensions: ``all`` (default), ``none`` (plain moto plus ``moto_fixes``),
or a comma-separated list of names from ``EXTENSIONS``. ``GET /_local_cloud/status/`` reports what is on.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_cloud import janitor, moto_fixes
from local_cloud.front import Environ, Front, StartResponse
from local_cloud.processes import Supervisor
from python_stacks.project import CACHE_DIR

DEFAULT_RUN_ROOT = CACHE_DIR / "emulator"

# Extension modules, applied in this order; each has ``install(ctx: Context) -> None``.
EXTENSIONS: tuple[str, ...] = (
    "local_cloud.rds",  # a MariaDB behind every Aurora MySQL cluster
    "local_cloud.network",  # security groups and subnets decide who reaches a cluster (needs rds)
    "local_cloud.lambda_runtime",  # deployed functions run in sandboxed CPython 3.12 workers
    "local_cloud.apigateway",  # the deployed REST APIs answer on the emulator's port (execute-api)
)

# moto settings the stack needs (docs/decisions/0004-local-emulator-target.md); the caller's values win.
MOTO_SETTINGS = {
    # AWS managed policies (e.g. AmazonRDSEnhancedMonitoringRole) exist only when moto loads them.
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    # ACM certificates become ISSUED after this many seconds instead of moto's default 60.
    "MOTO_ACM_VALIDATION_WAIT": "1",
    # AWS's default Lambda concurrency quota per region; moto then refuses reservations that leave fewer than 100
    # executions unreserved, as AWS does.
    "MOTO_LAMBDA_CONCURRENCY_QUOTA": "1000",
}


class ExtensionSelectionError(ValueError):
    """LOCAL_CLOUD_EXTENSIONS names something that is not an extension."""


@dataclass
class Context:
    """What an extension gets at install time: where the server runs and the shared machinery."""

    host: str
    port: int
    run_dir: Path
    processes: Supervisor
    front: Front
    _on_reset: list[Callable[[], None]] = field(default_factory=list)
    _on_shutdown: list[Callable[[], None]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        """The emulator's AWS endpoint as clients (and Lambda workers) reach it."""
        return f"http://{self.host}:{self.port}"

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Called before moto wipes its state (``POST /moto-api/reset``): drop what belongs to that state."""
        self._on_reset.append(callback)

    def on_shutdown(self, callback: Callable[[], None]) -> None:
        """Called once when the server stops, in reverse order of registration, before the children are killed."""
        self._on_shutdown.append(callback)

    def run_reset(self) -> None:
        for callback in list(self._on_reset):
            callback()

    def run_shutdown(self) -> None:
        for callback in reversed(self._on_shutdown):
            try:
                callback()
            except Exception as exc:  # one failing hook must not keep the others from running
                print(f"local_cloud: shutdown hook failed: {exc!r}", file=sys.stderr, flush=True)


def short_name(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def selected_extensions(env: Mapping[str, str], available: tuple[str, ...] = EXTENSIONS) -> tuple[str, ...]:
    raw = (env.get("LOCAL_CLOUD_EXTENSIONS") or "all").strip().lower()
    if raw == "all":
        return available
    if raw == "none":
        return ()
    by_name = {short_name(module): module for module in available}
    wanted = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        valid = ", ".join(["all", "none", *by_name])
        raise ExtensionSelectionError(f"unknown LOCAL_CLOUD_EXTENSIONS {', '.join(unknown)}: valid values are {valid}")
    return tuple(module for module in available if short_name(module) in wanted)


def _reset_route(ctx: Context, moto_app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
    def matches(environ: Environ) -> bool:
        return environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == "/moto-api/reset"

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        ctx.run_reset()
        return moto_app(environ, start_response)

    ctx.front.add("moto-reset", matches, app)


def _status_route(ctx: Context, extensions: tuple[str, ...]) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        body = json.dumps(
            {
                "extensions": [short_name(module) for module in extensions],
                "pid": os.getpid(),
                "children": [{"name": c.name, "pid": c.process.pid} for c in ctx.processes.children()],
            }
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    ctx.front.add_internal("status", app)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_cloud.server", description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    parser.add_argument("--run-root", type=Path, default=Path(os.environ.get("LOCAL_CLOUD_RUN_ROOT", DEFAULT_RUN_ROOT)))
    args = parser.parse_args(argv)
    try:
        extensions = selected_extensions(os.environ)
    except ExtensionSelectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, value in MOTO_SETTINGS.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("MOTO_PORT", str(args.port))

    # Imported after the settings above: some moto modules read them at import time.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    moto_fixes.apply()
    args.run_root.mkdir(parents=True, exist_ok=True)
    janitor.sweep_stale(args.run_root)
    supervisor = Supervisor(args.run_root / f"run-{os.getpid()}")
    moto_app = DomainDispatcherApplication(create_backend_app)
    front = Front(moto_app)
    ctx = Context(host=args.host, port=args.port, run_dir=supervisor.run_dir, processes=supervisor, front=front)
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        _reset_route(ctx, moto_app)
        _status_route(ctx, extensions)
        for module in extensions:
            importlib.import_module(module).install(ctx)
        print(f"local_cloud: extensions: {', '.join(map(short_name, extensions)) or 'none'}", flush=True)
        run_simple(args.host, args.port, front, threaded=True, request_handler=MotoRequestHandler)
    finally:
        ctx.run_shutdown()
        supervisor.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
