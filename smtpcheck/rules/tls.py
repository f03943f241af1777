"""SC2xx: the SSL / STARTTLS flags, certificate checking and the transport protocol."""

from __future__ import annotations

from collections.abc import Iterator

from smtpcheck.config.javamail import java_bool
from smtpcheck.results import Severity, TlsMode
from smtpcheck.rules.base import Scope, SmtpGateway, Violation, rule
from smtpcheck.rules.ports import IMPLICIT_TLS_PORT

__all__ = [
    "certificate_checks_disabled",
    "invalid_protocol",
    "opportunistic_starttls",
    "smtps_protocol_mismatch",
    "ssl_and_starttls",
    "starttls_required_not_enabled",
    "trust_all_without_tls",
]


@rule(code="SC201", slug="ssl-and-starttls", severity=Severity.WARNING, scope=Scope.CONFIG)
def ssl_and_starttls(config: SmtpGateway) -> Iterator[Violation]:
    """use_ssl and STARTTLS are both on; they are mutually exclusive.

    What it checks:
        `mail.smtp.use_ssl` together with `mail.smtp.starttls.enable` or
        `mail.smtp.starttls.required`.

    Why it matters:
        Implicit TLS starts the TLS handshake at once; STARTTLS upgrades a plain connection
        later. A connection is one or the other. JavaMail uses implicit TLS and quietly skips
        STARTTLS on the SSL socket (so on 465 such a gateway works), and the panel shows it as
        "SSL": the STARTTLS flags only mislead whoever reads the config. A warning, since the
        connection does not depend on them; on a plain port, SC104 is the error.

    Bad:
        {"mail.smtp.use_ssl": true, "mail.smtp.port": 465, "mail.smtp.ssl.port": 465}

    Good:
        {"mail.smtp.use_ssl": true, "mail.smtp.port": 465, "mail.smtp.ssl.port": 465,
         "mail.smtp.starttls.enable": false, "mail.smtp.starttls.required": false}

    Fix:
        On port 465 keep use_ssl and turn STARTTLS off; on 587 or 25 turn use_ssl off.
    """
    p = config.params
    if not java_bool(p.use_ssl):
        return
    flags = [
        key
        for key, value in (
            ("mail.smtp.starttls.enable", p.starttls_enable),
            ("mail.smtp.starttls.required", p.starttls_required),
        )
        if java_bool(value)
    ]
    if not flags:
        return
    if config.settings.port == IMPLICIT_TLS_PORT:
        fix = "keep mail.smtp.use_ssl=true and set " + ", ".join(f"{f}=false" for f in flags)
    else:
        fix = (
            f"on port {config.settings.port} set mail.smtp.use_ssl=false and keep STARTTLS "
            "(or keep use_ssl, turn STARTTLS off and use port 465)"
        )
    yield Violation(
        f"mail.smtp.use_ssl and {' and '.join(flags)} are "
        f"{'both' if len(flags) == 1 else 'all'} on: implicit TLS and STARTTLS "
        "are mutually exclusive: JavaMail uses implicit TLS and skips STARTTLS",
        param="mail.smtp.use_ssl",
        fix=fix,
    )


@rule(
    code="SC202",
    slug="starttls-required-not-enabled",
    severity=Severity.WARNING,
    scope=Scope.CONFIG,
)
def starttls_required_not_enabled(config: SmtpGateway) -> Iterator[Violation]:
    """starttls.required is on but starttls.enable is off.

    What it checks:
        `mail.smtp.starttls.required` true with `mail.smtp.starttls.enable` false (and
        `use_ssl` off).

    Why it matters:
        The flags contradict each other. JavaMail issues STARTTLS when either is set, so this
        works today as "required" — but the panel shows the gateway as unencrypted ("None"), and
        the next save from the panel drops the requirement.

    Bad:
        {"mail.smtp.starttls.enable": false}

    Good:
        {"mail.smtp.starttls.enable": true}

    Fix:
        Set mail.smtp.starttls.enable=true as well.
    """
    p = config.params
    if (
        java_bool(p.starttls_required)
        and not java_bool(p.starttls_enable)
        and not java_bool(p.use_ssl)
    ):
        yield Violation(
            "mail.smtp.starttls.required=true but mail.smtp.starttls.enable=false: JavaMail "
            "still uses STARTTLS, but the panel shows this gateway as unencrypted",
            param="mail.smtp.starttls.enable",
            fix="set mail.smtp.starttls.enable=true",
        )


