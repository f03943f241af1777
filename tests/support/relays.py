"""Misbehaving relays for delivery tests: they answer 250, then change what they pass on."""

from __future__ import annotations

import re

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["SubjectTaggingRelay"]

_SUBJECT = re.compile(rb"(?im)^Subject: ")


class SubjectTaggingRelay:
    """An aiosmtpd handler that tags the Subject, as outbound filters do, then forwards it.

    The message goes on to ``host``:``port`` with aiosmtplib, named ``relay.test`` in EHLO (no
    name lookup); only the first Subject of the header block is touched.
    """

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self._port, self._host = port, host

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or b"")
        head, sep, body = raw.partition(b"\r\n\r\n")
        tagged = _SUBJECT.sub(b"Subject: [EXTERNAL] ", head, count=1)
        await aiosmtplib.send(
            tagged + sep + body,
            sender=envelope.mail_from,
            recipients=list(envelope.rcpt_tos),
            hostname=self._host,
            port=self._port,
            local_hostname="relay.test",
            timeout=10,
        )
        return "250 2.0.0 Ok: forwarded"
