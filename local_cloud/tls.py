"""The emulator's own certificate authority, and server certificates signed by it.

Every local Aurora cluster serves TLS with a certificate of this CA whose SANs are the cluster's writer and reader
endpoint names, so a client that verifies the server (``DB_TLS=verify_identity``) works locally exactly as it does
on AWS with the RDS CA bundle. The CA lives per checkout under ``.cache/local_cloud/tls/`` (``TRADING_CACHE_DIR``
moves ``.cache``), is created on first use and then stays: Lambda ZIPs packaged for the local target ship it.

Usage: ``python -m local_cloud.tls ca-path`` prints the path of the CA bundle (PEM), creating the CA if needed.

Keys are ECDSA P-256: issuing a certificate takes about a millisecond (an RSA key takes tens to hundreds), and
MariaDB, OpenSSL and Python's ssl module all accept them.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from python_stacks import project

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
EMULATOR_CA_NAME = "local_cloud emulator CA"
# Long enough that a checkout never meets an expired CA; server certificates live as long as their cluster.
CA_LIFETIME = datetime.timedelta(days=3650)
SERVER_LIFETIME = datetime.timedelta(days=397)  # what browsers and RDS accept for a leaf certificate
# Clocks of CI machines and containers drift a little; a certificate must not be "not yet valid".
BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class TlsFiles:
    """A server's TLS material: the CA bundle a client verifies against, and the server's certificate and key."""

    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class CertificateAuthority:
    cert_path: Path
    key_path: Path

    def issue(
        self, directory: Path, dns_names: Sequence[str], ip_addresses: Sequence[str] = (), common_name: str = ""
    ) -> TlsFiles:
        """Write a server certificate for ``dns_names`` (and IPs) and its key into ``directory``."""
        if not dns_names and not ip_addresses:
            raise ValueError("a server certificate needs at least one DNS name or IP address")
        ca_cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        ca_key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        # Clients match the SANs; the common name is a label, and X.509 caps it at 64 characters (endpoints are longer).
        label = (common_name or (list(dns_names) + list(ip_addresses))[0])[:64]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, label)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + SERVER_LIFETIME)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, True, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        files = TlsFiles(ca=self.cert_path, cert=directory / "server-cert.pem", key=directory / "server-key.pem")
        _write_private(files.key, _key_pem(key))
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return files


def new_authority(directory: Path, common_name: str) -> CertificateAuthority:
    """Create a CA (self-signed certificate and key) in ``directory``, replacing one that is there."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    authority = CertificateAuthority(cert_path=directory / CA_FILE, key_path=directory / CA_KEY_FILE)
    _write_private(authority.key_path, _key_pem(key))
    authority.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return authority


def tls_dir() -> Path:
    return project.cache_dir() / "local_cloud" / "tls"


def emulator_authority() -> CertificateAuthority:
    """The checkout's CA, created on first use.

    Several emulators (parallel tests) may ask at once: the CA is built in a scratch directory and renamed into
    place, which is atomic, so everyone ends up with the same one and nobody reads half a file.
    """
    directory = tls_dir()
    authority = CertificateAuthority(cert_path=directory / CA_FILE, key_path=directory / CA_KEY_FILE)
    if authority.cert_path.exists() and authority.key_path.exists():
        return authority
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".tls-", dir=directory.parent))
    try:
        new_authority(scratch, EMULATOR_CA_NAME)
        try:
            scratch.rename(directory)
        except OSError:
            if not (authority.cert_path.exists() and authority.key_path.exists()):
                raise  # not another emulator's finished CA: something else is in the way
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return authority


def ca_path() -> Path:
    """The emulator's CA bundle (PEM), created on first use."""
    return emulator_authority().cert_path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def main(argv: list[str]) -> int:
    if argv != ["ca-path"]:
        print("usage: python -m local_cloud.tls ca-path", file=sys.stderr)
        return 2
    print(ca_path())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
