"""Real SMTP servers for the tests, on 127.0.0.1 port 0, in the test's own event loop.

`Smtpd` runs aiosmtpd (plain, STARTTLS, required STARTTLS, implicit TLS, AUTH) with trustme
certificates; `RawServer` runs a scripted asyncio server for the misbehaviour aiosmtpd never
shows (silence, garbage, 554, drip-fed replies, refused AUTH…); `TlsThreadServer` lets OpenSSL
refuse a handshake the way a real server does. Each counts the connections it accepted and how
many were open at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import threading
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trustme
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = [
    "HOST",
    "PASSWORD",
    "USER",
    "Certs",
    "Counter",
    "RawServer",
    "Recorder",
    "Smtpd",
    "TlsThreadServer",
    "make_certs",
    "resolver",
    "scripted",
]

HOST = "127.0.0.1"
USER = "alerts@mail.test"
PASSWORD = "s3cret-Pa55word"  # grep'd for in every output; must never show up


@dataclass
class Counter:
    """How many connections a server accepted, the most open at once, and the logins tried."""

    accepted: int = 0
    open: int = 0
    peak: int = 0
    logins: int = 0  # AUTH exchanges that reached the authenticator (Smtpd with auth)

    def opened(self) -> None:
        self.accepted += 1
        self.open += 1
        self.peak = max(self.peak, self.open)

    def closed(self) -> None:
        self.open -= 1


@dataclass(frozen=True)
class Certs:
    """A trusted CA and leaf certificates for the servers, plus ones that must fail."""

    ca: trustme.CA
    ca_file: str  # PEM of the trusted CA, for --ca-file
    good: ssl.SSLContext  # localhost, 127.0.0.1, mail.test
    untrusted: ssl.SSLContext  # same names, from a CA the client does not know
    mismatch: ssl.SSLContext  # trusted CA, but for other.test only
    expired: ssl.SSLContext  # trusted CA, expired yesterday
    expiring: ssl.SSLContext  # trusted CA, ends in 5 days


def _server_context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context


def tls10_only(certs: Certs) -> ssl.SSLContext:
    """A server context that speaks TLS 1.0 and 1.1 and nothing newer, for mail.test."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():  # the point is to be deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    certs.ca.issue_cert("mail.test").configure_cert(context)
    return context


def make_certs(directory: str) -> Certs:
    ca, stranger = trustme.CA(), trustme.CA()
    ca_file = f"{directory}/ca.pem"
    ca.cert_pem.write_to_path(ca_file)
    names = ("localhost", "127.0.0.1", "mail.test")
    now = dt.datetime.now(dt.UTC)
    return Certs(
        ca=ca,
        ca_file=ca_file,
        good=_server_context(ca.issue_cert(*names)),
        untrusted=_server_context(stranger.issue_cert(*names)),
        mismatch=_server_context(ca.issue_cert("other.test")),
        expired=_server_context(
            ca.issue_cert(
                *names,
                not_before=now - dt.timedelta(days=30),
                not_after=now - dt.timedelta(days=1),
            )
        ),
        expiring=_server_context(
            ca.issue_cert(*names, not_after=now + dt.timedelta(days=5, hours=1))
        ),
    )


def resolver(names: Mapping[str, str]) -> Callable[[str, int], Awaitable[list[Any]]]:
    """A resolver that knows only ``names`` (name → IP); any other name does not exist."""

    async def resolve(host: str, port: int) -> list[Any]:
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, (names[host], port))]

    return resolve


