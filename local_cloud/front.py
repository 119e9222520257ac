"""A WSGI front that sits before moto's dispatcher and hands some requests to the emulator's own services.

moto routes a request by its Host header and signing scope; a few requests must never reach it: execute-api calls
(moto's dispatcher sends a request signed for ``execute-api`` to IoT) and the emulator's internal endpoints under
``/_local_cloud/``. Extensions register a predicate and a WSGI app here; everything else goes to moto unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

# Path prefix of the emulator's own endpoints (worker callbacks, status); AWS never serves such a path.
INTERNAL_PREFIX = "/_local_cloud/"


@dataclass(frozen=True)
class Route:
    name: str
    matches: Callable[[Environ], bool]
    app: WsgiApp


class Front:
    """Dispatches to the first registered route that matches, else to moto's application."""

    def __init__(self, backend: WsgiApp) -> None:
        self._backend = backend
        self._routes: list[Route] = []
        self._lock = threading.Lock()

    def add(self, name: str, matches: Callable[[Environ], bool], app: WsgiApp) -> None:
        with self._lock:
            if any(route.name == name for route in self._routes):
                raise ValueError(f"a front route named {name!r} is already registered")
            self._routes.append(Route(name, matches, app))

    def add_internal(self, name: str, app: WsgiApp) -> None:
        """Serve ``/_local_cloud/<name>/...`` (e.g. callbacks from Lambda workers)."""
        prefix = f"{INTERNAL_PREFIX}{name}/"
        self.add(f"internal:{name}", lambda environ: str(environ.get("PATH_INFO", "")).startswith(prefix), app)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        for route in self._routes:
            if route.matches(environ):
                return route.app(environ, start_response)
        return self._backend(environ, start_response)
