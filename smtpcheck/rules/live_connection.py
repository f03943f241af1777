"""SC5xx: what a live probe found before TLS — DNS, TCP, the greeting, the SMTP dialogue."""

from __future__ import annotations

from collections.abc import Iterator

from smtpcheck.results import FailureKind, NotProbed, PortHint, Severity, TlsMode
from smtpcheck.rules.base import ProbedGateway, Scope, Violation, rule

__all__ = [
    "connect_timeout",
    "connection_refused",
    "dns_failure",
    "greeting_rejected",
    "no_greeting",
    "no_transport",
    "probe_skipped",
    "protocol_error",
    "slow_greeting",
]


@rule(code="SC501", slug="dns-failure", severity=Severity.ERROR, scope=Scope.LIVE)
def dns_failure(live: ProbedGateway) -> Iterator[Violation]:
    """The SMTP host name does not resolve.

    What it checks:
        That `mail.smtp.host` resolves to at least one address, within the connect timeout.

    Why it matters:
        JavaMail fails every message with an UnknownHostException ("Unknown SMTP host" in
        Angus Mail, "Couldn't connect to host" in com.sun.mail 2.0): no mail leaves the
        platform.

    Bad:
        A host with a typo, such as smtp.gmial.com, or an internal name the platform's DNS does
        not know.

    Good:
        A host name that resolves from where the platform runs, such as smtp.gmail.com.

    Fix:
        Correct mail.smtp.host; check it with `dig` or `nslookup` from the platform's network.
    """
    if (failure := live.failed(FailureKind.DNS)) is not None:
        yield Violation(
            f"mail.smtp.host does not resolve: {failure.detail}",
            param="mail.smtp.host",
            fix="correct mail.smtp.host: it must resolve in the DNS the platform uses",
        )


@rule(code="SC502", slug="connection-refused", severity=Severity.ERROR, scope=Scope.LIVE)
def connection_refused(live: ProbedGateway) -> Iterator[Violation]:
    """The host refused the TCP connection, or it could not be made.

    What it checks:
        The TCP connection to the host and the effective port.

    Why it matters:
        A refused connection means nothing listens on that port: usually the wrong port, or a
        server that is down. Every message fails.

    Bad:
        mail.smtp.port 2525 on a server that only listens on 25, 465 and 587.

    Good:
        The port the provider documents: 587 for STARTTLS, 465 for implicit TLS.

    Fix:
        Check mail.smtp.port (and mail.smtp.ssl.port with use_ssl) against the provider's docs.
    """
    port = live.config.settings.port
    if (failure := live.failed(FailureKind.CONNECT_REFUSED)) is not None:
        yield Violation(
            f"port {port} refused the connection: nothing listens there ({failure.detail})",
            param=_port_param(live),
            fix="use the port the provider documents: 587 (STARTTLS) or 465 (implicit TLS)",
        )
    elif (failure := live.failed(FailureKind.CONNECT_ERROR)) is not None:
        yield Violation(
            f"cannot connect to port {port}: {failure.detail}",
            param="mail.smtp.host",
            fix="check that the platform has a route to mail.smtp.host",
        )


@rule(code="SC503", slug="connect-timeout", severity=Severity.ERROR, scope=Scope.LIVE)
def connect_timeout(live: ProbedGateway) -> Iterator[Violation]:
    """The TCP connection got no answer within the timeout.

    What it checks:
        That the host answers the connection attempt within `mail.smtp.connectiontimeout`
        (capped by `--timeout`).

    Why it matters:
        A silent drop is a firewall or a host that is down. Without a connection timeout
        JavaMail waits as long as the operating system lets a connection attempt run (about
        2 minutes on Linux) on each message.

    Bad:
        Port 25 from a cloud network that blocks outbound SMTP.

    Good:
        Port 587 or 465, which cloud providers leave open.

    Fix:
        Check the firewall between the platform and the server; prefer 587 or 465 to 25.
    """
    if (failure := live.failed(FailureKind.CONNECT_TIMEOUT)) is not None:
        yield Violation(
            f"no answer to the connection: {failure.detail} (a firewall drops it, or the "
            f"host is down){_connect_wait(live)}",
            param=_port_param(live),
            fix="check the firewall to the server; outbound port 25 is often blocked, use 587",
        )


