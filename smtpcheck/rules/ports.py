"""SC1xx: host and port, and whether the port fits the TLS mode (RFC 6409, RFC 8314)."""

from __future__ import annotations

from collections.abc import Iterator

from smtpcheck.config.address import host_problem, is_ip_literal, is_loopback
from smtpcheck.config.javamail import java_int
from smtpcheck.results import Severity, TlsMode
from smtpcheck.rules.base import Scope, SmtpGateway, Violation, rule

__all__ = [
    "auth_on_relay_port",
    "implicit_tls_on_plain_port",
    "invalid_host",
    "ip_host_with_tls",
    "loopback_host",
    "missing_host",
    "nonstandard_port",
    "plain_on_implicit_tls_port",
    "port_out_of_range",
    "ssl_port_mismatch",
]

IMPLICIT_TLS_PORT = 465  # RFC 8314 §3.3 "submissions"
SUBMISSION_PORT = 587  # RFC 6409
RELAY_PORT = 25
STANDARD_PORTS = frozenset({RELAY_PORT, IMPLICIT_TLS_PORT, SUBMISSION_PORT, 2525})
_PORT_RANGE = range(1, 65536)


@rule(code="SC101", slug="missing-host", severity=Severity.ERROR, scope=Scope.CONFIG)
def missing_host(config: SmtpGateway) -> Iterator[Violation]:
    """No SMTP host is set.

    What it checks:
        That `mail.smtp.host` is present and not empty.

    Why it matters:
        JavaMail does not fail on a missing host: it silently connects to `localhost` — the
        platform's own machine — where no mail server is expected to listen.

    Bad:
        {"mail.smtp.host": ""}

    Good:
        {"mail.smtp.host": "smtp.example.com"}

    Fix:
        Set mail.smtp.host to the mail server's host name.
    """
    if config.settings.host is None:
        yield Violation(
            "mail.smtp.host is empty: JavaMail would silently connect to localhost",
            param="mail.smtp.host",
            fix="set mail.smtp.host to the SMTP server's host name",
        )


@rule(code="SC102", slug="invalid-host", severity=Severity.ERROR, scope=Scope.CONFIG)
def invalid_host(config: SmtpGateway) -> Iterator[Violation]:
    """The host is not a bare host name or IP address.

    What it checks:
        `mail.smtp.host` for a URL scheme (`smtp://`), a `:port`, a path, a `user@`,
        spaces, characters no host name can have, or a mistyped IPv4 address such as
        `192.168.1.300` (no top-level domain is all digits, so it is looked up as a name).
        An IP address is read as Java's `InetAddress` reads it: `127.1`, `2130706433` and
        `127.0.0.01` are 127.0.0.1 and pass, `[::1]` and `::1` are both IPv6; a part in hex
        or octal (`0x7f000001`) and brackets around anything but IPv6 (`[192.0.2.25]`) fail.

    Why it matters:
        JavaMail hands the value to `InetAddress` as it is, so the lookup fails (an
        UnknownHostException) for every message. Current JDKs refuse hex and octal IPv4
        forms without any look-up, though the C library and many tools read `0x7f000001`
        as 127.0.0.1.

    Bad:
        {"mail.smtp.host": "smtp://smtp.example.com:587"}

    Good:
        {"mail.smtp.host": "smtp.example.com"}

    Fix:
        Write only the host name; the port goes in mail.smtp.port, the user in mail.smtp.user.
    """
    host = config.settings.host
    problem = host_problem(host) if host else None
    if problem:
        yield Violation(
            f"mail.smtp.host {host!r} is not a host name: {problem}",
            param="mail.smtp.host",
            fix="write only the host name, e.g. smtp.example.com",
        )


@rule(code="SC103", slug="port-out-of-range", severity=Severity.ERROR, scope=Scope.CONFIG)
def port_out_of_range(config: SmtpGateway) -> Iterator[Violation]:
    """A port is not between 1 and 65535.

    What it checks:
        `mail.smtp.port` and `mail.smtp.ssl.port`, when given.

    Why it matters:
        No connection can be made to port 0 or 70000; JavaMail fails on every message.

    Bad:
        {"mail.smtp.port": 70000}

    Good:
        {"mail.smtp.port": 587}

    Fix:
        Use the port the mail provider documents: usually 587 (STARTTLS) or 465 (implicit TLS).
    """
    ports = {"mail.smtp.port": config.params.port, "mail.smtp.ssl.port": config.params.ssl_port}
    for key, value in ports.items():
        # A JSON number past 32 bits is out of range too, though JavaMail reads it as "unset".
        port = value if isinstance(value, int) else java_int(value)
        if port is not None and port not in _PORT_RANGE:
            yield Violation(
                f"{key} is {port}, outside 1–65535",
                param=key,
                fix=f"set {key} to the server's port, usually 587 or 465",
            )


