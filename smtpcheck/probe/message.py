"""The small test message `--send-to` sends, carrying a unique token to find it again by.

The token is in the Message-ID, in the `TOKEN_HEADER` header, and in the subject and body too:
smtp4dev searches only those, and a relay that drops unknown headers leaves them.
"""

from __future__ import annotations

import email.policy
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from smtpcheck.results.sent import TOKEN_HEADER, message_id_for

__all__ = ["TestMessage", "build_test_message"]

_BODY = (
    "This message was sent by smtpcheck to test an e-mail gateway's SMTP settings.\n"
    "It was sent because someone ran smtpcheck with --send-to; nothing is sent without it.\n"
    "Token: {token}\n"
)


@dataclass(frozen=True, slots=True)
class TestMessage:
    """One test message: its token, the parts a delivery check compares, and the bytes."""

    __test__ = False  # a name pytest would otherwise collect

    token: str
    message_id: str
    subject: str
    text: str  # the body, LF line ends
    data: bytes  # the whole message, CRLF line ends, ready for DATA


def build_test_message(
    *, sender: str, recipient: str, domain: str, token: str | None = None
) -> TestMessage:
    """Return a test message with a fresh token (or ``token``), ready for DATA.

    ``domain`` goes into the Message-ID: `make_msgid` would otherwise look up the machine's
    FQDN, a DNS query the probe must not make.
    """
    token = token or secrets.token_hex(16)
    message_id = message_id_for(token, domain)
    subject = f"smtpcheck test message {token}"
    text = _BODY.format(token=token)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)  # RFC 5322 §3.6.1: Date is required
    message["Message-ID"] = message_id
    message[TOKEN_HEADER] = token
    message.set_content(text)
    return TestMessage(token, message_id, subject, text, message.as_bytes(policy=email.policy.SMTP))
