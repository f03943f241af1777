"""The oracle suite's TLS contexts: those of the library Debian packages (no name check)."""

from __future__ import annotations

import pytest

from smtpcheck.probe.tls import TlsContexts, build_tls_contexts
from tests.support.servers import Certs

__all__ = ["legacy_tls"]


@pytest.fixture(scope="session")
def legacy_tls(certs: Certs) -> TlsContexts:
    """The run's contexts for the legacy library (Debian's com.sun.mail 2.0.0): no name check."""
    return build_tls_contexts(ca_file=certs.ca_file, check_name=False)