@rule(code="SC104", slug="implicit-tls-on-plain-port", severity=Severity.ERROR, scope=Scope.CONFIG)
def implicit_tls_on_plain_port(config: SmtpGateway) -> Iterator[Violation]:
    """Implicit TLS (use_ssl) on port 25 or 587, which speak plain SMTP first.

    What it checks:
        `mail.smtp.use_ssl` true while the port used is 25 or 587.

    Why it matters:
        Ports 25 and 587 greet in plain text and upgrade with STARTTLS (RFC 6409, RFC 3207). A
        client that starts with a TLS handshake there gets "unsupported or unrecognized SSL
        message" and never connects.

    Bad:
        {"mail.smtp.use_ssl": true, "mail.smtp.starttls.enable": false,
         "mail.smtp.starttls.required": false}

    Good:
        {"mail.smtp.use_ssl": true, "mail.smtp.starttls.enable": false,
         "mail.smtp.starttls.required": false, "mail.smtp.port": 465, "mail.smtp.ssl.port": 465}

    Fix:
        Either keep the port and use STARTTLS (use_ssl=false, starttls.enable=true,
        starttls.required=true), or keep use_ssl and move to port 465.

    References:
        RFC 6409 (submission on 587), RFC 8314 §3.3 (implicit TLS on 465).
    """
    s = config.settings
    if s.mode is TlsMode.IMPLICIT and s.port in (RELAY_PORT, SUBMISSION_PORT):
        yield Violation(
            f"mail.smtp.use_ssl=true on port {s.port}, but port {s.port} speaks plain SMTP and "
            "upgrades with STARTTLS: the TLS handshake will fail",
            param="mail.smtp.use_ssl",
            fix=f"set mail.smtp.use_ssl=false and mail.smtp.starttls.enable=true, "
            f"mail.smtp.starttls.required=true (or keep use_ssl and use port {IMPLICIT_TLS_PORT})",
        )


@rule(code="SC105", slug="plain-on-implicit-tls-port", severity=Severity.ERROR, scope=Scope.CONFIG)
def plain_on_implicit_tls_port(config: SmtpGateway) -> Iterator[Violation]:
    """Port 465 without use_ssl: the client waits for a greeting that never comes.

    What it checks:
        Port 465 used with `mail.smtp.use_ssl` false, whether or not STARTTLS is on.

    Why it matters:
        Port 465 is implicit TLS (RFC 8314 §3.3): the server waits for a TLS handshake before it
        says anything. A plain client waits for the "220" greeting instead, and both sides wait
        until the read timeout — 60 seconds per message with the panel's defaults. STARTTLS does
        not help: it can only be sent after the greeting.

    Bad:
        {"mail.smtp.port": 465, "mail.smtp.ssl.port": 465}

    Good:
        {"mail.smtp.port": 465, "mail.smtp.ssl.port": 465, "mail.smtp.use_ssl": true,
         "mail.smtp.starttls.enable": false, "mail.smtp.starttls.required": false}

    Fix:
        Set mail.smtp.use_ssl=true and turn STARTTLS off — or keep STARTTLS and use port 587.

    References:
        RFC 8314 §3.3.
    """
    s = config.settings
    if s.mode is not TlsMode.IMPLICIT and s.port == IMPLICIT_TLS_PORT:
        yield Violation(
            "port 465 speaks implicit TLS, but mail.smtp.use_ssl is off: the server waits for a "
            "TLS handshake and the greeting never comes",
            param="mail.smtp.use_ssl",
            fix="set mail.smtp.use_ssl=true and mail.smtp.starttls.enable=false, "
            "mail.smtp.starttls.required=false (or keep STARTTLS and use port 587)",
        )


@rule(code="SC106", slug="ssl-port-mismatch", severity=Severity.WARNING, scope=Scope.CONFIG)
def ssl_port_mismatch(config: SmtpGateway) -> Iterator[Violation]:
    """With use_ssl on, mail.smtp.ssl.port and mail.smtp.port differ.

    What it checks:
        Both ports, when `mail.smtp.use_ssl` is true.

    Why it matters:
        `mail.smtp.ssl.port` is the port used for implicit TLS, and the panel always writes both
        keys equal. Two different values mean one of them was edited by hand, and which one the
        mail sender uses depends on its version. smtpcheck connects to `mail.smtp.ssl.port`.

    Bad:
        {"mail.smtp.use_ssl": true, "mail.smtp.starttls.enable": false,
         "mail.smtp.starttls.required": false, "mail.smtp.port": 25, "mail.smtp.ssl.port": 465}

    Good:
        {"mail.smtp.use_ssl": true, "mail.smtp.starttls.enable": false,
         "mail.smtp.starttls.required": false, "mail.smtp.port": 465, "mail.smtp.ssl.port": 465}

    Fix:
        Set both ports to the implicit-TLS port, usually 465.
    """
    if config.settings.mode is not TlsMode.IMPLICIT:
        return
    port = java_int(config.params.port)
    ssl_port = java_int(config.params.ssl_port)
    if port is not None and ssl_port is not None and port != ssl_port:
        yield Violation(
            f"mail.smtp.ssl.port is {ssl_port} but mail.smtp.port is {port}: with use_ssl the "
            f"connection goes to {ssl_port}, and the panel always writes both equal",
            param="mail.smtp.port",
            fix=f"set mail.smtp.port and mail.smtp.ssl.port to the same port ({ssl_port})",
        )


