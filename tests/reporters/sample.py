"""Hand-built reports that every format renders in the golden tests.

`full_report` covers each status, source-level findings, a probe with TLS and a certificate, a
failed probe with a suggestion, a repeated id, and labels with quotes, newlines and unicode.
"""

from __future__ import annotations

from smtpcheck.results import (
    CertInfo,
    DeliveryOutcome,
    DeliveryResult,
    Endpoint,
    FailureKind,
    Finding,
    GatewayKind,
    GatewayReport,
    PortHint,
    ProbeFailure,
    ProbeResult,
    ProbeStep,
    Report,
    Severity,
    Status,
    Suggestion,
    TlsInfo,
    TlsMode,
)

__all__ = [
    "QUOTED_LABEL",
    "STARTTLS_PROBE",
    "UNICODE_LABEL",
    "empty_report",
    "fleet_report",
    "full_report",
    "gateway",
]

QUOTED_LABEL = 'Dealer "Nord"\nbackup \\ spare'
UNICODE_LABEL = "Почта ✉ Zürich 東京"


def _finding(
    code: str,
    slug: str,
    severity: Severity,
    message: str,
    *,
    param: str | None = None,
    fix: str | None = None,
    source: str | None = None,
) -> Finding:
    return Finding(code, slug, severity, message, param=param, fix=fix, source=source)


def gateway(
    gw_id: int | None,
    label: str | None,
    status: Status,
    *,
    findings: tuple[Finding, ...] = (),
    endpoint: Endpoint | None = None,
    probe: ProbeResult | None = None,
    suggestion: Suggestion | None = None,
    kind: GatewayKind = GatewayKind.OWN,
    source: str = "fleet.json",
    delivery: DeliveryResult | None = None,
) -> GatewayReport:
    return GatewayReport(
        id=gw_id,
        label=label,
        kind=kind,
        source=source,
        status=status,
        endpoint=endpoint,
        findings=findings,
        probe=probe,
        suggestion=suggestion,
        delivery=delivery,
    )


#: What --expect-delivery found of gateway 1's test message.
DELIVERED = DeliveryResult(
    where="mailpit+http://ci:********@catcher.test:8025",
    outcome=DeliveryOutcome.DELIVERED,
    token="5f0c2a9e",
    waited_ms=61.25,
    polls=3,
    latency_ms=63.5,
    found_id="VbLdz6Q",
    detail="found in mailpit+http://ci:********@catcher.test:8025 as VbLdz6Q, 64 ms after the 250",
    removed=True,
)


STARTTLS_PROBE = ProbeResult(
    steps=(
        ProbeStep("connect", True, 0.42),
        ProbeStep("greeting", True, 1.25, "220 smtp.example.com ESMTP", 220),
        ProbeStep("ehlo", True, 0.31, "250 smtp.example.com", 250),
        ProbeStep("starttls", True, 4.8, "220 2.0.0 Ready to start TLS", 220),
        ProbeStep("ehlo", True, 0.36, "250 smtp.example.com", 250),
        ProbeStep("auth", True, 2.05, "235 2.7.0 Authentication successful", 235),
        ProbeStep("quit", True, 0.2, "221 2.0.0 Bye", 221),
    ),
    ms=9.39,
    tls=TlsInfo(
        version="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        verified=True,
        cert=CertInfo(
            subject="CN=smtp.example.com",
            issuer="CN=Example CA,O=Example",
            san=("smtp.example.com", "mail.example.com"),
            not_after="2031-03-01T12:00:00+00:00",
            days_left=83,
        ),
    ),
    extensions_before_tls=("PIPELINING", "STARTTLS", "SIZE 10240000"),
    extensions=("PIPELINING", "AUTH PLAIN LOGIN", "SIZE 10240000"),
    auth_mechanisms=("plain", "login"),
    transcript=(
        "S: 220 smtp.example.com ESMTP",
        "C: EHLO checker.test",
        "C: AUTH PLAIN ********",
        "S: 235 2.7.0 Authentication successful",
    ),
)