@rule(code="SC504", slug="no-greeting", severity=Severity.ERROR, scope=Scope.LIVE)
def no_greeting(live: ProbedGateway) -> Iterator[Violation]:
    """Connected, but the server sent no greeting.

    What it checks:
        That a plain connection gets the SMTP "220" greeting (RFC 5321 §3.1). When it does not,
        a second connection tries a TLS handshake to see whether the port speaks implicit TLS.

    Why it matters:
        A port that speaks implicit TLS (465) waits for the client's TLS handshake, and a client
        that waits for the greeting waits until its read timeout: every message hangs, then
        fails. This is what use_ssl=false on port 465 does.

    Bad:
        Port 465 with mail.smtp.use_ssl=false (STARTTLS or plain).

    Good:
        Port 465 with mail.smtp.use_ssl=true and STARTTLS off.

    Fix:
        If the port speaks implicit TLS, set mail.smtp.use_ssl=true; otherwise check the port.
    """
    failure = live.failed(FailureKind.NO_GREETING)
    if failure is None:
        return
    port = live.config.settings.port
    if live.probe.port_hint is PortHint.TLS and live.config.settings.mode is not TlsMode.IMPLICIT:
        yield Violation(
            f"port {port} speaks implicit TLS: set mail.smtp.use_ssl=true (and starttls off)"
            + _read_wait(live),
            param="mail.smtp.use_ssl",
            fix=f"set mail.smtp.use_ssl=true and mail.smtp.ssl.port={port}, and set "
            "mail.smtp.starttls.enable and mail.smtp.starttls.required to false",
        )
        return
    yield Violation(
        f"{failure.detail} on port {port}{_read_wait(live)}",
        param=_port_param(live),
        fix="check that the port is an SMTP port; an overloaded server may also greet late",
    )


def _read_wait(live: ProbedGateway) -> str:
    """Say how long JavaMail itself waits for the greeting the probe gave up on."""
    # No SO_TIMEOUT: the read returns only when the server closes (Postfix drops a silent
    # client after 300 s); a server that keeps the connection open is waited on for ever.
    forever = "until the server drops the connection: for ever if it never does"
    return _javamail_wait(live.config.settings.read_timeout_ms, "mail.smtp.timeout", forever)


def _connect_wait(live: ProbedGateway) -> str:
    """Say how long JavaMail itself waits for the connection the probe gave up on."""
    # Socket.connect without a timeout: the operating system's own limit (Linux retries a
    # SYN 6 times, about 2 minutes), for every message.
    forever = (
        "as long as the operating system lets a connection attempt run (about 2 minutes on Linux)"
    )
    ms = live.config.settings.connect_timeout_ms
    return _javamail_wait(ms, "mail.smtp.connectiontimeout", forever)


def _javamail_wait(ms: int | None, key: str, forever: str) -> str:
    if ms is None:
        return f"; without {key} JavaMail waits {forever}"
    return f"; JavaMail waits {ms / 1000:g} s ({key}), then fails"


@rule(code="SC505", slug="greeting-rejected", severity=Severity.ERROR, scope=Scope.LIVE)
def greeting_rejected(live: ProbedGateway) -> Iterator[Violation]:
    """The server greeted with a refusal (554, 421) instead of 220.

    What it checks:
        The code of the greeting (RFC 5321 §3.1 and §4.2.3).

    Why it matters:
        554 means the server will not talk to this client at all, typically because of the
        client's address (a blocklist, a relay not allowed); 421 that the service is shutting
        down or overloaded. No mail goes through.

    Bad:
        A relay that only accepts its own network greets the platform with 554.

    Good:
        A greeting of 220.

    Fix:
        Ask the mail provider to allow the platform's address, or use a server that does.
    """
    if (failure := live.failed(FailureKind.GREETING_REJECTED)) is not None:
        temporary = failure.reply_code is not None and 400 <= failure.reply_code < 500
        why = "the service is unavailable for now" if temporary else "it refuses this client"
        yield Violation(
            f"the server refused the session ({why}): {failure.detail}",
            param="mail.smtp.host",
            fix="ask the provider to accept connections from the platform's address",
        )


@rule(code="SC506", slug="protocol-error", severity=Severity.ERROR, scope=Scope.LIVE)
def protocol_error(live: ProbedGateway) -> Iterator[Violation]:
    """The server does not speak SMTP properly, stopped answering, or dropped the connection.

    What it checks:
        Every reply: that it is well-formed SMTP (a code from 2xx to 5xx, lines that end and
        stay under 8 KB), that it comes within the read timeout, that the connection stays
        open until QUIT, and that AUTH ends with 235 or a refusal (not 334 for ever).

    Why it matters:
        An SSH or HTTP banner means the port is not an SMTP port at all; a server that drops
        the connection or stops answering makes JavaMail fail the message. A server whose AUTH
        keeps asking for more makes JavaMail fail the login (AuthenticationFailedException)
        without having judged the password: changing the password does not help.

    Bad:
        mail.smtp.port 22 (an SSH server answers "SSH-2.0-…").

    Good:
        An SMTP port, which answers "220 …".

    Fix:
        Check mail.smtp.port; if the server drops connections, check its logs for the reason.
    """
    if (failure := live.failed(FailureKind.PROTOCOL)) is not None:
        if _failed_stage(live) == "auth":
            yield Violation(
                f"the AUTH exchange broke down: {failure.detail}. JavaMail fails the login "
                "all the same (AuthenticationFailedException), but the password was not refused",
                param="mail.smtp.auth",
                fix="keep the password; ask the provider why its AUTH does not end with 235 "
                "or 535 (run with -v for the transcript)",
            )
            return
        yield Violation(
            f"port {live.config.settings.port}: {failure.detail}",
            param=_port_param(live),
            fix="check that the host and port are an SMTP server, and the server's logs",
        )
    elif (failure := live.failed(FailureKind.READ_TIMEOUT, FailureKind.DEADLINE)) is not None:
        yield Violation(
            f"the server stopped answering: {failure.detail}",
            param="mail.smtp.timeout",
            fix="check the server's load and logs; a proxy in between may hold the connection",
        )


