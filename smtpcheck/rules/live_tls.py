"""SC6xx: what a live probe found about TLS — STARTTLS, the handshake and the certificate."""

from __future__ import annotations

from collections.abc import Iterator

from smtpcheck.results import FailureKind, PortHint, Severity, TlsMode
from smtpcheck.rules.base import ProbedGateway, Scope, Violation, rule

__all__ = [
    "certificate_expired",
    "certificate_expires_soon",
    "certificate_name_mismatch",
    "certificate_untrusted",
    "starttls_failed",
    "starttls_not_offered",
    "tls_handshake_failed",
    "weak_tls_version",
]

# OpenSSL's X509_V_ERR_* codes that name a problem other than an untrusted chain.
_CERT_EXPIRED = 10
_CERT_NOT_YET_VALID = 9
_NAME_MISMATCH = frozenset({62, 64})  # host name, IP address
_NOT_TRUST = frozenset({_CERT_EXPIRED, _CERT_NOT_YET_VALID, *_NAME_MISMATCH})
# OpenSSL's reasons when the two sides share no protocol version.
_VERSION_REFUSED = frozenset(
    {
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "NO_PROTOCOLS_AVAILABLE",
        "WRONG_SSL_VERSION",
        "VERSION_TOO_LOW",
    }
)
_WEAK_VERSIONS = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"})  # RFC 8996


@rule(code="SC601", slug="starttls-not-offered", severity=Severity.ERROR, scope=Scope.LIVE)
def starttls_not_offered(live: ProbedGateway) -> Iterator[Violation]:
    """The config asks for STARTTLS, but the server does not offer it.

    What it checks:
        The EHLO reply of a STARTTLS gateway for the STARTTLS extension (RFC 3207 §4). An
        error when `mail.smtp.starttls.required` or `mail.smtp.auth` is on, else a warning.

    Why it matters:
        With starttls.required JavaMail refuses to go on: every message fails. Without it,
        JavaMail silently sends in plain text — and with AUTH on, it logs in in clear text
        too; the probe goes on as JavaMail does.

    Bad:
        STARTTLS on a port or server that does not offer it (a plain relay on 25).

    Good:
        A server whose EHLO reply lists STARTTLS, or implicit TLS on 465.

    Fix:
        Use the provider's submission port (587) or implicit TLS on 465 (use_ssl=true).
    """
    s, probe = live.config.settings, live.probe
    ehlo_done = any(step.name == "ehlo" and step.ok for step in probe.steps)
    if s.mode is not TlsMode.STARTTLS or not ehlo_done:
        return
    if probe.offers("STARTTLS", before_tls=True):
        return
    fix = "use the submission port 587 or implicit TLS on 465 (mail.smtp.use_ssl=true)"
    if live.failed(FailureKind.STARTTLS_UNAVAILABLE) is not None:
        yield Violation(
            "the server does not offer STARTTLS, and mail.smtp.starttls.required makes "
            "JavaMail fail: every message fails",
            param="mail.smtp.starttls.required",
            fix=fix,
        )
    elif s.auth:
        yield Violation(
            "the server does not offer STARTTLS: JavaMail goes on in plain text and logs in "
            "in clear text, so the password and the mail travel unencrypted",
            param="mail.smtp.starttls.enable",
            fix=f"{fix}; set mail.smtp.starttls.required=true so JavaMail never logs in in clear",
        )
    else:
        yield Violation(
            "the server does not offer STARTTLS: JavaMail goes on in plain text, so mail "
            "travels unencrypted",
            param="mail.smtp.starttls.enable",
            fix=fix,
            severity=Severity.WARNING,
        )


@rule(code="SC602", slug="starttls-failed", severity=Severity.ERROR, scope=Scope.LIVE)
def starttls_failed(live: ProbedGateway) -> Iterator[Violation]:
    """The server offered STARTTLS but refused the command.

    What it checks:
        The reply to STARTTLS: 220 to go ahead; 454 (TLS not available for now) or 501 are
        refusals (RFC 3207 §4). A server that closes the connection instead of answering, or
        after its 220 and before the TLS handshake ends, without a TLS alert, fails STARTTLS
        too (unless it completes a handshake offering only TLS 1.0 and 1.1: SC608).

    Why it matters:
        JavaMail cannot start TLS and fails every message: its STARTTLS either gets a refusal
        or loses the connection. A 454, or a server that accepts STARTTLS and hangs up, often
        means the server's own certificate or key is missing or unreadable.

    Bad:
        A server that advertises STARTTLS and answers it with "454 TLS not available".

    Good:
        A server that answers STARTTLS with 220 and completes the handshake.

    Fix:
        Ask the provider to fix TLS on the server, or use implicit TLS on 465 if it works.
    """
    if (failure := live.failed(FailureKind.STARTTLS_FAILED)) is not None:
        what = (
            "the server refused STARTTLS" if failure.reply_code is not None else "STARTTLS failed"
        )
        yield Violation(
            f"{what}: {failure.detail}",
            param="mail.smtp.starttls.enable",
            fix="ask the provider to fix TLS on the server (its certificate or key), or use 465",
        )


