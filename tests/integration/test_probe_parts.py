"""The probe's small parts: transcript masking, the secret scrub, certificate names, options."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ssl

import pytest
import trustme
from cryptography import x509

from smtpcheck.errors import UsageError
from smtpcheck.probe.certificate import _decoded, cert_info, name_matches, tls_info
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.probe.tls import build_tls_contexts
from smtpcheck.probe.transcript import Transcript
from smtpcheck.redaction import MASK, redact, secret_forms
from smtpcheck.results import FailureKind, ProbeFailure, ProbeResult, ProbeStep


def test_transcript_masks_auth_payloads_and_continuations():
    transcript = Transcript()
    transcript.command([b"AUTH", b"PLAIN", b"AGFsZXJ0cwBzM2NyZXQ="])
    transcript.reply(235, "2.7.0 ok")
    transcript.command([b"AUTH", b"LOGIN", b"YWxlcnRz"])
    transcript.reply(334, "UGFzc3dvcmQ6")
    transcript.command([b"czNjcmV0"])
    transcript.reply(235, "ok")
    transcript.command([b"MAIL", b"FROM:<a@b.test>"])
    assert transcript.lines == (
        f"C: AUTH PLAIN {MASK}",
        "S: 235 2.7.0 ok",
        f"C: AUTH LOGIN {MASK}",
        "S: 334 UGFzc3dvcmQ6",
        f"C: {MASK}",
        "S: 235 ok",
        "C: MAIL FROM:<a@b.test>",
    )


def test_transcript_splits_multiline_replies():
    transcript = Transcript()
    transcript.reply(250, "mx.test\nSTARTTLS\nHELP")
    assert transcript.lines == ("S: 250-mx.test", "S: 250-STARTTLS", "S: 250 HELP")


def test_disabled_transcript_records_nothing():
    transcript = Transcript(enabled=False)
    transcript.command([b"EHLO", b"x"])
    transcript.note("hello")
    assert transcript.lines == ()


def test_redact_scrubs_the_password_in_every_form_and_keeps_enums():
    password, user = "hunter2-long", "alerts@mail.test"
    plain = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    result = ProbeResult(
        steps=(ProbeStep("auth", False, 1.0, f"server echoed {plain}"),),
        ms=1.0,
        failure=ProbeFailure(FailureKind.AUTH_FAILED, f"535 bad password {password}"),
        transcript=(f"C: {base64.b64encode(password.encode()).decode()}",),
    )
    scrubbed = redact(result, secret_forms(user, password))
    assert password not in repr(scrubbed) and plain not in repr(scrubbed)
    assert scrubbed.failure_kind is FailureKind.AUTH_FAILED
    assert scrubbed.steps[0].detail == f"server echoed {MASK}"


def test_secret_forms_of_an_empty_password_is_nothing():
    assert secret_forms("user", None) == () == secret_forms("user", "")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _cert(ca: trustme.CA, *names: str, common_name: str | None = None) -> x509.Certificate:
    leaf = ca.issue_cert(*names, common_name=common_name)
    return x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())


@pytest.mark.parametrize(
    ("names", "host", "matches"),
    [
        (("mail.test",), "mail.test", True),
        (("mail.test",), "MAIL.test.", True),
        (("*.example.test",), "smtp.example.test", True),
        (("*.example.test",), "example.test", False),
        (("*.example.test",), "a.b.example.test", False),
        (("*.test",), "mail.test", False),  # a wildcard never covers a whole registered domain
        (("127.0.0.1",), "127.0.0.1", True),
        (("mail.test",), "127.0.0.1", False),
        (("::1",), "[::1]", True),
        (("other.test",), "mail.test", False),
    ],
)
def test_name_matches(ca, names, host, matches):
    assert name_matches(_cert(ca, *names), host) is matches


def test_cert_info_counts_whole_days_left(ca):
    now = dt.datetime.now(dt.UTC)
    leaf = ca.issue_cert("mail.test", not_after=now + dt.timedelta(days=3, hours=2))
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    info = cert_info(cert, now=now)
    assert info.days_left == 3
    assert info.san == ("mail.test",)
    assert info.not_after.endswith("Z")
    assert cert_info(cert, now=now + dt.timedelta(days=3, hours=3)).days_left == -1


def test_build_tls_contexts_rejects_a_file_that_is_no_ca(tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(UsageError, match="--ca-file"):
        build_tls_contexts(ca_file=str(bogus))


def test_build_tls_contexts_verifies_and_reads(tls_contexts):
    import ssl

    assert tls_contexts.verifying.verify_mode is ssl.CERT_REQUIRED
    assert tls_contexts.verifying.check_hostname
    assert tls_contexts.insecure.verify_mode is ssl.CERT_NONE


@pytest.mark.parametrize("name", ["", "client test", "client\r\n.test"])
def test_probe_options_refuse_a_bad_ehlo_name(tls_contexts, name):
    with pytest.raises(UsageError, match="EHLO"):
        ProbeOptions(ehlo_name=name, tls=tls_contexts)


def test_probe_options_refuse_a_zero_timeout(tls_contexts):
    with pytest.raises(UsageError, match="timeout"):
        ProbeOptions(ehlo_name="client.test", tls=tls_contexts, timeout=0)


def _handshake(leaf: trustme.LeafCert, ca: trustme.CA, *, verify: bool) -> ssl.SSLObject:
    """Run a TLS handshake in memory; return the client's side of it."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(server_context)
    client_context = ssl.create_default_context()
    if verify:
        ca.configure_trust(client_context)
    else:
        client_context.check_hostname = False
        client_context.verify_mode = ssl.CERT_NONE
    to_client, from_client, to_server, from_server = (ssl.MemoryBIO() for _ in range(4))
    client = client_context.wrap_bio(to_client, from_client, server_hostname="mail.test")
    server = server_context.wrap_bio(to_server, from_server, server_side=True)
    sides = ((client, from_client, to_server), (server, from_server, to_client))
    for _ in range(10):
        for side, outgoing, incoming in sides:
            with contextlib.suppress(ssl.SSLWantReadError):
                side.do_handshake()
            incoming.write(outgoing.read())
    return client


@pytest.mark.parametrize(
    ("names", "decoded"),
    [
        ({"organization_name": "Example Mail", "organization_unit_name": "Relays"}, True),
        ({"common_name": "mail.test"}, True),
        ({"organization_name": "Comma, Inc"}, False),  # RFC 4514 escapes it: read from DER
    ],
    ids=["o-ou", "cn", "escaped"],
)
def test_tls_info_of_a_verified_certificate_reads_as_the_parsed_one(names, decoded):
    ca = trustme.CA(organization_name="Test CA")
    leaf = ca.issue_cert("mail.test", "127.0.0.1", "::1", **names)
    session = _handshake(leaf, ca, verify=True)
    assert (_decoded(session.getpeercert()) is not None) is decoded
    verified = tls_info(session, host="mail.test", verified=True)
    parsed = tls_info(_handshake(leaf, ca, verify=False), host="mail.test", verified=False)
    assert verified.cert == parsed.cert and verified.cert is not None
    assert verified.name_matches is parsed.name_matches is True
    assert verified.cert.san == ("mail.test", "127.0.0.1", "::1")
