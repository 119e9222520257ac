"""Reach the emulator's Aurora clusters from tests and tools: discovery, and TLS connections verified as on AWS.

``clusters(endpoint)`` reads ``GET /_local_cloud/rds/clusters/`` (contract 5). ``connect(cluster, user, password)``
opens a pymysql connection to the cluster's local server and verifies its certificate against the emulator's CA for
the cluster's *endpoint name* (what a Lambda function with ``DB_TLS=verify_identity`` does through
``worker_network``), without hooking this process's name resolution.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from typing import Any

import pymysql

from local_cloud import tls


def _get(endpoint: str, path: str) -> Any:
    with urllib.request.urlopen(f"{endpoint}{path}", timeout=10) as response:
        return json.load(response)


def clusters(endpoint: str) -> list[dict[str, Any]]:
    return list(_get(endpoint, "/_local_cloud/rds/clusters/"))


def cluster(endpoint: str, identifier: str) -> dict[str, Any]:
    found = [entry for entry in clusters(endpoint) if entry["identifier"] == identifier]
    if not found:
        raise LookupError(f"the emulator at {endpoint} runs no server for cluster {identifier}")
    return found[0]


def snapshots(endpoint: str) -> list[dict[str, Any]]:
    return list(_get(endpoint, "/_local_cloud/rds/snapshots/"))


def verifying_context(server_hostname: str, cafile: str | None = None) -> ssl.SSLContext:
    """Verify the server's certificate for ``server_hostname`` whatever address the socket went to."""
    context = ssl.create_default_context(cafile=cafile or str(tls.ca_path()))
    wrap = context.wrap_socket

    def wrap_for_endpoint(sock: Any, *args: Any, server_hostname: str | None = None, **kwargs: Any) -> ssl.SSLSocket:
        return wrap(sock, *args, server_hostname=expected, **kwargs)

    expected = server_hostname
    context.wrap_socket = wrap_for_endpoint  # type: ignore[method-assign]
    return context


def connect(
    entry: dict[str, Any], user: str, password: str, *, server_hostname: str | None = None, **kwargs: Any
) -> pymysql.connections.Connection:
    """TLS to the cluster's local server, verified for its writer endpoint (or ``server_hostname``)."""
    options: dict[str, Any] = {
        "host": entry["address"],
        "port": entry["port"],
        "user": user,
        "password": password,
        "ssl": verifying_context(server_hostname or entry["endpoint"]),
        "connect_timeout": 5,
        "autocommit": True,
    }
    options.update(kwargs)
    return pymysql.connect(**options)
