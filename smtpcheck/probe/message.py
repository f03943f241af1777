"""The small test message `--send-to` sends: a subject that names smtpcheck, Date and Message-ID."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

__all__ = ["build_test_message"]

_BODY = (
    "This message was sent by smtpcheck to test an e-mail gateway's SMTP settings.\n"
    "It was sent because someone ran smtpcheck with --send-to; nothing is sent without it.\n"
)


def build_test_message(*, sender: str, recipient: str, domain: str) -> bytes:
    """Return the message, with CRLF line ends, ready for DATA.

    ``domain`` goes into the Message-ID: given explicitly, `make_msgid` would otherwise look up
    the machine's FQDN.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = "smtpcheck test message"
    message["Date"] = formatdate(usegmt=True)  # RFC 5322 §3.6.1: Date is required
    message["Message-ID"] = make_msgid("smtpcheck", domain=domain)
    message.set_content(_BODY)
    return message.as_bytes(policy=email.policy.SMTP)
