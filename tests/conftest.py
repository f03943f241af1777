"""Fixtures for the whole suite, and the guard that keeps every test on this machine.

No test may send traffic beyond loopback, DNS included: name look-ups of anything but
localhost fail, and so do connections to non-loopback addresses. A test that needs a DNS
failure injects a resolver instead.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

#: Every report a test renders goes through its consumer's check: promtool for Prometheus, the
#: shipped JSON Schema for JSON.
pytest_plugins = ["tests.support.promtool", "tests.support.report_schema"]

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_local(host: object) -> bool:
    if host is None:
        return True  # a passive (bind) look-up
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in _LOCAL_NAMES or name.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 over an IPv6 socket
    return address.is_loopback or address.is_unspecified


def _guard_getaddrinfo(original: Callable[..., Any]) -> Callable[..., Any]:
    def getaddrinfo(host: object, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host):
            raise socket.gaierror(socket.EAI_NONAME, f"test guard: no DNS for {host!r}")
        return original(host, *args, **kwargs)

    return getaddrinfo


def _guard_connect(original: Callable[..., Any]) -> Callable[..., Any]:
    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise OSError(f"test guard: connection to {address!r} leaves the machine")
        return original(self, address)

    return connect


def pytest_configure(config: pytest.Config) -> None:
    socket.getaddrinfo = _guard_getaddrinfo(socket.getaddrinfo)
    socket.socket.connect = _guard_connect(socket.socket.connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guard_connect(socket.socket.connect_ex)  # type: ignore[method-assign]


# --- SMTP servers on loopback (tests/support/servers.py) -------------------------------------


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """trustme certificates: a CA the client trusts (``ca_file``) and leaves good and bad."""
    from tests.support.servers import make_certs

    return make_certs(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture(scope="session")
def tls_contexts(certs: Any) -> Any:
    """The client's contexts, built once as a run builds them, trusting the test CA."""
    from smtpcheck.probe.tls import build_tls_contexts

    return build_tls_contexts(ca_file=certs.ca_file)


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port whose accept queue is full: the kernel drops every further SYN, silently."""
    from tests.support.servers import HOST

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


@pytest.fixture(scope="session")
def javamail(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The JavaMail oracle harness, compiled once a session (tests/support/javamail.py).

    Skipped with the reason where Java or Debian's jakarta mail is missing; failed under CI.
    """
    from tests.support.javamail import available, build_harness, refuse

    reason = available()
    if reason is not None:
        refuse(reason)
    return build_harness(tmp_path_factory.mktemp("javamail"))


@pytest.fixture
def options(tls_contexts: Any) -> Any:
    """Probe options for the local servers: the test CA trusted, mail.test on loopback."""
    from smtpcheck.probe.session import ProbeOptions
    from tests.support.servers import HOST, resolver

    return ProbeOptions(
        ehlo_name="client.test",
        tls=tls_contexts,
        timeout=3.0,
        resolver=resolver({"mail.test": HOST}),
        diagnose_after=0.5,
    )


@pytest.fixture
async def smtp_server() -> Any:
    """Start servers in the test's loop: ``await smtp_server(Smtpd(...))``; all stop after."""
    started: list[Any] = []

    async def start(server: Any) -> Any:
        started.append(server)
        return await server.start()

    yield start
    for server in started:
        await server.stop()


@pytest.fixture(scope="session")
def promtool() -> str:
    """The path of promtool (Debian: prometheus); skipped with the reason, failed under CI."""
    from tests.support.gate import refuse
    from tests.support.promtool import find_promtool

    found = find_promtool()
    if found is None:
        refuse("promtool is not installed (Debian: apt-get install prometheus)")
    return found