@rule(code="SC203", slug="opportunistic-starttls", severity=Severity.INFO, scope=Scope.CONFIG)
def opportunistic_starttls(config: SmtpGateway) -> Iterator[Violation]:
    """STARTTLS is enabled but not required: a silent fall-back to plain text is possible.

    What it checks:
        `mail.smtp.starttls.enable` true with `mail.smtp.starttls.required` false. A note
        without AUTH; a warning with AUTH, because then the password is what leaks.

    Why it matters:
        If the server does not offer STARTTLS — or an attacker on the path strips it from the
        EHLO reply — JavaMail carries on in plain text without a word (RFC 4954 §9 warns about
        exactly this downgrade).

    Bad:
        {"mail.smtp.starttls.required": false}

    Good:
        {"mail.smtp.starttls.required": true}

    Fix:
        Set mail.smtp.starttls.required=true.

    References:
        RFC 3207 §6, RFC 4954 §9.
    """
    s = config.settings
    if s.mode is TlsMode.STARTTLS and not s.starttls_required:
        if s.auth:
            yield Violation(
                "STARTTLS is enabled but not required: if the server does not offer it, the "
                "password is sent in clear text without a warning",
                param="mail.smtp.starttls.required",
                fix="set mail.smtp.starttls.required=true",
                severity=Severity.WARNING,
            )
        else:
            yield Violation(
                "STARTTLS is enabled but not required: mail goes out in clear text, silently, "
                "when the server does not offer it",
                param="mail.smtp.starttls.required",
                fix="set mail.smtp.starttls.required=true",
            )


@rule(
    code="SC204", slug="certificate-checks-disabled", severity=Severity.WARNING, scope=Scope.CONFIG
)
def certificate_checks_disabled(config: SmtpGateway) -> Iterator[Violation]:
    """trust_all_hosts turns off certificate checking on a TLS gateway.

    What it checks:
        `mail.smtp.ssl.trust_all_hosts` true while TLS (implicit or STARTTLS) is on.

    Why it matters:
        Without certificate checks anyone on the path can pose as the mail server and read the
        password and every message: the connection is encrypted, but to whom is unknown. RFC 8314
        §5 says such a session must not count as confidential. Fine for a test server with a
        self-signed certificate; a risk for anything real. JavaMail then trusts any chain
        (ssl.trust="*"); Angus Mail still checks the certificate's name, older com.sun.mail
        checks nothing. smtpcheck still verifies the certificate and reports what it finds.

    Bad:
        {"mail.smtp.ssl.trust_all_hosts": true}

    Good:
        {"mail.smtp.ssl.trust_all_hosts": false}

    Fix:
        Give the server a certificate from a public CA (e.g. Let's Encrypt) and set
        mail.smtp.ssl.trust_all_hosts=false.

    References:
        RFC 8314 §5, RFC 7817.
    """
    if config.settings.trust_all_hosts and config.settings.mode is not TlsMode.NONE:
        yield Violation(
            "mail.smtp.ssl.trust_all_hosts=true: JavaMail trusts any certificate chain, so "
            "anyone on the path can pose as the server",
            param="mail.smtp.ssl.trust_all_hosts",
            fix="use a certificate from a trusted CA and set mail.smtp.ssl.trust_all_hosts=false",
        )


