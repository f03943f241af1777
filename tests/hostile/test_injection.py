"""Nothing from a config, an option or the environment reaches the wire with CR or LF in it.

A sender holding CRLF once went out as a truncated ``MAIL FROM`` followed by ``RCPT TO``
before the run failed with SC901 (issue 10, class 7). It is refused before connecting now.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from smtpcheck.config.loading import document_from_data
from smtpcheck.pipeline.check import CheckOptions, check_async
from smtpcheck.pipeline.inventory import LintOptions
from smtpcheck.results import FailureKind
from tests.support.cli import smtpcheck
from tests.support.gateways import codes, gateway, probe_of
from tests.support.servers import RawServer, scripted

__all__: list[str] = []

_SMUGGLED = "alerts@mail.test\r\nRCPT TO:<victim@elsewhere.test>"


async def _heard(smtp_server: Any, options: Any, sender: str, environ: dict[str, str]) -> Any:
    heard: list[str] = []
    server = await smtp_server(RawServer(scripted(heard=heard)))
    config = gateway(server.port, mode="none", auth=False, params={"default_from_address": sender})
    document = document_from_data([config], source="gw.json", environ=environ)
    sending = dataclasses.replace(options, send_to="ops@dealer.test")
    report = await check_async([document], LintOptions(), CheckOptions(probe=sending))
    return report.gateways[0], heard, server.counter.accepted


@pytest.mark.parametrize(
    ("sender", "environ"),
    [
        (_SMUGGLED, {}),
        ("${FROM}", {"FROM": _SMUGGLED}),
        ("a@mail.test\n", {}),
        ("a\x00@x.test", {}),
    ],
    ids=["literal-crlf", "crlf-through-a-variable", "trailing-lf", "nul"],
)
async def test_a_sender_with_a_line_break_is_refused_before_connecting(
    smtp_server, options, sender, environ
):
    report, heard, accepted = await _heard(smtp_server, options, sender, environ)
    assert (heard, accepted) == ([], 0)  # not a byte was sent: not even a connection
    probe = probe_of(report)
    assert probe.failure_kind is FailureKind.SENDER_REJECTED
    assert "did not connect" in codes(report)["SC706"].message
    assert "SC901" not in codes(report)


async def test_a_recipient_with_a_line_break_is_refused_before_connecting(smtp_server, options):
    heard: list[str] = []
    server = await smtp_server(RawServer(scripted(heard=heard)))
    config = gateway(server.port, mode="none", auth=False)
    document = document_from_data([config], source="gw.json", environ={})
    sending = dataclasses.replace(options, send_to="ops@dealer.test\r\nDATA")
    report = await check_async([document], LintOptions(), CheckOptions(probe=sending))
    assert (heard, server.counter.accepted) == ([], 0)
    assert probe_of(report.gateways[0]).failure_kind is FailureKind.MESSAGE_REJECTED


@pytest.mark.parametrize("option", ["--send-to", "--from"])
@pytest.mark.parametrize(
    "value",
    ["ops@dealer.test\r\nRSET", "ops@dealer.test\n", "\udcffops@dealer.test"],
    ids=["crlf", "lf", "not-utf8"],
)
def test_an_address_option_that_cannot_be_sent_is_a_usage_error(tmp_path, option, value):
    config = tmp_path / "gw.json"
    config.write_text('{"id": 1, "provider": "smtp", "params": {"mail.smtp.host": "x.test"}}')
    run = smtpcheck("check", str(config), "--send-to", "ops@dealer.test", option, value)
    assert run.code == 2, run.output
    assert option in run.output and "Traceback" not in run.output