@rule(code="SC507", slug="slow-greeting", severity=Severity.WARNING, scope=Scope.LIVE)
def slow_greeting(live: ProbedGateway) -> Iterator[Violation]:
    """The greeting came, but slowly.

    What it checks:
        The time from the connection (or the end of the TLS handshake) to the greeting,
        against a threshold (5 s by default).

    Why it matters:
        Some servers delay the greeting on purpose to catch spammers (RFC 5321 §4.5.3.2 allows
        it), others are overloaded or wait on a slow reverse DNS lookup. Every message waits as
        long, and a short mail.smtp.timeout turns the delay into failures.

    Bad:
        A port 25 relay that greets after 20 seconds.

    Good:
        A submission port (587, 465) that greets at once.

    Fix:
        Use the submission port; keep mail.smtp.timeout well above the delay.
    """
    limit = live.slow_greeting_ms
    for step in live.probe.steps:
        if step.name == "greeting" and step.ok and step.ms > limit:
            yield Violation(
                f"the greeting took {step.ms / 1000:.1f} s (more than {limit / 1000:g} s)",
                param="mail.smtp.timeout",
                fix="use the submission port (587 or 465), and keep mail.smtp.timeout above "
                "the delay",
            )
            return


@rule(code="SC508", slug="probe-skipped", severity=Severity.INFO, scope=Scope.NOT_PROBED)
def probe_skipped(not_probed: NotProbed) -> Iterator[Violation]:
    """The gateway was not probed, because its config cannot be connected to as it is.

    What it checks:
        Before a probe: that the gateway has a usable host (SC101, SC102), a port in range
        (SC103) and no unset ${VARIABLE} (SC008).

    Why it matters:
        A probe of such a config would only report the same problem again, or connect
        somewhere the config does not mean (JavaMail takes an empty host for localhost).

    Bad:
        A gateway whose mail.smtp.host is empty.

    Good:
        A gateway with a host name and a port in range; it is probed.

    Fix:
        Fix the findings named in the message, then run smtpcheck check again.
    """
    yield Violation(f"not probed: {not_probed.reason}")


@rule(code="SC509", slug="no-transport", severity=Severity.ERROR, scope=Scope.LIVE)
def no_transport(live: ProbedGateway) -> Iterator[Violation]:
    """JavaMail has no transport for the protocol the config names.

    What it checks:
        Under `--transport session` (the platform calls `session.getTransport()`, which follows
        `mail.transport.protocol`): that the protocol is exactly `smtp` or `smtps`.

    Why it matters:
        Any other name, `SMTP` in capitals included, makes JavaMail throw
        NoSuchProviderException before it connects: every message fails. `Transport.send`
        ignores the key, so under `--transport send` this rule never fires (SC206 still warns).

    Bad:
        {"mail.transport.protocol": "SMTP"} with the platform calling session.getTransport().

    Good:
        {"mail.transport.protocol": "smtp"}

    Fix:
        Set mail.transport.protocol to smtp.
    """
    if (failure := live.failed(FailureKind.NO_TRANSPORT)) is not None:
        yield Violation(
            failure.detail,
            param="mail.transport.protocol",
            fix="set mail.transport.protocol to smtp",
        )


def _failed_stage(live: ProbedGateway) -> str | None:
    """Return the name of the stage the probe stopped at, if one failed."""
    failed = [step.name for step in live.probe.steps if not step.ok]
    return failed[-1] if failed else None


def _port_param(live: ProbedGateway) -> str:
    # With use_ssl the effective port is mail.smtp.ssl.port (config/javamail.py).
    if live.config.settings.mode is TlsMode.IMPLICIT and live.config.params.ssl_port is not None:
        return "mail.smtp.ssl.port"
    return "mail.smtp.port"
