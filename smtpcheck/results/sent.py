"""The test message `--send-to` got accepted: its token, and what was sent, to look for later.

The token ties a message a catcher or mailbox holds to the probe that sent it. Its forms (the
header, the Message-ID) are defined here, below both the probe that writes them and the
delivery clients that search for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["TOKEN_HEADER", "SentMessage", "message_id_for", "valid_token"]

#: The header every test message carries its token in.
TOKEN_HEADER = "X-Smtpcheck-Token"

# Letters and digits only: the token goes into search queries of four syntaxes (Mailpit's
# words and quotes, MailHog's regex under MongoDB, query strings), where nothing needs escaping.
_TOKEN = re.compile(r"[A-Za-z0-9]{8,64}")


def valid_token(token: str) -> str:
    """Return ``token`` if catchers can search for it as it is (8–64 letters and digits).

    Raises:
        ValueError: it is not.
    """
    if not _TOKEN.fullmatch(token):
        raise ValueError("a delivery token is 8 to 64 ASCII letters and digits")
    return token


def message_id_for(token: str, domain: str) -> str:
    """Return the Message-ID a test message with ``token`` carries: the token is findable in it."""
    return f"<smtpcheck.{valid_token(token)}@{domain}>"


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A test message the server accepted (250 to DATA), as it was sent.

    ``text`` is the body with LF line ends, as a catcher's parsed text is compared with it.
    ``accepted_at`` is the `time.perf_counter` reading at the 250: delivery latency counts
    from there.
    """

    token: str
    message_id: str
    sender: str
    recipient: str
    subject: str
    text: str
    accepted_at: float = field(default=0.0, compare=False)
