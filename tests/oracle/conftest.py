"""The JavaMail oracle harness, compiled once a session; skipped (failed under CI) without Java."""

from __future__ import annotations

import pytest

from smtpcheck.probe.tls import TlsContexts, build_tls_contexts
from tests.support.javamail import Harness, available, build_harness, refuse
from tests.support.servers import Certs

__all__ = ["javamail", "legacy_tls"]


@pytest.fixture(scope="session")
def javamail(tmp_path_factory: pytest.TempPathFactory) -> Harness:
    """The harness compiled into a session directory, with its hosts file and truststores."""
    reason = available()
    if reason is not None:
        refuse(reason)
    return build_harness(tmp_path_factory.mktemp("javamail"))


@pytest.fixture(scope="session")
def legacy_tls(certs: Certs) -> TlsContexts:
    """The run's contexts for the legacy library (Debian's com.sun.mail 2.0.0): no name check."""
    return build_tls_contexts(ca_file=certs.ca_file, check_name=False)