_IMPLICIT_PROBE = ProbeResult(
    steps=(
        ProbeStep("connect", True, 0.5),
        ProbeStep("tls", True, 6.25),
        ProbeStep("greeting", True, 1.0, "220 mx.example.org ESMTP", 220),
        ProbeStep("ehlo", True, 0.4, "250 mx.example.org", 250),
        ProbeStep("quit", True, 0.1, "221 Bye", 221),
    ),
    ms=8.25,
    tls=TlsInfo(
        version="TLSv1.2",
        cipher="ECDHE-RSA-AES128-GCM-SHA256",
        verified=False,
        verify_error="self-signed certificate",
        verify_code=18,
        name_matches=False,
        cert=CertInfo(
            subject="CN=mx.example.org",
            issuer="CN=mx.example.org",
            san=("mx.example.org",),
            not_after="2030-01-12T00:00:00Z",
            days_left=12,
        ),
    ),
    extensions=("AUTH LOGIN",),
    auth_mechanisms=("login",),
)

_FAILED_PROBE = ProbeResult(
    steps=(
        ProbeStep("connect", True, 0.61),
        ProbeStep("greeting", False, 10000.0, "no reply in 10.0 s"),
    ),
    ms=10000.61,
    failure=ProbeFailure(
        FailureKind.NO_GREETING, "connected, but the server said nothing for 10.0 s"
    ),
    port_hint=PortHint.TLS,
)


_TLS_FAILED_PROBE = ProbeResult(
    steps=(ProbeStep("connect", True, 0.7), ProbeStep("tls", False, 3.1, "handshake failed")),
    ms=3.8,
    failure=ProbeFailure(
        FailureKind.TLS_HANDSHAKE,
        "the server answered the TLS hello with plain text",
        tls_error="WRONG_VERSION_NUMBER",
    ),
    port_hint=PortHint.SMTP,
)


