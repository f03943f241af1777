"""Throwaway certificates for the private Postfix instance: one CA, three server certificates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import trustme

__all__ = ["CertPaths", "make_certificates"]

# Every name a test may dial: the loopback name and both loopback addresses.
_IDENTITIES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class CertPaths:
    """PEM files: the CA to trust, and key + chain files in the order Postfix reads them."""

    ca: Path
    server: Path
    expired: Path
    wrong_name: Path


def make_certificates(directory: Path) -> CertPaths:
    """Write a fresh CA and the server certificates into ``directory``."""
    directory.mkdir(mode=0o755, exist_ok=True)
    ca = trustme.CA(organization_name="smtpcheck test CA")
    paths = CertPaths(
        ca=directory / "ca.pem",
        server=directory / "server.pem",
        expired=directory / "expired.pem",
        wrong_name=directory / "wrong-name.pem",
    )
    ca.cert_pem.write_to_path(paths.ca)
    now = dt.datetime.now(dt.UTC)
    leaves = {
        paths.server: ca.issue_cert(*_IDENTITIES),
        # Valid names, but outside its validity window: only the expiry can fail.
        paths.expired: ca.issue_cert(
            *_IDENTITIES,
            not_before=now - dt.timedelta(days=30),
            not_after=now - dt.timedelta(days=1),
        ),
        # Trusted and current, but for a name no test dials: only the name check can fail.
        paths.wrong_name: ca.issue_cert("mx.wrong-name.test"),
    }
    for path, leaf in leaves.items():
        # smtpd_tls_chain_files wants the key first, then the certificate chain.
        leaf.private_key_and_cert_chain_pem.write_to_path(path)
        path.chmod(0o600)
    return paths