@rule(code="SC107", slug="nonstandard-port", severity=Severity.INFO, scope=Scope.CONFIG)
def nonstandard_port(config: SmtpGateway) -> Iterator[Violation]:
    """The port is not one of the usual SMTP ports 25, 465, 587 or 2525.

    What it checks:
        The port the gateway connects to.

    Why it matters:
        Nothing wrong in itself — test servers such as MailHog listen on 1025 — but an unusual port
        is often a typo, and outbound firewalls tend to allow only the usual ones.

    Bad:
        {"mail.smtp.port": 5870, "mail.smtp.ssl.port": 5870}

    Good:
        {"mail.smtp.port": 587, "mail.smtp.ssl.port": 587}

    Fix:
        Check the port against the provider's documentation.
    """
    port = config.settings.port
    if port not in STANDARD_PORTS and port in _PORT_RANGE:
        yield Violation(
            f"port {port} is not a usual SMTP port (25, 465, 587, 2525)",
            param="mail.smtp.ssl.port"
            if config.settings.mode is TlsMode.IMPLICIT
            else "mail.smtp.port",
        )


@rule(code="SC108", slug="auth-on-relay-port", severity=Severity.WARNING, scope=Scope.CONFIG)
def auth_on_relay_port(config: SmtpGateway) -> Iterator[Violation]:
    """AUTH on port 25, the relay port, instead of the submission ports.

    What it checks:
        `mail.smtp.auth` true with port 25.

    Why it matters:
        Port 25 is for relay between mail servers (RFC 6409); authenticated submission belongs on
        587 (STARTTLS) or 465 (implicit TLS). Many providers refuse AUTH on 25, and many networks
        block outbound port 25 altogether.

    Bad:
        {"mail.smtp.port": 25, "mail.smtp.ssl.port": 25}

    Good:
        {"mail.smtp.port": 587, "mail.smtp.ssl.port": 587}

    Fix:
        Use port 587 with STARTTLS, or 465 with use_ssl.

    References:
        RFC 6409 §1, RFC 8314 §3.3.
    """
    if config.settings.auth and config.settings.port == RELAY_PORT:
        yield Violation(
            "mail.smtp.auth=true on port 25: port 25 is for relay between servers, and is often "
            "blocked outbound; authenticated submission belongs on 587 or 465",
            param="mail.smtp.port",
            fix="use port 587 with STARTTLS, or port 465 with use_ssl",
        )


@rule(code="SC109", slug="loopback-host", severity=Severity.INFO, scope=Scope.CONFIG)
def loopback_host(config: SmtpGateway) -> Iterator[Violation]:
    """The host is localhost or a loopback address: the platform's own machine.

    What it checks:
        `mail.smtp.host` is `localhost`, `*.localhost`, 127.0.0.0/8 or `::1`.

    Why it matters:
        On the platform this means the mail server must run on the platform itself. That is right
        for a local relay or a test server, and wrong for a dealer's own mail provider.

    Bad:
        {"mail.smtp.host": "localhost"}

    Good:
        {"mail.smtp.host": "smtp.example.com"}

    Fix:
        Nothing to do for a local relay; otherwise set the provider's host name.
    """
    host = config.settings.host
    if host and is_loopback(host):
        yield Violation(
            f"mail.smtp.host {host!r} is the platform's own machine",
            param="mail.smtp.host",
        )


@rule(code="SC110", slug="ip-host-with-tls", severity=Severity.WARNING, scope=Scope.CONFIG)
def ip_host_with_tls(config: SmtpGateway) -> Iterator[Violation]:
    """TLS to a host given as an IP address: the certificate name check will likely fail.

    What it checks:
        `mail.smtp.host` is an IP address while TLS is on and certificates are checked.

    Why it matters:
        The certificate is checked against the host as configured (RFC 7817). Certificates name
        host names, rarely IP addresses, so the check fails — unless the certificate carries that
        IP address in its subjectAltName.

    Bad:
        {"mail.smtp.host": "192.0.2.25"}

    Good:
        {"mail.smtp.host": "smtp.example.com"}

    Fix:
        Use the host name the certificate was issued for.

    References:
        RFC 7817 §3, RFC 8314 §5.
    """
    s = config.settings
    if s.host and s.mode is not TlsMode.NONE and not s.trust_all_hosts and is_ip_literal(s.host):
        yield Violation(
            f"mail.smtp.host is the IP address {s.host}: the certificate name check fails unless "
            "the certificate carries this address",
            param="mail.smtp.host",
            fix="use the host name the server's certificate was issued for",
        )
