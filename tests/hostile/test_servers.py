"""Hostile servers end as the finding that names the real cause, never as a crash (SC901).

Each case was misdiagnosed once (issue 10, class 6): an AUTH that asks for more for ever read as
a wrong password, a 999 greeting as a refusal, a server that knows only TLS 1.0 as a broken
handshake, a certificate of the year 950 as a bug. The rest must simply end, within the
deadline, as a clear finding. Servers run on 127.0.0.1 port 0; names resolve to it by the
test resolver.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import socket
import ssl
import struct
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from smtpcheck.probe.session import ProbeOptions
from smtpcheck.results import FailureKind, GatewayReport, Severity
from tests.support.gateways import cert_of, codes, gateway, live_codes, probe_of, run_check
from tests.support.servers import PASSWORD, RawServer, Smtpd, scripted, tls10_only

__all__: list[str] = []

_AUTH_EHLO = b"250-mx.test\r\n250 AUTH LOGIN PLAIN\r\n"
_STARTTLS_EHLO = b"250-mx.test\r\n250 STARTTLS\r\n"


async def _check(config: dict[str, Any], options: ProbeOptions) -> GatewayReport:
    report = (await run_check([config], options)).gateways[0]
    assert "SC901" not in codes(report), codes(report)["SC901"].message
    return report


def _starttls_with(context: ssl.SSLContext) -> Any:
    """A server that offers STARTTLS and upgrades with ``context`` (asyncio: no TLS alert)."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.test ESMTP\r\n")
        while line := await reader.readline():
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"STARTTLS":
                writer.write(b"220 go ahead\r\n")
                await writer.drain()
                await writer.start_tls(context)
                continue
            writer.write(
                {b"EHLO": _STARTTLS_EHLO, b"QUIT": b"221 bye\r\n"}.get(verb, b"250 OK\r\n")
            )
            await writer.drain()

    return script


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _der_children(der: bytes) -> list[bytes]:
    """Split the content of one DER SEQUENCE into its elements, each with tag and length."""
    body, children = _der_content(der), []
    while body:
        size = len(body) - len(_der_content(body, trailing=True))
        children.append(body[:size])
        body = body[size:]
    return children


def _der_content(der: bytes, *, trailing: bool = False) -> bytes:
    """Return the content of the first element, or (``trailing``) what follows it."""
    size, offset = der[1], 2
    if size & 0x80:
        count = size & 0x7F
        size, offset = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    return der[offset + size :] if trailing else der[offset : offset + size]


def _asn1_time(moment: dt.datetime) -> bytes:
    # RFC 5280 §4.1.2.5: UTCTime for 1950-2049, GeneralizedTime for any other year.
    if 1950 <= moment.year < 2050:
        return _der(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())
    return _der(0x18, f"{moment.year:04d}{moment:%m%d%H%M%S}Z".encode())


