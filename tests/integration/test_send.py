"""--send-to: one real test message, only when asked, and what a refusal at each step means."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from typing import Any

import pytest

from smtpcheck.probe.session import ProbeOptions
from smtpcheck.results import FailureKind, GatewayReport, Severity
from tests.support.gateways import codes, gateway, live_codes, probe_of, run_check
from tests.support.servers import USER, Recorder, Smtpd


class _Refusing(Recorder):
    """Refuses MAIL, RCPT or DATA with the reply given."""

    def __init__(self, *, mail: str = "", rcpt: str = "", data: str = "") -> None:
        super().__init__()
        self.replies = {"mail": mail, "rcpt": rcpt, "data": data}

    async def handle_MAIL(self, server, session, envelope, address, options) -> str:
        if self.replies["mail"]:
            return self.replies["mail"]
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        if self.replies["rcpt"]:
            return self.replies["rcpt"]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        return self.replies["data"] or await super().handle_DATA(server, session, envelope)


async def _send(
    smtp_server: Any, options: ProbeOptions, certs: Any, handler: Any, **params: Any
) -> GatewayReport:
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True, handler=handler))
    sending = dataclasses.replace(options, send_to="ops@dealer.test")
    return (await run_check([gateway(server.port, params=params)], sending)).gateways[0]


async def test_nothing_is_sent_without_send_to(smtp_server, options, certs):
    handler = Recorder()
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True, handler=handler))
    report = (await run_check([gateway(server.port)], options)).gateways[0]
    assert probe_of(report).ok
    assert handler.messages == []
    assert "mail" not in [s.name for s in probe_of(report).steps]


async def test_send_to_delivers_one_small_message(smtp_server, options, certs):
    handler = Recorder()
    report = await _send(smtp_server, options, certs, handler)
    assert probe_of(report).ok, probe_of(report).failure.detail
    assert [s.name for s in probe_of(report).steps][-4:] == ["mail", "rcpt", "data", "quit"]
    (envelope,) = handler.messages
    assert envelope.mail_from == USER
    assert envelope.rcpt_tos == ["ops@dealer.test"]
    assert isinstance(envelope.content, bytes)
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert "smtpcheck" in message["Subject"]
    assert message["Date"] and message["Message-ID"].endswith("@client.test>")
    assert message["To"] == "ops@dealer.test"


async def test_send_to_uses_from_when_given(smtp_server, options, certs):
    handler = Recorder()
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True, handler=handler))
    sending = dataclasses.replace(options, send_to="ops@dealer.test", mail_from="noc@dealer.test")
    report = (await run_check([gateway(server.port)], sending)).gateways[0]
    assert probe_of(report).ok
    assert handler.messages[0].mail_from == "noc@dealer.test"


@pytest.mark.parametrize(
    ("refusal", "code", "kind", "severity"),
    [
        ({"mail": "553 5.7.1 sender not owned by user"}, "SC706", "SENDER_REJECTED", "error"),
        ({"mail": "451 4.3.0 try again"}, "SC706", "SENDER_REJECTED", "warning"),
        ({"rcpt": "550 5.7.1 relaying denied"}, "SC707", "MESSAGE_REJECTED", "error"),
        ({"data": "554 5.6.0 message refused"}, "SC707", "MESSAGE_REJECTED", "error"),
    ],
    ids=["mail-553", "mail-451", "rcpt-550", "data-554"],
)
async def test_refusals_map_to_their_code(
    smtp_server, options, certs, refusal, code, kind, severity
):
    report = await _send(smtp_server, options, certs, _Refusing(**refusal))
    assert probe_of(report).failure_kind is FailureKind[kind]
    assert live_codes(report) == {code}
    assert codes(report)[code].severity is Severity(severity)


async def test_send_to_without_any_sender_is_sc706(smtp_server, options, certs):
    handler = Recorder()
    report = await _send(smtp_server, options, certs, handler, default_from_address=None)
    assert live_codes(report) == {"SC706"}
    assert "--from" in probe_of(report).failure.detail
    assert handler.messages == []
