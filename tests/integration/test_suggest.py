"""`check --suggest` in-process: failed gateways against real servers get a verified patch.

The gateways name mail.test, which the injected resolver maps to 127.0.0.1: a host that is not
loopback by name, so the rules about plain text to another machine apply.
"""

from __future__ import annotations

import dataclasses
import socket

import pytest

from smtpcheck.results import GatewayReport, Status, Suggestion
from tests.support.gateways import gateway, run_check
from tests.support.servers import HOST, PASSWORD, RawServer, Smtpd, resolver, scripted

_AUTH_IN_CLEAR = {
    "EHLO": b"250-mx.test\r\n250 AUTH PLAIN\r\n",
    "AUTH": b"235 2.7.0 Authentication successful\r\n",
}


@pytest.fixture
def closed_port():
    """A port nothing listens on (bound, never listening: connections are refused)."""
    sock = socket.socket()
    sock.bind((HOST, 0))
    yield sock.getsockname()[1]
    sock.close()


def _suggestion(report: GatewayReport) -> Suggestion:
    assert report.suggestion is not None, f"gateway {report.id} got no suggestion: {report}"
    return report.suggestion


async def test_suggest_starttls_on_an_implicit_tls_port_gets_implicit_tls(
    smtp_server, certs, options
):
    server = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    report = await run_check(
        [gateway(server.port, mode="starttls")], options, suggest=(server.port,)
    )
    (gw,) = report.gateways
    assert gw.status is Status.FAILED and "SC504" in {f.code for f in gw.findings}
    suggestion = _suggestion(gw)
    assert suggestion.params == {
        "mail.smtp.use_ssl": True,
        "mail.smtp.starttls.enable": False,
        "mail.smtp.starttls.required": False,
    }
    assert suggestion.previous == {
        "mail.smtp.use_ssl": False,
        "mail.smtp.starttls.enable": True,
        "mail.smtp.starttls.required": True,
    }
    assert "implicit TLS" in suggestion.why and "AUTH LOGIN accepted" in suggestion.why
    assert "certificate verified" in suggestion.why


async def test_suggest_use_ssl_on_a_starttls_port_gets_starttls_on_the_same_port(
    smtp_server, certs, options
):
    starttls = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    implicit = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    ports = (implicit.port, starttls.port)  # the other port, with implicit TLS, comes first
    report = await run_check([gateway(starttls.port, mode="implicit")], options, suggest=ports)
    suggestion = _suggestion(report.gateways[0])
    # Both work and verify; the configured port wins over implicit TLS elsewhere.
    assert suggestion.params == {
        "mail.smtp.use_ssl": False,
        "mail.smtp.starttls.enable": True,
        "mail.smtp.starttls.required": True,
    }
    assert "STARTTLS" in suggestion.why


async def test_suggest_moves_the_port_when_nothing_listens_on_the_configured_one(
    smtp_server, certs, options, closed_port
):
    implicit = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    gw = gateway(closed_port, mode="starttls")
    report = await run_check([gw], options, suggest=(closed_port, implicit.port))
    suggestion = _suggestion(report.gateways[0])
    assert suggestion.params == {
        "mail.smtp.port": implicit.port,
        "mail.smtp.ssl.port": implicit.port,
        "mail.smtp.use_ssl": True,
        "mail.smtp.starttls.enable": False,
        "mail.smtp.starttls.required": False,
    }
    assert suggestion.previous["mail.smtp.port"] == closed_port


async def test_suggest_never_logs_in_over_plain_text_to_another_machine(smtp_server, options):
    heard: list[str] = []
    server = await smtp_server(RawServer(scripted(replies=_AUTH_IN_CLEAR, heard=heard)))
    report = await run_check(
        [gateway(server.port, mode="starttls")], options, suggest=(server.port,)
    )
    (gw,) = report.gateways
    assert gw.status is Status.FAILED and gw.suggestion is None
    assert "EHLO" in heard and "AUTH" not in heard


async def test_suggest_may_log_in_over_plain_text_on_this_machine(smtp_server, options):
    # The same server named "localhost": the password never leaves the machine, so plain text
    # is tried and suggested. This is what the test above would see without the rule.
    heard: list[str] = []
    server = await smtp_server(RawServer(scripted(replies=_AUTH_IN_CLEAR, heard=heard)))
    local = dataclasses.replace(options, resolver=resolver({"localhost": HOST}))
    gw = gateway(server.port, mode="starttls", host="localhost")
    report = await run_check([gw], local, suggest=(server.port,))
    suggestion = _suggestion(report.gateways[0])
    assert suggestion.params == {
        "mail.smtp.starttls.enable": False,
        "mail.smtp.starttls.required": False,
    }
    assert heard.count("AUTH") == 1