@rule(code="SC603", slug="tls-handshake-failed", severity=Severity.ERROR, scope=Scope.LIVE)
def tls_handshake_failed(live: ProbedGateway) -> Iterator[Violation]:
    """The TLS handshake failed (not because of the certificate).

    What it checks:
        The TLS handshake, implicit or after STARTTLS. When implicit TLS fails, a second plain
        connection looks for a "220" greeting, which means the port speaks plain SMTP.

    Why it matters:
        use_ssl=true on a STARTTLS or plain port (587, 25) makes JavaMail start a handshake the
        server takes for garbage: "Unsupported or unrecognized SSL message", every time.

    Bad:
        Port 587 with mail.smtp.use_ssl=true.

    Good:
        Port 587 with use_ssl=false and mail.smtp.starttls.enable=true (and required).

    Fix:
        On a port that speaks plain SMTP, turn use_ssl off and STARTTLS on.
    """
    failure = live.failed(FailureKind.TLS_HANDSHAKE)
    if failure is None or failure.tls_error in _VERSION_REFUSED:
        return
    port = live.config.settings.port
    if live.probe.port_hint is PortHint.SMTP:
        yield Violation(
            f"port {port} speaks plain SMTP: use STARTTLS (use_ssl=false, starttls.enable=true)",
            param="mail.smtp.use_ssl",
            fix="set mail.smtp.use_ssl=false, mail.smtp.starttls.enable=true and "
            "mail.smtp.starttls.required=true (or use port 465 for implicit TLS)",
        )
        return
    yield Violation(
        f"{failure.detail} (port {port})",
        param="mail.smtp.use_ssl" if live.config.settings.mode is TlsMode.IMPLICIT else None,
        fix="check that the port speaks the TLS mode configured; run with -v for the transcript",
    )


@rule(code="SC604", slug="certificate-untrusted", severity=Severity.ERROR, scope=Scope.LIVE)
def certificate_untrusted(live: ProbedGateway) -> Iterator[Violation]:
    """The server's certificate does not chain to a trusted CA.

    What it checks:
        Certificate verification against the system CAs plus `--ca-file`. A warning, still
        reported, when `mail.smtp.ssl.trust_all_hosts` is on: JavaMail then accepts it.

    Why it matters:
        JavaMail verifies the chain: a self-signed or privately issued certificate fails every
        message. With trust_all_hosts anyone on the path can intercept the mail and password.

    Bad:
        A self-signed certificate on the server.

    Good:
        A certificate from a public CA (Let's Encrypt, the provider's own).

    Fix:
        Install a publicly trusted certificate on the server; pass a private CA with --ca-file.
    """
    tls = live.probe.tls
    if tls is None or tls.verified or tls.verify_code in _NOT_TRUST:
        return
    issuer = f" (issued by {tls.cert.issuer})" if tls.cert is not None else ""
    yield Violation(
        f"the server's certificate is not trusted: {tls.verify_error or 'unknown reason'}{issuer}"
        + _trust_all_note(live),
        param="mail.smtp.ssl.trust_all_hosts" if live.config.settings.trust_all_hosts else None,
        fix="install a certificate from a public CA on the server (or pass its CA with "
        "--ca-file if it is a private one)",
        severity=_trust_all_severity(live),
    )


@rule(code="SC605", slug="certificate-name-mismatch", severity=Severity.ERROR, scope=Scope.LIVE)
def certificate_name_mismatch(live: ProbedGateway) -> Iterator[Violation]:
    """The certificate is not valid for the configured host name.

    What it checks:
        That the certificate's subjectAltName (or, without one, its common name) covers
        `mail.smtp.host` (RFC 6125; an IP address needs an IP entry). A warning under
        `--javamail legacy`, whose library does not check the name.

    Why it matters:
        Current JavaMail (Angus Mail, Jakarta Mail 2.1+) checks the server's identity, and
        still does with `mail.smtp.ssl.trust_all_hosts` (ssl.trust="*" trusts any chain, not
        any name): a certificate for another name fails every message, as if someone were
        intercepting the connection. com.sun.mail 2.0 and JavaMail 1.x check no name by
        default (mail.smtp.ssl.checkserveridentity false), so there it connects: it breaks the
        day the platform upgrades.

    Bad:
        mail.smtp.host set to the server's IP address, or to a CNAME the certificate lacks.

    Good:
        mail.smtp.host set to a name the certificate carries, such as smtp.example.com.

    Fix:
        Set mail.smtp.host to a name in the certificate, or reissue the certificate for it.
    """
    tls = live.probe.tls
    if tls is None or not (tls.name_matches is False or tls.verify_code in _NAME_MISMATCH):
        return
    host = live.config.settings.host
    names = f": it names {', '.join(tls.cert.san or (tls.cert.subject,))}" if tls.cert else ""
    if not live.library.checks_name:
        consequence = (
            ": com.sun.mail 2.0 and older check no name and connect, Angus Mail (Jakarta "
            "Mail 2.1+) refuses it"
        )
    else:
        consequence = ": JavaMail refuses it" + (
            ", trust_all_hosts or not (it trusts any chain, not any name)"
            if live.config.settings.trust_all_hosts
            else ""
        )
        consequence += "; com.sun.mail 2.0 and older (--javamail legacy) check no name"
    yield Violation(
        f"the certificate is not valid for {host}{names}{consequence}",
        param="mail.smtp.host",
        fix="set mail.smtp.host to a name the certificate carries, or reissue the certificate",
        severity=None if live.library.checks_name else Severity.WARNING,
    )


