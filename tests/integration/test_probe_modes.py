"""The probe against aiosmtpd in every mode the config can ask for, with trustme certificates."""

from __future__ import annotations

import pytest

from smtpcheck.results import FailureKind, GatewayReport, PortHint, Status
from tests.support.gateways import (
    cert_of,
    codes,
    gateway,
    live_codes,
    probe_of,
    run_check,
    tls_of,
)
from tests.support.servers import PASSWORD, RawServer, Smtpd, TlsThreadServer, scripted


def _steps(report: GatewayReport) -> list[tuple[str, bool]]:
    return [(s.name, s.ok) for s in probe_of(report).steps]


async def test_probe_plain_mode_without_auth(smtp_server, options):
    server = await smtp_server(Smtpd())
    report = (await run_check([gateway(server.port, mode="none", auth=False)], options)).gateways[0]
    assert probe_of(report).ok, probe_of(report).failure.detail
    assert _steps(report) == [
        ("resolve", True),
        ("connect", True),
        ("greeting", True),
        ("ehlo", True),
        ("quit", True),
    ]
    assert probe_of(report).tls is None
    assert "8BITMIME" in probe_of(report).extensions
    assert live_codes(report) == set()


async def test_probe_starttls_with_auth(smtp_server, options, certs):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    report = (await run_check([gateway(server.port)], options)).gateways[0]
    probe = probe_of(report)
    assert probe.ok, probe.failure.detail
    assert [name for name, _ in _steps(report)] == [
        "resolve",
        "connect",
        "greeting",
        "ehlo",
        "starttls",
        "tls",
        "ehlo",
        "auth",
        "quit",
    ]
    assert tls_of(probe).verified and tls_of(probe).version in ("TLSv1.2", "TLSv1.3")
    assert tls_of(probe).name_matches is True
    assert "mail.test" in cert_of(probe).san and cert_of(probe).days_left > 365
    # RFC 3207 §4.2: what the server offers is asked again after TLS; aiosmtpd shows AUTH only then.
    assert any(line.startswith("STARTTLS") for line in probe.extensions_before_tls)
    assert probe.auth_mechanisms_before_tls == ()
    assert set(probe.auth_mechanisms) == {"plain", "login"}
    assert probe_of(report).steps[7].detail == "LOGIN accepted"  # JavaMail tries LOGIN first
    assert live_codes(report) == set()
    assert server.counter.accepted == 1


async def test_probe_required_starttls(smtp_server, options, certs):
    server = await smtp_server(Smtpd(tls_context=certs.good, require_starttls=True, auth=True))
    report = (await run_check([gateway(server.port)], options)).gateways[0]
    assert probe_of(report).ok, probe_of(report).failure.detail
    assert report.status is not Status.FAILED


async def test_probe_implicit_tls_times_handshake_apart_from_greeting(smtp_server, options, certs):
    server = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    report = (await run_check([gateway(server.port, mode="implicit")], options)).gateways[0]
    probe = probe_of(report)
    assert probe.ok, probe.failure.detail
    names = [s.name for s in probe.steps]
    assert names == ["resolve", "connect", "tls", "greeting", "ehlo", "auth", "quit"]
    greeting = probe.steps[3]
    assert greeting.reply_code == 220 and "includes" not in greeting.detail
    assert tls_of(probe).verified
    assert live_codes(report) == set()


async def test_probe_auth_rejected_is_sc702(smtp_server, options, certs):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    report = (await run_check([gateway(server.port, password="wrong")], options)).gateways[0]
    assert probe_of(report).failure_kind is FailureKind.AUTH_FAILED
    assert probe_of(report).failure.reply_code == 535
    assert live_codes(report) == {"SC702"}
    assert codes(report)["SC702"].param == "mail.smtp.password"
    assert report.status is Status.FAILED


