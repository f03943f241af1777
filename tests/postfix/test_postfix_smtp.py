"""Each port of the private Postfix + Dovecot instance does what it promises, seen by aiosmtplib."""

from __future__ import annotations

import asyncio
import secrets
import ssl
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from tests.support.postfix.harness import PostfixInstance

pytestmark = pytest.mark.postfix

EHLO_NAME = "client.test"


@pytest.fixture(scope="module")
def tls_context(postfix: PostfixInstance) -> ssl.SSLContext:
    """Trust only the instance's throwaway CA, with the stock hostname check."""
    return ssl.create_default_context(cafile=str(postfix.ca_pem))


def _client(
    postfix: PostfixInstance, port: int, tls_context: ssl.SSLContext, *, use_tls: bool = False
) -> aiosmtplib.SMTP:
    # start_tls=False: aiosmtplib would otherwise upgrade on its own and hide what the port offers.
    return aiosmtplib.SMTP(
        hostname=postfix.host,
        port=port,
        local_hostname=EHLO_NAME,
        tls_context=tls_context,
        use_tls=use_tls,
        start_tls=None if use_tls else False,
        timeout=10,
    )


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    """Send QUIT, then wait until the socket is really closed.

    After TLS, close() only starts the TLS shutdown; the socket closes a few loop iterations
    later, and a test whose event loop ends first leaks it (a ResourceWarning, so an error here).
    """
    sock = smtp.get_transport_info("socket")
    await smtp.quit()
    # No event to wait on: the transport offers no "closed" future, so poll the socket.
    async with asyncio.timeout(10):
        while sock.fileno() != -1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def _submission_after_tls(
    postfix: PostfixInstance, tls_context: ssl.SSLContext
) -> aiosmtplib.SMTP:
    smtp = _client(postfix, postfix.ports.submission, tls_context)
    await smtp.connect()
    await smtp.ehlo()
    await smtp.starttls()
    await smtp.ehlo()
    return smtp


async def test_postfix_submission_offers_auth_only_after_starttls(postfix, tls_context):
    smtp = _client(postfix, postfix.ports.submission, tls_context)
    await smtp.connect()
    await smtp.ehlo()
    assert smtp.supports_extension("starttls")
    assert not smtp.supports_extension("auth"), smtp.esmtp_extensions
    await smtp.starttls()
    await smtp.ehlo()
    assert {"plain", "login"} <= set(smtp.server_auth_methods)
    await _quit(smtp)


async def test_postfix_submission_rejects_mail_before_starttls(postfix, tls_context):
    smtp = _client(postfix, postfix.ports.submission, tls_context)
    await smtp.connect()
    await smtp.ehlo()
    reply = await smtp.execute_command(b"MAIL", b"FROM:<alerts@client.test>")
    assert reply.code == 530, reply
    assert "STARTTLS" in reply.message
    await _quit(smtp)


async def test_postfix_submission_accepts_right_password(postfix, tls_context):
    smtp = await _submission_after_tls(postfix, tls_context)
    reply = await smtp.login(postfix.user, postfix.password)
    assert reply.code == 235, reply
    await _quit(smtp)


async def test_postfix_submission_rejects_wrong_password(postfix, tls_context):
    smtp = await _submission_after_tls(postfix, tls_context)
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as failure:
        # One mechanism, one try: login() would go on to LOGIN after PLAIN fails.
        await smtp.auth_plain(postfix.user, postfix.password + "-wrong")
    assert failure.value.code == 535
    await _quit(smtp)


async def test_postfix_submission_relays_only_for_authenticated_clients(postfix, tls_context):
    smtp = await _submission_after_tls(postfix, tls_context)
    await smtp.mail("alerts@client.test")
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
        await smtp.rcpt("ops@example.test")
    assert refused.value.code == 554
    await _quit(smtp)


async def test_postfix_smtps_handshakes_and_authenticates(postfix, tls_context):
    smtp = _client(postfix, postfix.ports.smtps, tls_context, use_tls=True)
    greeting = await smtp.connect()
    assert greeting.code == 220
    tls = smtp.get_transport_info("ssl_object")
    assert isinstance(tls, ssl.SSLObject)
    assert tls.version() in {"TLSv1.2", "TLSv1.3"}
    await smtp.ehlo()
    assert "plain" in smtp.server_auth_methods
    reply = await smtp.login(postfix.user, postfix.password)
    assert reply.code == 235, reply
    await _quit(smtp)


async def test_postfix_relay_offers_neither_auth_nor_starttls(postfix, tls_context):
    smtp = _client(postfix, postfix.ports.relay, tls_context)
    await smtp.connect()
    await smtp.ehlo()
    assert not smtp.supports_extension("auth"), smtp.esmtp_extensions
    assert not smtp.supports_extension("starttls"), smtp.esmtp_extensions
    await _quit(smtp)


async def test_postfix_starttls_optional_accepts_mail_before_tls_but_hides_auth(
    postfix, tls_context
):
    smtp = _client(postfix, postfix.ports.starttls_optional, tls_context)
    await smtp.connect()
    await smtp.ehlo()
    assert smtp.supports_extension("starttls")
    assert not smtp.supports_extension("auth"), smtp.esmtp_extensions
    reply = await smtp.execute_command(b"MAIL", b"FROM:<alerts@client.test>")
    assert reply.code == 250, reply
    await _quit(smtp)


@pytest.mark.parametrize(
    ("service", "reason"),
    [("expired", "certificate has expired"), ("wrong_name", "mismatch")],
)
async def test_postfix_broken_certificate_ports_fail_verification(
    postfix, tls_context, service, reason
):
    smtp = _client(postfix, getattr(postfix.ports, service), tls_context, use_tls=True)
    with pytest.raises(aiosmtplib.SMTPConnectError) as failure:
        await smtp.connect()
    cause = failure.value.__cause__
    assert isinstance(cause, ssl.SSLCertVerificationError), repr(cause)
    assert reason in cause.verify_message, cause.verify_message


async def test_postfix_submission_delivers_into_the_maildir(postfix, tls_context):
    token = secrets.token_hex(8)
    message = EmailMessage()
    message["From"] = "alerts@client.test"
    message["To"] = "ops@example.test"
    message["Subject"] = f"smtpcheck harness {token}"
    message.set_content("delivered by the private Postfix\n")
    smtp = await _submission_after_tls(postfix, tls_context)
    await smtp.login(postfix.user, postfix.password)
    await smtp.send_message(message)
    await _quit(smtp)
    delivered = await _wait_for_message(postfix.maildir, token)
    assert "delivered by the private Postfix" in delivered


async def _wait_for_message(maildir: Path, token: str) -> str:
    """Return the delivered message that carries ``token``; delivery is asynchronous (qmgr)."""
    async with asyncio.timeout(15):
        while True:
            for path in (maildir / "new").glob("*"):
                text = path.read_text()
                if token in text:
                    return text
            await asyncio.sleep(0.05)