@rule(code="SC606", slug="certificate-expired", severity=Severity.ERROR, scope=Scope.LIVE)
def certificate_expired(live: ProbedGateway) -> Iterator[Violation]:
    """The server's certificate has expired.

    What it checks:
        The certificate's notAfter date, read even when verification failed. A warning when
        `mail.smtp.ssl.trust_all_hosts` is on (JavaMail then accepts it).

    Why it matters:
        JavaMail rejects an expired certificate: every message fails from that day on.

    Bad:
        A certificate whose renewal job stopped running.

    Good:
        A certificate renewed well before its notAfter date.

    Fix:
        Renew the server's certificate, and check the renewal job.
    """
    tls = live.probe.tls
    if tls is None:
        return
    expired = tls.cert.days_left < 0 if tls.cert is not None else False
    if not expired and tls.verify_code != _CERT_EXPIRED:
        return
    when = f" on {tls.cert.not_after[:10]}" if tls.cert is not None else ""
    yield Violation(
        f"the server's certificate expired{when}" + _trust_all_note(live),
        fix="renew the server's certificate",
        severity=_trust_all_severity(live),
    )


@rule(code="SC607", slug="certificate-expires-soon", severity=Severity.WARNING, scope=Scope.LIVE)
def certificate_expires_soon(live: ProbedGateway) -> Iterator[Violation]:
    """The server's certificate expires within the warning window.

    What it checks:
        Days until the certificate's notAfter date, against `--cert-warn-days` (default 21).

    Why it matters:
        On that day every message starts failing. Automated renewals usually renew 30 days
        ahead, so a certificate this close to its end means the renewal is not working.

    Bad:
        A certificate with 10 days left.

    Good:
        A certificate with 60 days left.

    Fix:
        Renew the certificate now, and check why the renewal did not happen.
    """
    tls = live.probe.tls
    if tls is None or tls.cert is None:
        return
    days = tls.cert.days_left
    if 0 <= days < live.cert_warn_days:
        yield Violation(
            f"the server's certificate expires in {days} day{'s' if days != 1 else ''} "
            f"({tls.cert.not_after[:10]})",
            fix=f"renew the certificate before {tls.cert.not_after[:10]}",
        )


@rule(code="SC608", slug="weak-tls-version", severity=Severity.WARNING, scope=Scope.LIVE)
def weak_tls_version(live: ProbedGateway) -> Iterator[Violation]:
    """The server offers only TLS versions older than 1.2.

    What it checks:
        The negotiated TLS version (a warning below TLS 1.2), and a handshake refused because
        the two sides share no protocol version (an error: smtpcheck, like current Java, does
        not go below TLS 1.2).

    Why it matters:
        RFC 8996 deprecates TLS 1.0 and 1.1. Whether JavaMail connects depends on the JDK, not
        on JavaMail: `jdk.tls.disabledAlgorithms` lists TLSv1 and TLSv1.1 since JDK 16 (and
        8u291, 11.0.11), so a current JDK fails the handshake as smtpcheck does; an older JDK,
        or one whose java.security re-enables them, connects, until its next update.

    Bad:
        A server that only speaks TLS 1.0.

    Good:
        A server that speaks TLS 1.2 or 1.3.

    Fix:
        Enable TLS 1.2 or 1.3 on the server.
    """
    probe = live.probe
    failure = live.failed(FailureKind.TLS_HANDSHAKE)
    if failure is not None and failure.tls_error in _VERSION_REFUSED:
        yield Violation(
            f"the server offers nothing from TLS 1.2 up ({failure.detail}). JavaMail fails "
            "the same way on a current JDK, which disables TLS 1.0 and 1.1 "
            "(jdk.tls.disabledAlgorithms); an older JDK, or one that re-enables them, connects",
            fix="enable TLS 1.2 or 1.3 on the server (re-enabling TLS 1.0 in the JDK only "
            "hides the problem)",
            severity=Severity.ERROR,
        )
    elif probe.tls is not None and probe.tls.version in _WEAK_VERSIONS:
        yield Violation(
            f"the server negotiated {probe.tls.version}, deprecated by RFC 8996",
            fix="enable TLS 1.2 or 1.3 on the server",
        )


def _trust_all_note(live: ProbedGateway) -> str:
    if live.config.settings.trust_all_hosts:
        return " (mail.smtp.ssl.trust_all_hosts makes JavaMail accept it anyway)"
    return ""


def _trust_all_severity(live: ProbedGateway) -> Severity | None:
    return Severity.WARNING if live.config.settings.trust_all_hosts else None