@rule(code="SC205", slug="trust-all-without-tls", severity=Severity.INFO, scope=Scope.CONFIG)
def trust_all_without_tls(config: SmtpGateway) -> Iterator[Violation]:
    """trust_all_hosts is on, but the gateway uses no TLS, so it has no effect.

    What it checks:
        `mail.smtp.ssl.trust_all_hosts` true with neither use_ssl nor STARTTLS.

    Why it matters:
        There is no certificate to trust. The panel clears this box when encryption is "None",
        so the record was edited by hand, or TLS was meant to be on.

    Bad:
        {"mail.smtp.ssl.trust_all_hosts": true, "mail.smtp.starttls.enable": false,
         "mail.smtp.starttls.required": false, "mail.smtp.auth": false,
         "mail.smtp.user": null, "mail.smtp.password": null}

    Good:
        {"mail.smtp.ssl.trust_all_hosts": false, "mail.smtp.starttls.enable": false,
         "mail.smtp.starttls.required": false, "mail.smtp.auth": false,
         "mail.smtp.user": null, "mail.smtp.password": null}

    Fix:
        Turn TLS on, or set mail.smtp.ssl.trust_all_hosts=false.
    """
    if config.settings.trust_all_hosts and config.settings.mode is TlsMode.NONE:
        yield Violation(
            "mail.smtp.ssl.trust_all_hosts=true has no effect: this gateway uses no TLS",
            param="mail.smtp.ssl.trust_all_hosts",
            fix="turn TLS on, or set mail.smtp.ssl.trust_all_hosts=false",
        )


@rule(code="SC206", slug="invalid-protocol", severity=Severity.ERROR, scope=Scope.CONFIG)
def invalid_protocol(config: SmtpGateway) -> Iterator[Violation]:
    """mail.transport.protocol is neither smtp nor smtps.

    What it checks:
        `mail.transport.protocol`, when given.

    Why it matters:
        JavaMail has exactly two SMTP transports, `smtp` and `smtps`, looked up by exact name:
        if the platform calls `session.getTransport()`, any other name (`SMTP`, `tls`,
        `smtp+starttls`) makes it fail with NoSuchProviderException before connecting (SC509
        under `--transport session`); `Transport.send` ignores the key.

    Bad:
        {"mail.transport.protocol": "tls"}

    Good:
        {"mail.transport.protocol": "smtp"}

    Fix:
        Set mail.transport.protocol to smtp, and choose TLS with use_ssl / starttls.enable.
    """
    protocol = config.params.protocol
    if protocol is not None and protocol not in ("smtp", "smtps"):
        yield Violation(
            f"mail.transport.protocol is {protocol!r}: JavaMail knows only smtp and smtps; "
            "session.getTransport() fails on it, Transport.send ignores it",
            param="mail.transport.protocol",
            fix="set mail.transport.protocol to smtp (choose TLS with use_ssl or starttls.enable)",
        )


@rule(code="SC207", slug="smtps-protocol-mismatch", severity=Severity.WARNING, scope=Scope.CONFIG)
def smtps_protocol_mismatch(config: SmtpGateway) -> Iterator[Violation]:
    """mail.transport.protocol is smtps, under which JavaMail ignores the mail.smtp.* params.

    What it checks:
        `mail.transport.protocol` set to `smtps`.

    Why it matters:
        JavaMail names its properties after the protocol. If the platform calls
        `session.getTransport()`, protocol `smtps` gives the SSL transport, which reads only
        `mail.smtps.host`, `mail.smtps.port` and so on: every `mail.smtp.*` param here is
        ignored, and it connects to localhost, port 465, with no timeouts (observed with the
        real library). `Transport.send` ignores the key and uses these params. The panel always
        writes `smtp` and selects implicit TLS with `mail.smtp.use_ssl`.

    Bad:
        {"mail.transport.protocol": "smtps", "mail.smtp.use_ssl": true,
         "mail.smtp.starttls.enable": false, "mail.smtp.starttls.required": false,
         "mail.smtp.port": 465, "mail.smtp.ssl.port": 465}

    Good:
        {"mail.transport.protocol": "smtp", "mail.smtp.use_ssl": true,
         "mail.smtp.starttls.enable": false, "mail.smtp.starttls.required": false,
         "mail.smtp.port": 465, "mail.smtp.ssl.port": 465}

    Fix:
        Set mail.transport.protocol=smtp and mail.smtp.use_ssl=true.
    """
    if config.params.protocol == "smtps":
        tail = "" if config.settings.mode is TlsMode.IMPLICIT else ", and use_ssl is off"
        yield Violation(
            "mail.transport.protocol=smtps: with session.getTransport() JavaMail reads only "
            "mail.smtps.* keys, ignores these mail.smtp.* params and connects to localhost:465; "
            f"Transport.send ignores the key{tail}",
            param="mail.transport.protocol",
            fix="set mail.transport.protocol=smtp and select implicit TLS with "
            "mail.smtp.use_ssl=true",
        )
