"""Each way a server can misbehave, from raw scripted servers, mapped to its code within its bound.

Time bounds here prove that a timeout works (a probe ends within a few times its timeout, or well
before it when the diagnosis is meant to be quick); they are not speed measurements.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from typing import Any

import pytest

from smtpcheck.probe.network import system_resolver
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.results import FailureKind, GatewayReport, PortHint, Severity
from tests.support.gateways import codes, gateway, live_codes, probe_of, run_check
from tests.support.servers import HOST, RawServer, Smtpd, TlsThreadServer, scripted, tls10_only


async def _check(
    config: dict[str, Any], options: ProbeOptions, **live: Any
) -> tuple[GatewayReport, float]:
    started = time.monotonic()
    report = (await run_check([config], options, **live)).gateways[0]
    return report, time.monotonic() - started


async def test_dns_failure_is_sc501(options):
    report, _ = await _check(gateway(25, host="nowhere.test"), options)
    assert probe_of(report).failure_kind is FailureKind.DNS
    assert live_codes(report) == {"SC501"}
    assert "nowhere.test" in codes(report)["SC501"].message


async def test_dns_failure_through_the_system_resolver(tls_contexts, options):
    # The test guard answers every name but localhost with NXDOMAIN, as a real resolver would.
    system = dataclasses.replace(options, resolver=system_resolver)
    report, _ = await _check(gateway(587, host="smtp.example.com"), system)
    assert live_codes(report) == {"SC501"}


async def test_refused_connection_is_sc502(options):
    with socket.socket() as closed:  # bound, never listening: the kernel refuses connections
        closed.bind((HOST, 0))
        report, _ = await _check(gateway(closed.getsockname()[1]), options)
    assert probe_of(report).failure_kind is FailureKind.CONNECT_REFUSED
    assert live_codes(report) == {"SC502"}


async def test_connect_timeout_is_sc503_within_the_timeout(options, black_hole):
    fast = dataclasses.replace(options, timeout=1.0)
    report, elapsed = await _check(gateway(black_hole), fast)
    assert probe_of(report).failure_kind is FailureKind.CONNECT_TIMEOUT
    assert live_codes(report) == {"SC503"}
    assert elapsed < 3 * fast.timeout


async def test_config_timeout_shorter_than_the_cap_is_used(options, black_hole):
    config = gateway(black_hole, params={"mail.smtp.connectiontimeout": 300})
    report, elapsed = await _check(config, options)
    assert live_codes(report) == {"SC503"}
    assert "0.3 s" in probe_of(report).failure.detail
    assert elapsed < options.timeout


async def test_silent_server_is_sc504_and_found_silent(smtp_server, options):
    server = await smtp_server(RawServer(scripted(greeting=None)))
    fast = dataclasses.replace(options, timeout=1.0)
    report, elapsed = await _check(gateway(server.port), fast)
    assert probe_of(report).failure_kind is FailureKind.NO_GREETING
    assert probe_of(report).port_hint is PortHint.SILENT
    assert live_codes(report) == {"SC504"}
    assert elapsed < 3 * fast.timeout
    assert server.counter.accepted == 2  # the probe, and the look for a TLS handshake


async def test_implicit_tls_port_probed_as_starttls_says_use_ssl(smtp_server, options, certs):
    server = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    slow = dataclasses.replace(options, timeout=10.0)
    report, elapsed = await _check(gateway(server.port), slow)
    assert probe_of(report).port_hint is PortHint.TLS
    finding = codes(report)["SC504"]
    assert finding.message == (
        f"port {server.port} speaks implicit TLS: set mail.smtp.use_ssl=true (and starttls off)"
        "; JavaMail waits 30 s (mail.smtp.timeout), then fails"  # the gateway's own timeout
    )
    assert finding.param == "mail.smtp.use_ssl"
    assert elapsed < slow.timeout / 2  # after a short silence, not the whole timeout


async def test_plain_port_probed_as_implicit_tls_says_use_starttls(smtp_server, options):
    server = await smtp_server(Smtpd())
    report, _ = await _check(gateway(server.port, mode="implicit"), options)
    assert probe_of(report).port_hint is PortHint.SMTP
    assert live_codes(report) == {"SC603"}
    assert codes(report)["SC603"].message == (
        f"port {server.port} speaks plain SMTP: use STARTTLS (use_ssl=false, starttls.enable=true)"
    )


@pytest.mark.parametrize("greeting", [b"554 5.3.2 no service here\r\n", b"421 4.3.2 busy\r\n"])
async def test_refused_greeting_is_sc505(smtp_server, options, greeting):
    server = await smtp_server(RawServer(scripted(greeting)))
    report, _ = await _check(gateway(server.port), options)
    assert probe_of(report).failure_kind is FailureKind.GREETING_REJECTED
    assert probe_of(report).failure.reply_code == int(greeting[:3])
    assert live_codes(report) == {"SC505"}
    assert probe_of(report).transcript[-1].startswith(f"S: {greeting[:3].decode()} ")


@pytest.mark.parametrize(
    ("greeting", "close_after", "detail"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", frozenset(), "SSH-2.0"),
        (b"220 " + b"x" * 100_000, frozenset(), "too long"),
        (b"220 mx.test\r\n", frozenset({""}), "closed the connection"),
        (b"", frozenset({""}), "closed the connection"),
    ],
    ids=["ssh-banner", "endless-line", "drop-after-greeting", "drop-at-once"],
)
async def test_not_smtp_or_dropped_is_sc506(smtp_server, options, greeting, close_after, detail):
    server = await smtp_server(RawServer(scripted(greeting, close_after=close_after)))
    report, _ = await _check(gateway(server.port), options)
    assert probe_of(report).failure_kind is FailureKind.PROTOCOL
    assert live_codes(report) == {"SC506"}
    assert detail in probe_of(report).failure.detail


async def test_slow_greeting_is_sc507(smtp_server, options):
    server = await smtp_server(RawServer(scripted(delay=0.4)))
    config = gateway(server.port, mode="none", auth=False)
    report, _ = await _check(config, options, slow_greeting_ms=300)
    assert probe_of(report).ok
    assert live_codes(report) == {"SC507"}
    assert codes(report)["SC507"].severity is Severity.WARNING


async def test_endless_drip_is_cut_by_the_timeout(smtp_server, options):
    server = await smtp_server(RawServer(scripted(b"220 " + b"x" * 10_000, drip=0.05)))
    fast = dataclasses.replace(options, timeout=1.0)
    report, elapsed = await _check(gateway(server.port), fast)
    assert live_codes(report) == {"SC506"}  # it began a greeting: a line that never ends
    assert elapsed < 3 * fast.timeout


async def test_starttls_refused_is_sc602(smtp_server, options):
    ehlo = b"250-mx.test\r\n250 STARTTLS\r\n"
    server = await smtp_server(
        RawServer(scripted(replies={"EHLO": ehlo, "STARTTLS": b"454 4.7.0 TLS not available\r\n"}))
    )
    report, _ = await _check(gateway(server.port), options)
    assert probe_of(report).failure_kind is FailureKind.STARTTLS_FAILED
    assert probe_of(report).failure.reply_code == 454
    assert live_codes(report) == {"SC602"}
    assert "S: 454 4.7.0 TLS not available" in probe_of(report).transcript


async def test_starttls_then_silence_is_sc603_within_the_timeout(smtp_server, options):
    ehlo = b"250-mx.test\r\n250 STARTTLS\r\n"
    server = await smtp_server(
        RawServer(
            scripted(
                replies={"EHLO": ehlo, "STARTTLS": b"220 go ahead\r\n"},
                hang_after=frozenset({"STARTTLS"}),
            )
        )
    )
    fast = dataclasses.replace(options, timeout=1.0)
    report, elapsed = await _check(gateway(server.port), fast)
    assert probe_of(report).failure_kind is FailureKind.TLS_HANDSHAKE
    steps = [(s.name, s.ok) for s in probe_of(report).steps]
    assert steps[-2:] == [("starttls", True), ("tls", False)]
    assert live_codes(report) == {"SC603"}
    assert elapsed < 3 * fast.timeout


_AUTH_EHLO = b"250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n"


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (b"535 5.7.8 bad credentials\r\n", "SC702"),
        (b"504 5.5.4 mechanism not supported\r\n", "SC703"),
        (b"534 5.7.9 mechanism too weak\r\n", "SC703"),
        (b"538 5.7.11 encryption required\r\n", "SC703"),
        (b"454 4.7.0 try later\r\n", "SC704"),
        (b"432 4.7.12 password transition needed\r\n", "SC704"),
    ],
    ids=lambda value: value[:3].decode() if isinstance(value, bytes) else value,
)
async def test_auth_replies_map_to_their_code(smtp_server, options, reply, code):
    server = await smtp_server(RawServer(scripted(replies={"EHLO": _AUTH_EHLO, "AUTH": reply})))
    report, _ = await _check(gateway(server.port, mode="none"), options)
    assert probe_of(report).failure.reply_code == int(reply[:3])
    assert live_codes(report) - {"SC705"} == {code}


async def test_auth_without_a_common_mechanism_is_sc703(smtp_server, options):
    ehlo = b"250-mx.test\r\n250 AUTH XOAUTH2\r\n"
    server = await smtp_server(RawServer(scripted(replies={"EHLO": ehlo})))
    report, _ = await _check(gateway(server.port, mode="none"), options)
    assert probe_of(report).failure_kind is FailureKind.AUTH_MECHANISM
    assert live_codes(report) == {"SC703"}
    assert "XOAUTH2" in codes(report)["SC703"].message


async def test_auth_then_silence_is_sc506(smtp_server, options):
    server = await smtp_server(
        RawServer(
            scripted(replies={"EHLO": _AUTH_EHLO, "AUTH": b""}, hang_after=frozenset({"AUTH"}))
        )
    )
    fast = dataclasses.replace(options, timeout=1.0)
    report, elapsed = await _check(gateway(server.port, mode="none"), fast)
    assert probe_of(report).failure_kind is FailureKind.READ_TIMEOUT
    assert live_codes(report) - {"SC705"} == {"SC506"}
    assert elapsed < 3 * fast.timeout


async def test_ehlo_refused_falls_back_to_helo(smtp_server, options):
    server = await smtp_server(
        RawServer(scripted(replies={"EHLO": b"502 5.5.2 no EHLO here\r\n", "HELO": b"250 hi\r\n"}))
    )
    report, _ = await _check(gateway(server.port, mode="none", auth=False), options)
    assert probe_of(report).ok, probe_of(report).failure.detail
    assert probe_of(report).steps[3].detail == "EHLO refused, HELO accepted"


async def test_overall_deadline_cuts_a_server_that_answers_just_in_time(smtp_server, options):
    # Each reply comes within the per-phase timeout; together they exceed the deadline.
    server = await smtp_server(RawServer(scripted(drip=0.02)))
    paced = dataclasses.replace(options, timeout=1.0, deadline=1.0)
    report, elapsed = await _check(gateway(server.port, mode="none", auth=False), paced)
    assert probe_of(report).failure is not None
    assert "deadline" in probe_of(report).failure.detail
    assert live_codes(report) & {"SC504", "SC506"}
    assert elapsed < 3 * paced.deadline


async def test_server_without_tls12_is_sc608(smtp_server, options, certs):
    server = await smtp_server(TlsThreadServer(tls10_only(certs)))
    report, _ = await _check(gateway(server.port, mode="implicit"), options)
    probe = probe_of(report)
    assert probe.failure_kind is FailureKind.TLS_HANDSHAKE, probe.failure.detail
    assert live_codes(report) == {"SC608"}, (probe.failure.tls_error, probe.failure.detail)
    assert codes(report)["SC608"].severity is Severity.ERROR


async def test_probe_never_leaves_tasks_behind(smtp_server, options):
    server = await smtp_server(RawServer(scripted(greeting=None)))
    fast = dataclasses.replace(options, timeout=1.0)
    before = asyncio.all_tasks()
    await _check(gateway(server.port), fast)
    leftover = {t for t in asyncio.all_tasks() - before if not t.done()}
    names = {getattr(t.get_coro(), "__qualname__", "?") for t in leftover}
    assert names <= {"RawServer.start.<locals>.serve"}
