"""The run's TLS contexts, and a watch on each connection's TLS handshake.

Building the verifying context loads the system CA store (~25 ms), so a run builds its contexts
once and every connection shares them. Their SSL objects time the handshake and set
``TCP_QUICKACK`` on the connection's socket at each read (see `quickack`).
"""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smtpcheck.errors import UsageError

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = [
    "Handshake",
    "TlsContexts",
    "build_tls_contexts",
    "legacy_context",
    "quickack",
    "trusting",
    "watch_handshake",
]


@dataclass(frozen=True, slots=True)
class TlsContexts:
    """The two client contexts of a run: the one that verifies, and the one that only reads."""

    verifying: ssl.SSLContext  # CERT_REQUIRED, and the host name check if the library does it
    insecure: ssl.SSLContext  # no verification: for trust_all_hosts and for reading a bad cert


def build_tls_contexts(*, ca_file: str | None = None, check_name: bool = True) -> TlsContexts:
    """Build the run's contexts: the system CAs plus ``ca_file`` (PEM) when given.

    ``check_name`` False verifies the chain only, as com.sun.mail <= 2.0 does by default
    (mail.smtp.ssl.checkserveridentity false); Angus Mail checks the name.

    Raises:
        UsageError: ``ca_file`` cannot be read or holds no certificate.
    """
    verifying = trusting(ca_file)
    verifying.check_hostname = check_name
    # The same client defaults without the CA store (~25 ms to load): it verifies nothing, so
    # it has no use for one.
    insecure = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    for context in (verifying, insecure):
        context.sslobject_class = _WatchedSSLObject
    return TlsContexts(verifying=verifying, insecure=insecure)


def trusting(ca_file: str | None) -> ssl.SSLContext:
    """Return a client context that verifies chain and name against the system CAs + ``ca_file``.

    Raises:
        UsageError: ``ca_file`` cannot be read or holds no certificate.
    """
    context = ssl.create_default_context()
    if ca_file is not None:
        # create_default_context(cafile=...) would load only that file; JavaMail trusts the
        # system store too, so the extra CA is added on top of it.
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise UsageError(
                f"--ca-file {ca_file}: cannot load a CA certificate: {reason}"
            ) from exc
    return context


@functools.cache
def legacy_context() -> ssl.SSLContext | None:
    """Return a context that offers only TLS 1.0 and 1.1 and verifies nothing, or None.

    Only for a second look at a server that hung up on a modern handshake: does it know
    nothing newer (RFC 8996 deprecates both)? Never for a session. Built once, on first use;
    None where this OpenSSL cannot offer those versions at all.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():  # deprecated versions: that is the point of the look
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        # OpenSSL 3 refuses the SHA-1 signatures of TLS 1.0 and 1.1 above security level 0.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return None
    return context


@dataclass(slots=True)
class Handshake:
    """When one connection's TLS handshake started and finished (``perf_counter`` seconds)."""

    sock: socket.socket | None = None
    started: float | None = None
    finished: float | None = None

    @property
    def ms(self) -> float | None:
        """Return how long the handshake took, or None when it did not complete."""
        if self.started is None or self.finished is None:
            return None
        return (self.finished - self.started) * 1000


# asyncio runs a transport's callbacks in a copy of the context of the task that created the
# connection, so the SSL object of a connection finds the watch its own probe set.
_WATCH: ContextVar[Handshake | None] = ContextVar("smtpcheck_handshake", default=None)


@contextmanager
def watch_handshake(sock: socket.socket) -> Iterator[Handshake]:
    """Watch the TLS handshake of connections made on ``sock`` inside this block."""
    handshake = Handshake(sock=sock)
    token = _WATCH.set(handshake)
    try:
        yield handshake
    finally:
        _WATCH.reset(token)


class _WatchedSSLObject(ssl.SSLObject):
    """An SSL object that reports its handshake to the watch of its connection."""

    def do_handshake(self) -> None:
        handshake = _WATCH.get()
        if handshake is not None and handshake.started is None:
            handshake.started = time.perf_counter()
        super().do_handshake()  # raises SSLWantReadError until the handshake is done
        if handshake is not None:
            handshake.finished = time.perf_counter()

    def read(self, len: int = 1024, buffer: Buffer | None = None) -> bytes:
        # Called for every TCP read of the connection, the post-handshake records included:
        # their ACK is sent now, not when the delayed-ACK timer fires (see `quickack`).
        try:
            return super().read(len, buffer)
        finally:
            handshake = _WATCH.get()
            if handshake is not None and handshake.sock is not None:
                quickack(handshake.sock)


def quickack(sock: socket.socket) -> None:
    """Acknowledge received data at once instead of after the delayed-ACK timer (Linux).

    Right after a TLS 1.3 handshake the server writes small records: its session tickets, then
    its reply (the greeting, with implicit TLS). A server with Nagle's algorithm on (Postfix)
    holds the reply until the tickets are acknowledged, and the client's kernel delays that ACK
    by about 40 ms because the handshake looked interactive. Measured against Postfix on
    loopback: an implicit-TLS probe took 48 ms with the stall and 3.7 ms without. The flag is
    not sticky (the kernel clears it), so it is set again at each read.
    """
    option = getattr(socket, "TCP_QUICKACK", None)
    if option is None or sock.fileno() < 0:
        return
    with contextlib.suppress(OSError):  # a socket already shut down has nothing to acknowledge
        sock.setsockopt(socket.IPPROTO_TCP, option, 1)