def full_report() -> Report:
    """Return one report with every status, a bit of everything, and awkward labels."""
    return Report(
        version="1.2.3",
        findings=(
            _finding(
                "SC001",
                "invalid-json",
                Severity.ERROR,
                "broken.json:3:14: not valid JSON: Expecting ',' delimiter",
                fix="correct the JSON at line 3, column 14",
                source="broken.json",
            ),
            _finding(
                "SC007",
                "bound-gateway-unknown",
                Severity.WARNING,
                "bound_gateway is 9, which is not among the listed ids (1, 2, 3)",
                param="bound_gateway",
                fix="bind one of the listed gateways in the panel",
                source="fleet.json",
            ),
            _finding(
                "SC005",
                "duplicate-gateway-id",
                Severity.WARNING,
                "gateway id 1 appears 2 times: fleet.json own[0], other.json",
                param="id",
                fix="give each gateway its own id, or pass each source once",
            ),
        ),
        gateways=(
            gateway(
                1,
                "Main relay",
                Status.OK,
                endpoint=Endpoint("smtp.example.com", 587, TlsMode.STARTTLS),
                probe=STARTTLS_PROBE,
                delivery=DELIVERED,
            ),
            gateway(
                2,
                UNICODE_LABEL,
                Status.OK,
                endpoint=Endpoint("relay.example.com", 2525, TlsMode.STARTTLS),
                findings=(
                    _finding(
                        "SC107",
                        "nonstandard-port",
                        Severity.INFO,
                        "mail.smtp.port 2525 is not a standard submission port",
                        param="mail.smtp.port",
                    ),
                ),
            ),
            gateway(
                3,
                QUOTED_LABEL,
                Status.WARNING,
                endpoint=Endpoint("mx.example.org", 465, TlsMode.IMPLICIT),
                probe=_IMPLICIT_PROBE,
                findings=(
                    _finding(
                        "SC604",
                        "certificate-untrusted",
                        Severity.WARNING,
                        "the certificate of mx.example.org is not trusted: self-signed "
                        "certificate (trust_all_hosts is on, so JavaMail accepts it)",
                        param="mail.smtp.ssl.trust_all_hosts",
                        fix="install a certificate from a public CA on the server",
                    ),
                    _finding(
                        "SC607",
                        "certificate-expires-soon",
                        Severity.WARNING,
                        "the certificate of mx.example.org expires in 12 days",
                        fix="renew the server's certificate",
                    ),
                ),
            ),
            gateway(
                4,
                "Legacy | 465",
                Status.FAILED,
                endpoint=Endpoint("mx.example.net", 465, TlsMode.NONE),
                probe=_FAILED_PROBE,
                findings=(
                    _finding(
                        "SC105",
                        "plain-on-implicit-tls-port",
                        Severity.ERROR,
                        "port 465 without mail.smtp.use_ssl: the server waits for a TLS "
                        "handshake and the greeting never comes",
                        param="mail.smtp.use_ssl",
                        fix="set mail.smtp.use_ssl=true",
                    ),
                    _finding(
                        "SC504",
                        "no-greeting",
                        Severity.ERROR,
                        "connected to mx.example.net:465 but no greeting came: this port "
                        "speaks implicit TLS: set use_ssl=true",
                        param="mail.smtp.use_ssl",
                        fix="set mail.smtp.use_ssl=true",
                    ),
                ),
                suggestion=Suggestion(
                    params={"mail.smtp.use_ssl": True, "mail.smtp.ssl.port": 465},
                    why="port 465 completed a TLS handshake and greeted over it",
                ),
            ),
            gateway(
                5,
                "Wrong mode",
                Status.FAILED,
                endpoint=Endpoint("smtp.example.net", 587, TlsMode.IMPLICIT),
                probe=_TLS_FAILED_PROBE,
                findings=(
                    _finding(
                        "SC603",
                        "tls-handshake-failed",
                        Severity.ERROR,
                        "TLS handshake with smtp.example.net:587 failed: this port speaks plain "
                        "SMTP: use STARTTLS",
                        param="mail.smtp.use_ssl",
                        fix="set mail.smtp.use_ssl=false and mail.smtp.starttls.enable=true, "
                        "mail.smtp.starttls.required=true",
                    ),
                ),
            ),
            gateway(
                None,
                None,
                Status.FAILED,
                source="other.json",
                findings=(
                    _finding(
                        "SC002",
                        "invalid-gateway",
                        Severity.ERROR,
                        "gateway at other.json[1]: params → mail.smtp.port: expected a whole "
                        "number, got a number",
                        param="mail.smtp.port",
                        fix="write params → mail.smtp.port as the panel API does",
                    ),
                ),
            ),
            gateway(6, "Default", Status.SKIPPED, kind=GatewayKind.LEASABLE),
            gateway(
                7,
                "Broken\x1b[31m check",
                Status.ERROR,
                endpoint=Endpoint("2001:db8::25", 25, TlsMode.NONE),
                findings=(
                    _finding(
                        "SC901",
                        "internal-error",
                        Severity.ERROR,
                        "smtpcheck failed while checking this gateway: KeyError: 'x'",
                    ),
                ),
            ),
            gateway(
                1,
                "Main relay (copy)",
                Status.OK,
                source="other.json",
                endpoint=Endpoint("smtp.example.com", 587, TlsMode.STARTTLS),
            ),
        ),
    )


def fleet_report() -> Report:
    """Return a fleet where nearly everything is fine: each OK gateway must stay one line."""
    gateways = [
        gateway(
            gw_id,
            label,
            Status.OK,
            endpoint=Endpoint(host, port, mode),
            source=source,
            probe=STARTTLS_PROBE if gw_id == 10 else None,
        )
        for gw_id, label, host, port, mode, source in (
            (10, "Main", "smtp.example.com", 587, TlsMode.STARTTLS, "panel.json"),
            (11, "東京 office", "mx.example.jp", 465, TlsMode.IMPLICIT, "panel.json"),
            (12, None, "10.0.0.5", 25, TlsMode.NONE, "dealers/north.json"),
            (
                1234,
                "A much longer label for the north dealer, kept by hand since 2019",
                "m.example",
                587,
                TlsMode.STARTTLS,
                "dealers/north.json",
            ),
        )
    ]
    gateways.append(gateway(13, "Default", Status.SKIPPED, kind=GatewayKind.LEASABLE))
    return Report(version="1.2.3", gateways=tuple(gateways))


def empty_report() -> Report:
    """Return a run that found nothing to check."""
    return Report(version="1.2.3", gateways=())
