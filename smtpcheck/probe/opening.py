"""Open an SMTP session in the configured mode: greeting, EHLO, and TLS (implicit or STARTTLS).

When the port does not answer as configured, a second short connection asks what it does speak
(the mismatch diagnosis of DESIGN §6): a port that stays silent but completes a TLS handshake
speaks implicit TLS; a port that breaks a TLS handshake but greets a plain connection with 220
speaks plain SMTP; a server that hangs up on the handshake but completes one that offers only
TLS 1.0 and 1.1 knows nothing newer.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import NoReturn

from smtpcheck.config.address import tls_name
from smtpcheck.config.javamail import SmtpSettings
from smtpcheck.probe.certificate import VerifyFailure, tls_info
from smtpcheck.probe.client import Client, GreetingTimeout, HeloRefused, Reply, starttls_version
from smtpcheck.probe.failures import StageFailure, unfinished_failure
from smtpcheck.probe.looks import plain_greeting, tls_version
from smtpcheck.probe.network import Address, ExtraSlot, no_limit, open_socket
from smtpcheck.probe.recorder import Recorder, Translate, first_line
from smtpcheck.probe.tls import Handshake, legacy_context, quickack
from smtpcheck.results import FailureKind, PortHint, TlsMode

__all__ = ["Opener"]

_LOOK_TIMEOUT = 2.0  # seconds for each second look at what a port speaks
# OpenSSL's reasons when the answer to a ClientHello was not TLS at all (a plain "220 …" greeting
# reads as a record of an unknown version).
_NOT_TLS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "UNKNOWN_PROTOCOL",
        "HTTP_REQUEST",
        "HTTPS_PROXY_REQUEST",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_LAYER_FAILURE",
    }
)
# OpenSSL's reason when the server's TLS version is below the client's minimum; given to a
# handshake the server hung up on when a second one, offering only TLS 1.0 and 1.1, completed.
_VERSION_TOO_LOW = "UNSUPPORTED_PROTOCOL"


@dataclass(frozen=True, slots=True)
class Opener:
    """Opens sessions for one probe, recording each stage."""

    settings: SmtpSettings
    rec: Recorder
    translate: Translate
    insecure: ssl.SSLContext  # for the second looks: which protocol, not whose certificate
    diagnose_after: float  # seconds without a greeting before the second look
    timeout: float  # the run's cap on each phase
    check_name: bool = True  # the library checks the name even when it trusts any chain
    extra_slot: ExtraSlot = no_limit  # a second look is one more connection to the address

    @property
    def host(self) -> str:
        return self.settings.host or ""

    @property
    def tls_name(self) -> str:
        """Return the name TLS checks the certificate against: an IP literal as Java reads it.

        Java's endpoint identification takes "127.1" and "[::1]" for the addresses they name,
        not for DNS names (observed with OpenJDK 17).
        """
        return tls_name(self.host)

    async def open(
        self,
        client: Client,
        address: Address,
        handshake: Handshake,
        verify: VerifyFailure | None,
    ) -> None:
        """Greet, EHLO and secure the session as the mode says; raise `StageFailure` if not."""
        if self.settings.mode is TlsMode.IMPLICIT:
            await self._implicit_tls(client, address, handshake, verify)
            await self._ehlo(client, before_tls=False)
            return
        await self._greeting(client, address)
        await self._ehlo(client, before_tls=True)
        if self.settings.mode is TlsMode.STARTTLS:
            await self._starttls(client, address, handshake, verify)

    async def _greeting(self, client: Client, address: Address) -> None:
        with self.rec.step("greeting", self.translate) as step:
            reply = await self._await_greeting(client, address)
            step.detail, step.reply_code = first_line(reply), reply.code
        self.rec.transcript.reply(reply.code, reply.message)

    async def _await_greeting(self, client: Client, address: Address) -> Reply:
        """Wait for the greeting; after a short silence, see if the port speaks TLS instead."""
        greeting = asyncio.create_task(client.connect())
        look: asyncio.Task[str | None] | None = None
        try:
            done, _ = await asyncio.wait({greeting}, timeout=self.diagnose_after)
            if not done and not client.unfinished_reply():  # an implicit TLS port says nothing
                self.rec.transcript.note(
                    f"no greeting after {self.diagnose_after:g} s: "
                    "trying a TLS handshake on a second connection"
                )
                look = asyncio.create_task(self._tls_look(address))
                await asyncio.wait({greeting, look}, return_when=asyncio.FIRST_COMPLETED)
                version = look.result() if look.done() else None
                if version is not None and not greeting.done():
                    self.rec.port_hint = PortHint.TLS
                    raise StageFailure(
                        FailureKind.NO_GREETING,
                        f"connected, but no greeting; port {self.settings.port} completed a TLS "
                        f"handshake ({version}) on a second connection: it speaks implicit TLS",
                    )
            try:
                return await greeting
            except GreetingTimeout as exc:
                if begun := client.unfinished_reply():
                    # It did greet, or began to: a line that never ends is no greeting.
                    raise unfinished_failure("greeting", begun, timeout=client.timeout) from exc
                if look is not None:
                    await asyncio.wait({look})
                    self.rec.port_hint = PortHint.TLS if look.result() else PortHint.SILENT
                raise
        finally:
            tasks = {task for task in (greeting, look) if task is not None}
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)

    async def _tls_look(self, address: Address) -> str | None:
        try:
            # Waiting for a place under the per-host limit counts towards the look's time.
            async with asyncio.timeout(min(_LOOK_TIMEOUT, self.timeout)), self.extra_slot(address):
                return await tls_version(
                    address, server_hostname=self.tls_name, context=self.insecure
                )
        except TimeoutError:
            return None

    async def _plain_look(self, address: Address) -> str | None:
        try:
            async with asyncio.timeout(min(_LOOK_TIMEOUT, self.timeout)), self.extra_slot(address):
                return await plain_greeting(address)
        except TimeoutError:
            return None

    async def _implicit_tls(
        self,
        client: Client,
        address: Address,
        handshake: Handshake,
        verify: VerifyFailure | None,
    ) -> None:
        try:
            reply = await self.rec.split(
                client.connect(),
                self.translate,
                first="tls",
                second="greeting",
                boundary=lambda: handshake.finished,
                reply_step="greeting",
            )
        except StageFailure as stop:
            failure = stop.failure
            if stop.dropped:
                await self._after_drop(client, address, stop)
            if failure.tls_error not in _NOT_TLS:
                raise
            # The port answered the handshake with something else: is it plain SMTP?
            line = await self._plain_look(address)
            self.rec.port_hint = PortHint.SMTP if line is not None else PortHint.SILENT
            if line is None:
                raise
            port = self.settings.port
            self.rec.transcript.note(f"a plain connection to port {port} got: {line}")
            raise StageFailure(
                failure.kind,
                f"{failure.detail}; port {port} greeted a plain connection with 220: "
                "it speaks plain SMTP",
                tls_error=failure.tls_error,
            ) from stop
        self._after_handshake(client, handshake, verify)
        self.rec.transcript.reply(reply.code, reply.message)

    async def _ehlo(self, client: Client, *, before_tls: bool) -> None:
        with self.rec.step("ehlo", self.translate) as step:
            try:
                reply = await client.ehlo()
            except HeloRefused:
                # RFC 5321 §3.2: a server that does not know EHLO is greeted with HELO.
                if not client.is_connected:
                    raise
                reply = await client.helo()
                step.detail = "EHLO refused, HELO accepted"
            step.reply_code = reply.code
        extensions, mechanisms = client.extension_lines(), tuple(client.server_auth_methods)
        if before_tls:
            self.rec.extensions_before_tls, self.rec.auth_before_tls = extensions, mechanisms
        self.rec.extensions, self.rec.auth = extensions, mechanisms

    async def _starttls(
        self,
        client: Client,
        address: Address,
        handshake: Handshake,
        verify: VerifyFailure | None,
    ) -> None:
        if not client.supports_extension("starttls"):
            detail = "the server does not offer STARTTLS"
            if self.settings.starttls_required:
                # "STARTTLS is required but host does not support STARTTLS": connect() fails.
                self.rec.record("starttls", False, time.perf_counter(), detail)
                raise StageFailure(FailureKind.STARTTLS_UNAVAILABLE, detail)
            # Without starttls.required JavaMail goes on in plain text, AUTH included (observed
            # with the real library), and so does the probe: SC601 and SC303 say what it costs.
            self.rec.record("starttls", False, time.perf_counter(), f"{detail}: plain text")
            self.rec.transcript.note("STARTTLS not offered: going on in plain text, as JavaMail")
            return
        self.rec.transcript.command([b"STARTTLS"])
        try:
            reply = await self.rec.split(
                client.starttls(),
                self.translate,
                first="starttls",
                second="tls",
                boundary=lambda: handshake.started,
                reply_step="starttls",
            )
        except StageFailure as stop:
            if stop.dropped:
                await self._after_drop(client, address, stop)
            raise
        self.rec.transcript.reply(reply.code, reply.message)
        self._after_handshake(client, handshake, verify)
        await self._ehlo(client, before_tls=False)  # RFC 3207 §4.2: forget all, ask again

    async def _after_drop(self, client: Client, address: Address, stop: StageFailure) -> NoReturn:
        """Judge a TLS upgrade the server hung up on, without an alert to say why.

        A server that knows no TLS 1.2 may drop a ClientHello it cannot answer instead of
        refusing its version: a second connection that offers only TLS 1.0 and 1.1 tells.
        """
        failure = stop.failure
        # Hung up before the handshake began, the server never saw which versions were offered.
        dropped_in_tls = failure.kind is FailureKind.TLS_HANDSHAKE
        version = await self._legacy_look(client, address) if dropped_in_tls else None
        if version is not None:
            self.rec.transcript.note(
                f"a second connection offering only TLS 1.0 and 1.1 negotiated {version}"
            )
            raise StageFailure(
                FailureKind.TLS_HANDSHAKE,
                f"{failure.detail}; a second connection offering only TLS 1.0 and 1.1 "
                f"negotiated {version}",
                tls_error=_VERSION_TOO_LOW,
            ) from stop
        if self.settings.mode is TlsMode.STARTTLS and dropped_in_tls:
            # It answered STARTTLS with 220, then hung up: STARTTLS failed, not a TLS setting.
            raise StageFailure(
                FailureKind.STARTTLS_FAILED,
                "the server accepted STARTTLS (220), then closed the connection during the "
                "TLS handshake, without a TLS alert",
                tls_error=failure.tls_error,
            ) from stop
        raise stop

    async def _legacy_look(self, client: Client, address: Address) -> str | None:
        context = legacy_context()
        if context is None:  # this OpenSSL cannot speak TLS 1.0 or 1.1 at all
            return None
        self.rec.transcript.note(
            "the server hung up on the TLS handshake: trying one that offers only TLS 1.0 and "
            "1.1 on a second connection"
        )
        limit = min(_LOOK_TIMEOUT, self.timeout)
        try:
            async with asyncio.timeout(limit), self.extra_slot(address):
                if self.settings.mode is TlsMode.IMPLICIT:
                    return await tls_version(
                        address, server_hostname=self.tls_name, context=context
                    )
                sock, _ = await open_socket([address])
                return await starttls_version(
                    sock, context, host=self.tls_name, ehlo_name=client.local_hostname
                )
        except (TimeoutError, OSError):
            return None

    def _after_handshake(
        self, client: Client, handshake: Handshake, verify: VerifyFailure | None
    ) -> None:
        if handshake.sock is not None:
            quickack(handshake.sock)  # the watch did it already, unless the context is foreign
        ssl_object = client.ssl_object()
        if ssl_object is None:
            return
        tls = tls_info(ssl_object, host=self.tls_name, verified=verify is None, failure=verify)
        self.rec.tls = tls
        state = "verified" if verify is None else "NOT verified"
        self.rec.transcript.note(f"TLS: {tls.version} {tls.cipher}, certificate {state}")
        if verify is not None and self.check_name and tls.name_matches is False:
            # Angus Mail trusts any chain under ssl.trust="*" but still checks the server's
            # identity (endpoint identification, on by default since Angus 1.1): it fails here.
            detail = (
                f"the certificate is not valid for {self.host}, and JavaMail checks the name "
                "even when it trusts every certificate"
            )
            self.rec.record("certificate", False, time.perf_counter(), detail)
            raise StageFailure(FailureKind.CERT_INVALID, detail)