async def test_suggest_leaves_a_working_gateway_alone(smtp_server, certs, options):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    report = await run_check([gateway(server.port)], options, suggest=(server.port,))
    (gw,) = report.gateways
    assert gw.status is Status.OK and gw.suggestion is None
    assert server.counter.accepted == 1  # no discovery probes at all


async def test_suggest_with_nothing_listening_keeps_the_findings(options, closed_port):
    report = await run_check([gateway(closed_port)], options, suggest=(closed_port,))
    (gw,) = report.gateways
    assert gw.suggestion is None
    assert "SC502" in {f.code for f in gw.findings}


async def test_suggest_refused_password_is_not_tried_again(smtp_server, certs, options):
    implicit = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    starttls = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    gw = gateway(implicit.port, mode="starttls", password=PASSWORD + "-wrong")
    report = await run_check([gw], options, suggest=(implicit.port, starttls.port))
    assert report.gateways[0].suggestion is None
    # Two combinations would work; the refusal on the first stops the second.
    assert implicit.counter.logins + starttls.counter.logins == 1


async def test_suggest_does_not_retry_a_password_the_gateway_had_refused(
    smtp_server, certs, options
):
    starttls = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    implicit = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    gw = gateway(starttls.port, password=PASSWORD + "-wrong")
    report = await run_check([gw], options, suggest=(starttls.port, implicit.port))
    (checked,) = report.gateways
    assert "SC702" in {f.code for f in checked.findings} and checked.suggestion is None
    assert (starttls.counter.logins, implicit.counter.logins) == (1, 0)  # the gateway's own


async def test_suggest_no_login_where_the_certificate_does_not_verify(smtp_server, certs, options):
    server = await smtp_server(Smtpd(implicit=certs.untrusted, auth=True))
    report = await run_check(
        [gateway(server.port, mode="starttls")], options, suggest=(server.port,)
    )
    assert report.gateways[0].suggestion is None
    assert server.counter.logins == 0


async def test_suggest_prefers_a_verified_certificate_over_the_configured_port(
    smtp_server, certs, options
):
    untrusted = await smtp_server(Smtpd(implicit=certs.untrusted, auth=True))
    good = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    trusting = {"mail.smtp.ssl.trust_all_hosts": True}
    gw = gateway(untrusted.port, mode="starttls", params=trusting)
    report = await run_check([gw], options, suggest=(untrusted.port, good.port))
    # The configured port works only unverified (trust_all_hosts): the verified one wins, and
    # since it already speaks STARTTLS, only the port changes.
    assert _suggestion(report.gateways[0]).params == {
        "mail.smtp.port": good.port,
        "mail.smtp.ssl.port": good.port,
    }


async def test_suggest_unverified_only_with_trust_all_hosts_says_so(smtp_server, certs, options):
    server = await smtp_server(Smtpd(implicit=certs.untrusted, auth=True))
    trusting = {"mail.smtp.ssl.trust_all_hosts": True}
    gw = gateway(server.port, mode="starttls", params=trusting)
    report = await run_check([gw], options, suggest=(server.port,))
    suggestion = _suggestion(report.gateways[0])
    assert suggestion.params["mail.smtp.use_ssl"] is True
    assert "NOT verified" in suggestion.why and "trust_all_hosts" in suggestion.why


async def test_suggest_skips_a_gateway_without_credentials(smtp_server, certs, options):
    server = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    gw = gateway(server.port, mode="starttls", params={"mail.smtp.password": None})
    report = await run_check([gw], options, suggest=(server.port,))
    assert report.gateways[0].suggestion is None  # AUTH could not be verified
    assert server.counter.accepted <= 2  # the gateway's own probe and its second look only


async def test_suggest_without_auth_accepts_plain_text(smtp_server, options):
    server = await smtp_server(RawServer(scripted()))
    gw = gateway(server.port, mode="implicit", auth=False)
    report = await run_check([gw], options, suggest=(server.port,))
    assert _suggestion(report.gateways[0]).params == {"mail.smtp.use_ssl": False}


async def test_suggest_shares_discovery_between_gateways_of_one_host(smtp_server, certs, options):
    server = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    twins = [gateway(server.port, mode="starttls", gid=gid) for gid in (1, 2)]
    report = await run_check(twins, options, suggest=(server.port,))
    assert [g.suggestion is not None for g in report.gateways] == [True, True]
    assert server.counter.logins == 1  # same host, port and credentials: one login
