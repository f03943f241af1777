"""Probe options for the local servers (test CA trusted, mail.test on loopback), a black hole."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from smtpcheck.probe import ProbeOptions
from smtpcheck.tlscontext import TlsContexts
from tests.servers import HOST, resolver


@pytest.fixture
def options(tls_contexts: TlsContexts) -> ProbeOptions:
    return ProbeOptions(
        ehlo_name="client.test",
        tls=tls_contexts,
        timeout=3.0,
        resolver=resolver({"mail.test": HOST}),
        diagnose_after=0.5,
    )


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port whose accept queue is full: the kernel drops every further SYN, silently."""
    server = socket.socket()
    server.bind((HOST, 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex((HOST, port))
        fillers.append(filler)
    time.sleep(0.05)
    yield port
    for sock in (*fillers, server):
        sock.close()