@pytest.mark.parametrize(
    ("excluded", "used"), [(("LOGIN",), "PLAIN"), (("PLAIN",), "LOGIN")], ids=["plain", "login"]
)
async def test_probe_auth_uses_the_one_mechanism_offered(
    smtp_server, options, certs, excluded, used
):
    server = await smtp_server(
        Smtpd(tls_context=certs.good, auth=True, exclude_mechanisms=excluded)
    )
    report = (await run_check([gateway(server.port)], options)).gateways[0]
    assert probe_of(report).ok, probe_of(report).failure.detail
    auth = [s for s in probe_of(report).steps if s.name == "auth"]
    assert auth[0].detail == f"{used} accepted"


async def test_probe_auth_not_offered_goes_on_as_javamail_and_is_sc701(smtp_server, options):
    server = await smtp_server(RawServer(scripted()))  # its EHLO reply has no AUTH line
    report = (await run_check([gateway(server.port, mode="none")], options)).gateways[0]
    # JavaMail sends AUTH only when offered, else it is connected without logging in.
    assert report.works, probe_of(report).failure
    assert "auth" not in [s.name for s in probe_of(report).steps]
    assert live_codes(report) == {"SC701"}
    assert report.status is Status.WARNING


async def test_probe_auth_offered_only_after_tls_in_plain_mode_is_sc701(
    smtp_server, options, certs
):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    report = (await run_check([gateway(server.port, mode="none")], options)).gateways[0]
    assert live_codes(report) == {"SC701"}
    assert "STARTTLS" in (codes(report)["SC701"].fix or "")


async def test_probe_transcript_masks_auth_and_never_holds_the_password(
    smtp_server, options, certs
):
    server = await smtp_server(
        Smtpd(tls_context=certs.good, auth=True, exclude_mechanisms=("PLAIN",))
    )
    report = (await run_check([gateway(server.port)], options)).gateways[0]
    transcript = "\n".join(probe_of(report).transcript)
    assert "C: AUTH LOGIN ********" in transcript
    assert "S: 334 " in transcript and "C: ********" in transcript
    assert "C: EHLO client.test" in transcript
    assert PASSWORD not in repr(report)


async def test_probe_untrusted_certificate_is_read_anyway(smtp_server, options, certs):
    server = await smtp_server(Smtpd(tls_context=certs.untrusted, auth=True))
    report = (await run_check([gateway(server.port)], options)).gateways[0]
    probe = probe_of(report)
    assert probe.failure_kind is FailureKind.CERT_INVALID
    assert tls_of(probe).verified is False and tls_of(probe).verify_code == 20
    assert tls_of(probe).cert is not None and "mail.test" in cert_of(probe).san
    assert [s.name for s in probe.steps][-2:] == ["tls", "certificate"]
    assert "auth" not in [s.name for s in probe.steps]  # no AUTH over the unverified connection
    assert live_codes(report) == {"SC604"}
    assert server.counter.accepted == 2


async def test_probe_name_mismatch_is_sc605(smtp_server, options, certs):
    server = await smtp_server(Smtpd(implicit=certs.mismatch, auth=True))
    report = (await run_check([gateway(server.port, mode="implicit")], options)).gateways[0]
    assert tls_of(report).name_matches is False
    assert live_codes(report) == {"SC605"}
    assert "other.test" in codes(report)["SC605"].message


async def test_probe_expired_certificate_is_sc606(smtp_server, options, certs):
    server = await smtp_server(Smtpd(tls_context=certs.expired, auth=True))
    report = (await run_check([gateway(server.port)], options)).gateways[0]
    assert cert_of(report).days_left < 0
    assert live_codes(report) == {"SC606"}


async def test_probe_soon_expiring_certificate_is_sc607(smtp_server, options, certs):
    server = await smtp_server(Smtpd(tls_context=certs.expiring, auth=True))
    report = (await run_check([gateway(server.port)], options)).gateways[0]
    assert probe_of(report).ok
    assert cert_of(report).days_left == 5
    assert live_codes(report) == {"SC607"}
    assert codes(report)["SC607"].severity == "warning"
    later = (await run_check([gateway(server.port)], options, cert_warn_days=3)).gateways[0]
    assert live_codes(later) == set()