def _leaf_valid_until(certs: Any, directory: Any, not_after: dt.datetime) -> ssl.SSLContext:
    """A server context whose leaf (for mail.test, by the trusted CA) ends at ``not_after``.

    cryptography builds no certificate dated before 1950, so a trustme leaf gets its validity
    rewritten in DER and is signed again with the CA's key.
    """
    leaf = certs.ca.issue_cert("mail.test")
    pem = leaf.cert_chain_pems[0].bytes()
    der = ssl.PEM_cert_to_DER_cert(pem.decode())
    tbs, algorithm, _ = _der_children(der)
    fields = _der_children(tbs)
    not_before = min(not_after - dt.timedelta(days=365), dt.datetime.now(dt.UTC))
    fields[4] = _der(0x30, _asn1_time(not_before) + _asn1_time(not_after))  # the validity
    tbs = _der(0x30, b"".join(fields))
    key = serialization.load_pem_private_key(certs.ca.private_key_pem.bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # trustme's default key type
    signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    rewritten = _der(0x30, tbs + algorithm + _der(0x03, b"\0" + signature))
    cert_file, key_file = directory / f"leaf-{not_after.year}.pem", directory / "leaf.key"
    cert_file.write_text(ssl.DER_cert_to_PEM_cert(rewritten))
    leaf.private_key_pem.write_to_path(str(key_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_file), str(key_file))
    return context


# --- 1, 2: AUTH that never ends is a protocol error, not a refused password ------------------


async def test_auth_login_answered_334_for_ever_is_sc506_not_sc702(smtp_server, options):
    heard: list[str] = []
    endless = scripted(
        replies={"EHLO": _AUTH_EHLO, "AUTH": b"334 VXNlcm5hbWU6\r\n"},
        default=b"334 UGFzc3dvcmQ6\r\n",  # every line after AUTH is asked for more
        heard=heard,
    )
    server = await smtp_server(RawServer(endless))
    report = await _check(gateway(server.port, mode="none"), options)
    probe = probe_of(report)
    assert probe.failure_kind is FailureKind.PROTOCOL, probe.failure
    assert live_codes(report) - {"SC705"} == {"SC506"}
    finding = codes(report)["SC506"]
    assert "password was not refused" in finding.message
    assert finding.param == "mail.smtp.auth"
    # Bounded as JavaMail bounds it: the user and the password, then a verdict.
    assert len(heard) <= 4, heard
    assert not any(PASSWORD in line for line in probe.transcript)


async def test_auth_login_accepted_without_a_password_passes(smtp_server, options):
    # JavaMail takes 235 at any point of the exchange: logged in, nothing refused.
    replies = {"EHLO": _AUTH_EHLO, "AUTH": b"235 2.7.0 no password needed\r\n"}
    server = await smtp_server(RawServer(scripted(replies=replies)))
    report = await _check(gateway(server.port, mode="none"), options)
    assert probe_of(report).ok, probe_of(report).failure
    assert live_codes(report) - {"SC705"} == set()


async def test_auth_plain_answered_334_is_sc506_not_sc702(smtp_server, options):
    ehlo = b"250-mx.test\r\n250 AUTH PLAIN\r\n"
    server = await smtp_server(RawServer(scripted(replies={"EHLO": ehlo, "AUTH": b"334 \r\n"})))
    report = await _check(gateway(server.port, mode="none"), options)
    assert probe_of(report).failure_kind is FailureKind.PROTOCOL
    assert live_codes(report) - {"SC705"} == {"SC506"}
    assert "asked for more (334)" in codes(report)["SC506"].message


async def test_cram_md5_is_never_spoken_so_a_bad_challenge_cannot_matter(smtp_server, options):
    # JavaMail's default mechanisms are LOGIN PLAIN DIGEST-MD5 NTLM: the probe speaks the
    # first two, so a CRAM-MD5-only server has no mechanism in common, whatever it would send.
    heard: list[str] = []
    ehlo = b"250-mx.test\r\n250 AUTH CRAM-MD5\r\n"
    script = scripted(replies={"EHLO": ehlo, "AUTH": b"334 not*base64!\r\n"}, heard=heard)
    server = await smtp_server(RawServer(script))
    report = await _check(gateway(server.port, mode="none"), options)
    assert live_codes(report) == {"SC703"}
    assert "AUTH" not in heard


# --- 3: a reply code outside 2xx-5xx is no greeting at all ------------------------------------


@pytest.mark.parametrize("greeting", [b"999 what is this\r\n", b"250 hello\r\n"])
async def test_greeting_that_is_no_smtp_greeting_is_sc506_not_sc505(smtp_server, options, greeting):
    server = await smtp_server(RawServer(scripted(greeting)))
    report = await _check(gateway(server.port), options)
    assert probe_of(report).failure_kind is FailureKind.PROTOCOL
    assert live_codes(report) == {"SC506"}
    assert greeting[:3].decode() in codes(report)["SC506"].message


# --- 4: a server that knows only TLS 1.0 and 1.1 ---------------------------------------------


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
async def test_tls10_only_server_that_hangs_up_is_sc608(smtp_server, options, certs, mode):
    # asyncio's server side drops a handshake it cannot answer without an alert, as some old
    # servers do: only a second handshake offering TLS 1.0 and 1.1 tells what it is.
    legacy = tls10_only(certs)
    if mode == "implicit":
        server = await smtp_server(RawServer(scripted(), ssl_context=legacy))
    else:
        server = await smtp_server(RawServer(_starttls_with(legacy)))
    report = await _check(gateway(server.port, mode=mode, auth=False), options)
    probe = probe_of(report)
    assert probe.failure_kind is FailureKind.TLS_HANDSHAKE, probe.failure
    assert live_codes(report) == {"SC608"}, probe.failure
    finding = codes(report)["SC608"]
    assert finding.severity is Severity.ERROR
    assert "TLSv1.1" in finding.message and "JDK" in finding.message


# --- 5: certificate dates a parser may not read ----------------------------------------------


@pytest.mark.parametrize(
    ("year", "expected"),
    [(950, {"SC606"}), (1969, {"SC606"}), (9999, set())],
    ids=["year-950", "before-1970", "year-9999"],
)
async def test_certificate_at_the_ends_of_the_calendar(
    smtp_server, options, certs, tmp_path, year, expected
):
    not_after = dt.datetime(year, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    context = _leaf_valid_until(certs, tmp_path, not_after)
    server = await smtp_server(Smtpd(tls_context=context, auth=True))
    report = await _check(gateway(server.port), options)
    assert live_codes(report) == expected, probe_of(report).failure
    assert cert_of(report).not_after.startswith(f"{year:04d}-12-31")


# --- 6: the overall deadline during QUIT is no failure ---------------------------------------


async def test_deadline_during_quit_after_auth_235_passes(smtp_server, options):
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.test ESMTP\r\n")
        while line := await reader.readline():
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"QUIT":
                await reader.read()  # the QUIT reply never comes
                return
            if verb not in (b"EHLO", b"AUTH"):  # the password
                await asyncio.sleep(1.5)  # 235 comes late, but within the deadline
            answers = {b"EHLO": _AUTH_EHLO, b"AUTH": b"334 UGFzc3dvcmQ6\r\n"}
            writer.write(answers.get(verb, b"235 2.7.0 ok\r\n"))
            await writer.drain()

    server = await smtp_server(RawServer(slow))
    # The deadline runs out during QUIT, before QUIT's own 2 s wait would.
    paced = dataclasses.replace(options, timeout=5.0, deadline=3.0)
    report = await _check(gateway(server.port, mode="none"), paced)
    probe = probe_of(report)
    assert probe.ok, probe.failure
    assert ("auth", True) in [(step.name, step.ok) for step in probe.steps]
    assert any("the verdict stands" in line for line in probe.transcript)
    assert live_codes(report) - {"SC705"} == set()


# --- 7: a greeting line that never ends -------------------------------------------------------


async def test_greeting_that_drips_one_endless_line_is_sc506(smtp_server, options):
    server = await smtp_server(RawServer(scripted(b"220 " + b"x" * 100_000, drip=0.01)))
    fast = dataclasses.replace(options, timeout=1.0)
    report = await _check(gateway(server.port), fast)
    probe = probe_of(report)
    assert probe.failure_kind is FailureKind.PROTOCOL
    assert live_codes(report) == {"SC506"}
    assert "220 x" in probe.failure.detail
    assert server.counter.accepted == 1  # it spoke: no second look for a TLS port


# --- 8: STARTTLS accepted, then the connection dropped ----------------------------------------


async def _read_client_hello_then_close(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    writer.write(b"220 mx.test ESMTP\r\n")
    while line := await reader.readline():
        verb = line.split(b" ", 1)[0].strip().upper()
        if verb == b"STARTTLS":
            writer.write(b"220 go ahead\r\n")
            await writer.drain()
            await reader.read(1)  # the ClientHello began: hang up in the handshake
            return
        writer.write(_STARTTLS_EHLO if verb == b"EHLO" else b"250 OK\r\n")
        await writer.drain()


@pytest.mark.parametrize("when", ["before-the-handshake", "during-the-handshake"])
async def test_starttls_accepted_then_dropped_is_sc602(smtp_server, options, when):
    if when == "before-the-handshake":
        replies = {"EHLO": _STARTTLS_EHLO, "STARTTLS": b"220 go ahead\r\n"}
        script = scripted(replies=replies, close_after=frozenset({"STARTTLS"}))
    else:
        script = _read_client_hello_then_close
    server = await smtp_server(RawServer(script))
    report = await _check(gateway(server.port), options)
    assert probe_of(report).failure_kind is FailureKind.STARTTLS_FAILED, probe_of(report).failure
    assert live_codes(report) == {"SC602"}
    assert "STARTTLS failed" in codes(report)["SC602"].message


# --- Misbehaviour that must simply end as a clear finding -------------------------------------


async def test_endless_continuation_lines_are_sc506(smtp_server, options):
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.test ESMTP\r\n")
        await reader.readline()
        while True:
            writer.write(b"250-" + b"x" * 60 + b"\r\n")
            await writer.drain()

    server = await smtp_server(RawServer(endless))
    report = await _check(gateway(server.port, mode="none", auth=False), options)
    assert probe_of(report).failure_kind is FailureKind.PROTOCOL
    assert live_codes(report) == {"SC506"}


async def test_100000_ehlo_extensions_are_sc506(smtp_server, options):
    lines = b"".join(b"250-X-EXTENSION-%d\r\n" % i for i in range(100_000))
    ehlo = b"250-mx.test\r\n" + lines + b"250 8BITMIME\r\n"
    server = await smtp_server(RawServer(scripted(replies={"EHLO": ehlo})))
    report = await _check(gateway(server.port, mode="none", auth=False), options)
    assert probe_of(report).failure_kind is FailureKind.PROTOCOL
    assert live_codes(report) == {"SC506"}


async def test_tls_stall_after_client_hello_is_sc603(smtp_server, options):
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the ClientHello arrived
        await reader.read()  # and is never answered

    server = await smtp_server(RawServer(stall))
    fast = dataclasses.replace(options, timeout=1.0)
    report = await _check(gateway(server.port, mode="implicit"), fast)
    assert probe_of(report).failure_kind is FailureKind.TLS_HANDSHAKE
    assert live_codes(report) == {"SC603"}
    assert "did not end" in codes(report)["SC603"].message


@pytest.mark.parametrize(
    ("mode", "code"), [("none", "SC506"), ("starttls", "SC506"), ("implicit", "SC603")]
)
async def test_reset_right_after_accept_is_a_clear_finding(smtp_server, options, mode, code):
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # SO_LINGER 0: the close sends RST

    server = await smtp_server(RawServer(reset))
    report = await _check(gateway(server.port, mode=mode), options)
    assert live_codes(report) == {code}, probe_of(report).failure
