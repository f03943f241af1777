"""Probe one gateway over real SMTP: explicit timed stages, in exactly the mode the config says.

resolve → connect → greeting → EHLO → STARTTLS → TLS → EHLO (implicit TLS: TLS → greeting; see
`opening`) → AUTH → [MAIL, RCPT, DATA only with --send-to] → QUIT. `probe_gateway` never raises
for network trouble: what the client, ssl and the socket layer raise is translated at one
boundary (`client.failure_of`) into a `ProbeFailure`, and the live rules turn the result into
findings.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Sequence
from typing import NoReturn

from smtpcheck.config.javamail import SmtpSettings, fails_before_connecting, login_problem
from smtpcheck.config.profile import TransportChoice
from smtpcheck.probe.certificate import VerifyFailure
from smtpcheck.probe.client import Client, ClientError, failure_of, refused_reply
from smtpcheck.probe.envelope import unsafe_address
from smtpcheck.probe.failures import StageFailure
from smtpcheck.probe.network import (
    Address,
    ExtraSlot,
    no_limit,
    open_socket,
)
from smtpcheck.probe.opening import Opener
from smtpcheck.probe.options import ProbeOptions
from smtpcheck.probe.recorder import Recorder, first_line
from smtpcheck.probe.tls import watch_handshake
from smtpcheck.probe.transcript import Transcript
from smtpcheck.redaction import reveal
from smtpcheck.results import (
    FailureKind,
    ProbeFailure,
    ProbeResult,
    SentMessage,
    TlsInfo,
    TlsMode,
)

__all__ = ["ProbeOptions", "probe_gateway"]

# JavaMail's mail.smtp.auth.mechanisms default is "LOGIN PLAIN DIGEST-MD5 NTLM", tried in that
# order; the probe speaks the first two (DIGEST-MD5 is obsolete, RFC 6331; NTLM is Microsoft's).
_AUTH_PREFERENCE = ("login", "plain")
_QUIT_TIMEOUT = 2.0  # QUIT is a courtesy: never wait long for its reply


async def probe_gateway(
    settings: SmtpSettings, options: ProbeOptions, *, extra_slot: ExtraSlot = no_limit
) -> ProbeResult:
    """Connect to a gateway as JavaMail would, and record every stage.

    A second connection (a look at what a silent port speaks) first takes a place from
    ``extra_slot``: the runner's per-host limit counts it.

    Raises:
        ValueError: the settings have no host (a config the static rules already reject).
    """
    if not settings.host:
        raise ValueError("the gateway has no mail.smtp.host")
    return await _Probe(settings, options, extra_slot).run()


class _Probe:
    """One probe: the stages in order, each recorded as it runs."""

    def __init__(
        self, settings: SmtpSettings, options: ProbeOptions, extra_slot: ExtraSlot
    ) -> None:
        self.s = settings
        self.o = options
        self.host = settings.host or ""
        self.rec = Recorder(Transcript(enabled=options.transcript))
        self.connect_timeout = _phase(settings.connect_timeout_ms, options.timeout)
        self.read_timeout = _phase(settings.read_timeout_ms, options.timeout)
        self.opener = Opener(
            settings=settings,
            rec=self.rec,
            translate=self._translate,
            insecure=options.tls.insecure,
            diagnose_after=options.diagnose_after,
            timeout=options.timeout,
            check_name=options.profile.library.checks_name,
            extra_slot=extra_slot,
        )
        self.logs_in = settings.logs_in(options.profile.credentials)

    async def run(self) -> ProbeResult:
        started = time.perf_counter()
        failure: ProbeFailure | None = None
        deadline = self.o.deadline if self.o.deadline is not None else 2 * self.o.timeout
        try:
            async with asyncio.timeout(deadline):
                await self._probe()
        except StageFailure as stop:
            failure = stop.failure
        except TimeoutError:  # the overall deadline: every stage's own timeout is translated
            failure = self._deadline_failure(deadline)
        return self.rec.result(started=started, failure=failure, secrets=self.s.secrets)

    def _deadline_failure(self, deadline: float) -> ProbeFailure:
        stage = self.rec.stage
        kind = {
            "connect": FailureKind.CONNECT_TIMEOUT,
            "greeting": FailureKind.NO_GREETING,
            "tls": FailureKind.TLS_HANDSHAKE,
        }.get(stage, FailureKind.DEADLINE)
        return ProbeFailure(
            kind, f"the probe's overall deadline of {deadline:g} s ran out ({stage})"
        )

    def _translate(self, exc: Exception, stage: str) -> StageFailure:
        timeout = self.connect_timeout if stage in ("resolve", "connect") else self.read_timeout
        failure = failure_of(exc, stage, host=self.host, port=self.s.port, timeout=timeout)
        refused = refused_reply(exc)
        if stage in ("greeting", "starttls", "data") and refused is not None:
            # These replies do not pass through execute_command, so they are written here.
            self.rec.transcript.reply(*refused)
        return failure

    async def _probe(self) -> None:
        if self.o.profile.transport is TransportChoice.SESSION and self.s.protocol not in (
            "smtp",
            "smtps",
        ):
            # session.getTransport() looks the protocol up (case-sensitively) among the
            # providers; Transport.send never does, it takes SMTP for an Internet address.
            stop = (
                f"session.getTransport() has no transport for protocol {self.s.protocol!r}: "
                "JavaMail fails (NoSuchProviderException) before connecting"
            )
            self.rec.record("transport", False, time.perf_counter(), stop)
            raise StageFailure(FailureKind.NO_TRANSPORT, stop)
        if self.logs_in and fails_before_connecting(self.s, self.o.profile.credentials):
            # Service.connect gives up before opening a socket: so does the probe.
            self._refuse_login()
        self._refuse_unsafe_addresses()
        addresses = await self._resolve()
        try:
            await self._session(addresses, self.o.tls.verifying)
        except StageFailure as stop:
            if stop.verify is None:
                raise
            if self.s.trust_all_hosts:
                self.rec.transcript.note(
                    "going on without certificate verification, as "
                    "mail.smtp.ssl.trust_all_hosts does"
                )
                await self._session(addresses, self.o.tls.insecure, verify=stop.verify)
                return
            await self._read_certificate(addresses, stop.verify)
            raise

    async def _read_certificate(self, addresses: Sequence[Address], verify: VerifyFailure) -> None:
        self.rec.transcript.note("a second connection, not verifying, only to read the certificate")
        first, started = len(self.rec.steps), time.perf_counter()
        # If this fails too, the certificate stays unknown; the verification error is the finding.
        with contextlib.suppress(StageFailure):
            await self._session(addresses, self.o.tls.insecure, verify=verify, cert_only=True)
        read = self.rec.tls is not None and self.rec.tls.cert is not None
        if self.rec.tls is None:  # still say why the certificate was refused
            self.rec.tls = TlsInfo(
                "", "", verified=False, verify_error=verify.message, verify_code=verify.code
            )
        del self.rec.steps[first:]  # one step stands for the whole second connection
        detail = "read over a second connection without verification"
        self.rec.record("certificate", read, started, detail if read else f"not {detail}")

    async def _resolve(self) -> Sequence[Address]:
        with self.rec.step("resolve", self._translate) as step:
            async with asyncio.timeout(self.connect_timeout):
                addresses = await self.o.resolver(self.host, self.s.port)
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, "the name has no address")
            step.detail = ", ".join(str(sockaddr[0]) for _, sockaddr in addresses)
        return addresses

    async def _session(
        self,
        addresses: Sequence[Address],
        context: ssl.SSLContext,
        *,
        verify: VerifyFailure | None = None,
        cert_only: bool = False,
    ) -> None:
        with self.rec.step("connect", self._translate) as step:
            async with asyncio.timeout(self.connect_timeout):
                sock, address = await open_socket(addresses)
            step.detail = f"{address[1][0]} port {address[1][1]}"
        try:
            client = Client(
                self.rec.transcript,
                hostname=self.opener.tls_name,  # SNI and the certificate's name check
                sock=sock,
                use_tls=self.s.mode is TlsMode.IMPLICIT,
                start_tls=False,  # never upgrade on our own: the mode is what the config says
                tls_context=context,
                local_hostname=self.o.ehlo_name,
                timeout=self.read_timeout,
            )
        except BaseException:
            sock.close()
            raise
        try:
            with watch_handshake(sock) as handshake:
                await self.opener.open(client, address, handshake, verify)
            if cert_only:
                return
            if self.logs_in:
                await self._authenticate(client)
            if self.o.send_to is not None:
                await self._send(client, self.o.send_to)
            elif self.o.mail_check and self.s.from_address is not None:
                await self._mail_from(client)
            await self._quit(client)
        finally:
            client.close()
            sock.close()  # the transport closes it too; without one it would leak

    async def _authenticate(self, client: Client) -> None:
        if not client.supports_extension("auth"):
            # JavaMail logs in only `if (... && supportsExtension("AUTH"))`, else it is
            # connected without it and the server decides at MAIL or RCPT (SC701).
            self.rec.transcript.note("the server does not offer AUTH: JavaMail goes on without it")
            return
        if login_problem(self.s, self.o.profile.credentials) is not None:
            self._refuse_login()
        offered = client.server_auth_methods
        mechanism = next((m for m in _AUTH_PREFERENCE if m in offered), None)
        if mechanism is None:
            detail = f"no mechanism in common: the server offers {' '.join(offered).upper()}"
            self.rec.record("auth", False, time.perf_counter(), detail)
            raise StageFailure(FailureKind.AUTH_MECHANISM, detail)
        login = client.auth_login if mechanism == "login" else client.auth_plain
        password = reveal(self.s.password) or ""
        with self.rec.step("auth", self._translate) as step:
            # Tried once, with one mechanism: servers lock accounts out after a few failures.
            reply = await login(self.s.user or "", password)
            step.detail, step.reply_code = f"{mechanism.upper()} accepted", reply.code

    def _refuse_login(self) -> NoReturn:
        """Fail the login JavaMail cannot make; it is never sent (it would count as refused)."""
        s = self.s
        if s.password is None or s.user is None:
            key, state = ("mail.smtp.password" if s.password is None else "mail.smtp.user"), "null"
        else:
            key, state = ("mail.smtp.user" if not s.user else "mail.smtp.password"), "empty"
        problem = login_problem(s, self.o.profile.credentials)
        detail = f"{key} is {state}: {problem}"
        self.rec.record("auth", False, time.perf_counter(), detail)
        raise StageFailure(FailureKind.NO_CREDENTIALS, detail)

    def _refuse_unsafe_addresses(self) -> None:
        """Refuse, before connecting, an address that would not reach the wire as one command."""
        sender = self.o.mail_from if self.o.send_to is not None and self.o.mail_from else None
        unsafe = unsafe_address(
            self.s.from_address,
            mail_from=sender,
            send_to=self.o.send_to,
            mail_check=self.o.mail_check,
        )
        if unsafe is not None:
            stage, kind, detail = unsafe
            self.rec.record(stage, False, time.perf_counter(), detail)
            raise StageFailure(kind, detail)

    async def _mail_from(self, client: Client) -> None:
        """Ask whether the server takes mail from the sender, without sending any (RSET after).

        The greeting and AUTH can pass where mail cannot: a server that wants STARTTLS first
        answers MAIL with 530 (RFC 3207 §4), one that wants a login with 530 5.7.0 (RFC 4954
        §6). An empty sender is the null reverse-path (RFC 5321 §4.5.5).
        """
        sender = self.s.from_address or ""
        with self.rec.step("mail", self._translate) as step:
            step.reply_code = (await client.mail(sender)).code
        with contextlib.suppress(ClientError, OSError):  # a courtesy, as QUIT is
            await client.rset(timeout=min(_QUIT_TIMEOUT, self.read_timeout))

    async def _send(self, client: Client, recipient: str) -> None:
        sender = self.o.mail_from or self.s.from_address
        if not sender:
            detail = "no sender to test with: default_from_address is empty and no --from given"
            self.rec.record("mail", False, time.perf_counter(), detail)
            raise StageFailure(FailureKind.SENDER_REJECTED, detail)
        with self.rec.step("mail", self._translate) as step:
            step.reply_code = (await client.mail(sender)).code
        with self.rec.step("rcpt", self._translate) as step:
            step.reply_code = (await client.rcpt(recipient)).code
        from smtpcheck.probe.message import build_test_message  # only --send-to sends one

        message = build_test_message(sender=sender, recipient=recipient, domain=self.o.ehlo_name)
        self.rec.transcript.command([b"DATA"])
        self.rec.transcript.note(
            f"the test message, {len(message.data)} bytes, token {message.token}"
        )
        with self.rec.step("data", self._translate) as step:
            reply = await client.data(message.data)
            step.detail, step.reply_code = first_line(reply), reply.code
        # Delivery latency counts from the 250 (RFC 5321 §4.1.1.4: the server took
        # responsibility for the message then).
        self.rec.sent = SentMessage(
            token=message.token,
            message_id=message.message_id,
            sender=sender,
            recipient=recipient,
            subject=message.subject,
            text=message.text,
            accepted_at=time.perf_counter(),
        )
        self.rec.transcript.reply(reply.code, reply.message)

    async def _quit(self, client: Client) -> None:
        started = time.perf_counter()
        try:
            reply = await client.quit(timeout=min(_QUIT_TIMEOUT, self.read_timeout))
        except (ClientError, OSError) as exc:  # a courtesy: never a finding
            self.rec.record("quit", False, started, f"{type(exc).__name__}: {exc}")
        except asyncio.CancelledError:  # the overall deadline: still only a courtesy
            self.rec.record("quit", False, started, "stopped by the probe's overall deadline")
            raise
        else:
            self.rec.record("quit", True, started, "", reply.code)


def _phase(config_ms: int | None, cap: float) -> float:
    """Return a phase's timeout: the config's (ms; None is infinite), never above the cap."""
    return cap if config_ms is None else min(config_ms / 1000, cap)