async def test_probe_trust_all_hosts_goes_on_without_verification(smtp_server, options, certs):
    server = await smtp_server(Smtpd(tls_context=certs.untrusted, auth=True))
    config = gateway(server.port, params={"mail.smtp.ssl.trust_all_hosts": True})
    report = (await run_check([config], options)).gateways[0]
    probe = probe_of(report)
    assert probe.ok, probe.failure.detail
    assert tls_of(probe).verified is False
    assert next(s for s in probe.steps if s.name == "auth").ok  # JavaMail would log in
    assert live_codes(report) == {"SC604"}
    assert codes(report)["SC604"].severity == "warning"
    assert report.status is Status.WARNING


async def test_probe_starttls_not_offered_goes_on_in_plain_text(smtp_server, options):
    server = await smtp_server(Smtpd())
    config = gateway(server.port, mode="opportunistic", auth=False)
    report = (await run_check([config], options)).gateways[0]
    assert probe_of(report).ok
    assert codes(report)["SC601"].severity == "warning"
    assert [s.name for s in probe_of(report).steps][-1] == "quit"


async def test_probe_starttls_not_offered_is_fatal_when_required(smtp_server, options):
    server = await smtp_server(Smtpd())
    report = (await run_check([gateway(server.port, auth=False)], options)).gateways[0]
    assert probe_of(report).failure_kind is FailureKind.STARTTLS_UNAVAILABLE
    assert codes(report)["SC601"].severity == "error"
    assert report.works is False and report.status is Status.FAILED


async def test_probe_starttls_not_offered_with_auth_logs_in_in_clear_as_javamail(
    smtp_server, options
):
    ehlo = b"250-mx.test\r\n250 AUTH PLAIN\r\n"  # AUTH offered in plain text, no STARTTLS
    server = await smtp_server(RawServer(scripted(replies={"EHLO": ehlo, "AUTH": b"235 ok\r\n"})))
    config = gateway(server.port, mode="opportunistic")
    report = (await run_check([config], options)).gateways[0]
    assert report.works, probe_of(report).failure
    assert codes(report)["SC601"].severity == "error"
    assert "in clear text" in codes(report)["SC601"].message
    assert report.status is Status.WARNING


async def test_probe_cleartext_auth_before_tls_is_sc705(smtp_server, options, certs):
    ehlo = b"250-mx.test\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n"
    server = await smtp_server(
        RawServer(scripted(replies={"EHLO": ehlo, "STARTTLS": b"454 no\r\n"}))
    )
    report = (await run_check([gateway(server.port)], options)).gateways[0]
    assert {"SC705", "SC602"} <= live_codes(report)
    assert probe_of(report).auth_mechanisms_before_tls == ("plain", "login")


async def test_probe_mismatch_hint_is_recorded_for_a_plain_port(smtp_server, options):
    server = await smtp_server(Smtpd())
    report = (await run_check([gateway(server.port, mode="implicit")], options)).gateways[0]
    assert probe_of(report).port_hint is PortHint.SMTP
    assert probe_of(report).failure.tls_error == "WRONG_VERSION_NUMBER"


async def test_probe_untrusted_certificate_that_cannot_be_read_again(smtp_server, options, certs):
    server = await smtp_server(TlsThreadServer(certs.untrusted, connections=1))
    report = (await run_check([gateway(server.port, mode="implicit")], options)).gateways[0]
    assert probe_of(report).failure_kind is FailureKind.CERT_INVALID
    assert tls_of(report).cert is None and tls_of(report).verify_code == 20
    assert probe_of(report).steps[-1].name == "certificate" and not probe_of(report).steps[-1].ok
    assert live_codes(report) == {"SC604"}