class Recorder(Sink):
    """An aiosmtpd handler that keeps each message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 OK queued"


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    # handled=False: aiosmtpd then sends 235 or 535 itself.
    return AuthResult(success=ok, handled=False)


class _CountingSMTP(SMTP):
    def __init__(self, counter: Counter, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counter = counter

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # aiosmtpd calls this again when STARTTLS switches to the TLS transport.
        if not getattr(self, "_counted", False):
            self._counted = True
            self._counter.opened()
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            self._counter.closed()
        super().connection_lost(exc)


@dataclass
class Smtpd:
    """One aiosmtpd server; `port` is known once `start` has returned."""

    tls_context: ssl.SSLContext | None = None  # offer STARTTLS with this
    implicit: ssl.SSLContext | None = None  # TLS from the first byte with this
    require_starttls: bool = False
    auth: bool = False  # check USER / PASSWORD
    exclude_mechanisms: tuple[str, ...] = ()
    handler: Any = field(default_factory=Recorder)
    counter: Counter = field(default_factory=Counter)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> Smtpd:
        def factory() -> SMTP:
            return _CountingSMTP(
                self.counter,
                self.handler,
                hostname="mx.test",  # else aiosmtpd calls socket.getfqdn()
                tls_context=self.tls_context,
                require_starttls=self.require_starttls,
                authenticator=self._authenticate if self.auth else None,
                # aiosmtpd counts only STARTTLS as TLS: implicit TLS must allow AUTH itself.
                auth_require_tls=self.implicit is None,
                auth_exclude_mechanism=list(self.exclude_mechanisms),
            )

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(factory, HOST, 0, ssl=self.implicit)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _authenticate(self, *args: Any) -> AuthResult:
        self.counter.logins += 1
        return _authenticator(*args)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawServer:
    """A scripted server: ``script`` talks to each connection, then it is closed."""

    script: Script
    ssl_context: ssl.SSLContext | None = None
    counter: Counter = field(default_factory=Counter)
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> RawServer:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.counter.opened()
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            try:
                await self.script(reader, writer)
            except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
                pass  # the client went away: that is the client's business
            finally:
                self.counter.closed()
                writer.transport.abort()
                if task is not None:
                    self._tasks.discard(task)

        self._server = await asyncio.start_server(serve, HOST, 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks)
            await self._server.wait_closed()


EHLO_REPLY = b"250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"


def scripted(
    greeting: bytes | None = b"220 mx.test ESMTP\r\n",
    replies: Mapping[str, bytes] | None = None,
    *,
    default: bytes = b"250 OK\r\n",
    hang_after: frozenset[str] = frozenset(),
    close_after: frozenset[str] = frozenset(),
    drip: float = 0.0,
    delay: float = 0.0,
    heard: list[str] | None = None,
) -> Script:
    """A server that greets, then answers each command by its verb.

    ``greeting=None`` stays silent; a verb in ``hang_after`` is answered, then nothing more is
    said (a TLS handshake after STARTTLS never starts); in ``close_after`` the connection is
    closed after the answer. ``""`` stands for the greeting in both sets. ``drip`` sends every
    byte of every reply that many seconds apart; ``delay`` holds the greeting back. Each verb
    received is appended to ``heard``.
    """
    answers = {"EHLO": EHLO_REPLY, "QUIT": b"221 bye\r\n", **(replies or {})}

    async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
        if not drip:
            writer.write(data)
            await writer.drain()
            return
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(drip)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if greeting is None:
            await reader.read()  # silence until the client gives up
            return
        await asyncio.sleep(delay)
        await send(writer, greeting)
        if "" in close_after:
            return
        if "" in hang_after:
            await reader.read()
            return
        while line := await reader.readline():
            verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
            if heard is not None:
                heard.append(verb)
            await send(writer, answers.get(verb, default))
            if verb == "QUIT" or verb in close_after:
                return
            if verb in hang_after:
                await reader.read()
                return

    return script


@dataclass
class TlsThreadServer:
    """A blocking implicit-TLS server in a thread.

    asyncio's server side drops a connection whose handshake fails without sending OpenSSL's
    alert; this one lets OpenSSL answer as a real server does (e.g. "protocol version").
    """

    context: ssl.SSLContext
    connections: int | None = None  # stop listening after this many
    counter: Counter = field(default_factory=Counter)
    port: int = 0
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None

    async def start(self) -> TlsThreadServer:
        self._sock = socket.socket()
        self._sock.bind((HOST, 0))
        self._sock.listen()
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, args=(self._sock,), daemon=True)
        self._thread.start()
        return self

    def _serve(self, listener: socket.socket) -> None:
        while listener.fileno() >= 0:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            self.counter.opened()
            if self.counter.accepted == self.connections:
                listener.close()  # later connections are refused
            with conn:
                conn.settimeout(5)
                try:
                    with self.context.wrap_socket(conn, server_side=True) as tls:
                        tls.sendall(b"220 mx.test\r\n")
                except (ssl.SSLError, OSError):
                    pass
            self.counter.closed()

    async def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
