"""The emulator's CA (local_cloud/tls.py): one per checkout, made once even when several emulators ask at once,
and server certificates that verify for exactly the names they were issued for."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from local_cloud import tls

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "aurora-dev.cluster-abc123.us-east-1.rds.amazonaws.com"


def _ca_path(cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_cloud.tls", "ca-path"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "TRADING_CACHE_DIR": str(cache)},
        check=False,
    )


def test_ca_path_is_created_once_and_stays_even_when_asked_in_parallel(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: _ca_path(tmp_path), range(4)))
    assert {r.returncode for r in results} == {0}
    paths = {r.stdout.strip() for r in results}
    assert paths == {str(tmp_path / "local_cloud" / "tls" / "ca.pem")}
    first = Path(paths.pop()).read_bytes()
    assert _ca_path(tmp_path).stdout.strip() == str(tmp_path / "local_cloud" / "tls" / "ca.pem")
    assert Path(tmp_path / "local_cloud" / "tls" / "ca.pem").read_bytes() == first, "the CA is never replaced"
    assert (tmp_path / "local_cloud" / "tls" / "ca-key.pem").stat().st_mode & 0o077 == 0, "the key is private"
    assert [p.name for p in (tmp_path / "local_cloud").iterdir()] == ["tls"], "no scratch directory left"


def test_wrong_usage_is_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "local_cloud.tls"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr == "usage: python -m local_cloud.tls ca-path\n"


def _handshake(files: tls.TlsFiles, server_hostname: str) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(files.cert, files.key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        try:
            with server_context.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass  # the client refused the certificate

    threading.Thread(target=serve, daemon=True).start()
    client = ssl.create_default_context(cafile=str(files.ca))
    client.verify_flags |= ssl.VERIFY_X509_STRICT  # what Python 3.13+ checks by default
    try:
        with (
            socket.create_connection(listener.getsockname(), timeout=5) as raw,
            client.wrap_socket(raw, server_hostname=server_hostname),
        ):
            pass
    finally:
        listener.close()


def test_a_server_certificate_verifies_for_its_endpoints_only(tmp_path: Path) -> None:
    authority = tls.new_authority(tmp_path / "ca", "Test CA")
    files = authority.issue(
        tmp_path / "server", [ENDPOINT, ENDPOINT.replace(".cluster-", ".cluster-ro-")], common_name="aurora-dev"
    )
    _handshake(files, ENDPOINT)
    _handshake(files, ENDPOINT.replace(".cluster-", ".cluster-ro-"))
    with pytest.raises(ssl.SSLCertVerificationError, match=r"Hostname mismatch|doesn't match"):
        _handshake(files, "aurora-prod.cluster-abc123.us-east-1.rds.amazonaws.com")
    other = tls.new_authority(tmp_path / "other", "Another CA")
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        _handshake(tls.TlsFiles(other.cert_path, files.cert, files.key), ENDPOINT)
