"""What a catcher holds for one test message: plain values, read from its raw source.

`found_in` parses the source and keeps it only when it carries the token: every catcher's
search matches substrings, so each hit is checked here, exactly, before it counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses

from smtpcheck.delivery.target import TOKEN_HEADER, CatcherKind

__all__ = ["Envelope", "FoundMessage", "found_in"]


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope a catcher recorded: MAIL FROM (``""`` for the null sender), RCPT TOs."""

    sender: str
    recipients: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FoundMessage:
    """One message a catcher holds, matched by its token.

    ``sender`` and ``recipients`` come from the SMTP envelope where the catcher keeps one
    (``envelope`` True: MailHog, maildev), else from the From and To/Cc/Bcc headers (Mailpit,
    smtp4dev). ``headers`` (names as sent, values unfolded, in order, repeats kept), ``subject``,
    ``message_id``, ``token`` and ``text`` are parsed from ``raw``, the source as the catcher
    returns it.
    """

    catcher: CatcherKind
    id: str  # the catcher's own id, what `delete` needs
    sender: str | None
    recipients: tuple[str, ...]
    envelope: bool
    subject: str | None
    message_id: str | None
    token: str | None
    headers: tuple[tuple[str, str], ...]
    text: str | None  # the first text/plain part, decoded, lines ending in \n; None if none
    raw: bytes


def found_in(
    catcher: CatcherKind, id_: str, raw: bytes, token: str, envelope: Envelope | None = None
) -> FoundMessage | None:
    """Return the message ``raw`` is, or None unless it carries ``token`` exactly.

    It carries it when a `TOKEN_HEADER` value is the token, or when its Message-ID is the one
    smtpcheck made from it (a relay may drop an unknown X- header, rarely the Message-ID).
    """
    message = message_from_bytes(raw, policy=policy.default)
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default makes one
        return None
    tokens = [str(v).strip() for v in message.get_all(TOKEN_HEADER, [])]
    message_id = _header(message, "Message-ID")
    if token not in tokens and f"<smtpcheck.{token}@" not in (message_id or ""):
        return None
    if envelope is not None:
        sender, recipients = envelope.sender or None, envelope.recipients
    else:
        sender, recipients = _header_addresses(message)
    return FoundMessage(
        catcher=catcher,
        id=id_,
        sender=sender,
        recipients=recipients,
        envelope=envelope is not None,
        subject=_header(message, "Subject"),
        message_id=message_id,
        token=tokens[0] if tokens else None,
        headers=tuple((name, str(value)) for name, value in message.items()),
        text=_text(message),
        raw=raw,
    )


def _header(message: EmailMessage, name: str) -> str | None:
    value = message.get(name)
    return None if value is None else str(value).strip()


def _header_addresses(message: EmailMessage) -> tuple[str | None, tuple[str, ...]]:
    froms = getaddresses([str(v) for v in message.get_all("From", [])])
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    recipients = tuple(address for _, address in getaddresses(fields) if address)
    return (froms[0][1] or None) if froms else None, recipients


def _text(message: EmailMessage) -> str | None:
    body = message.get_body(preferencelist=("plain",))
    if not isinstance(body, EmailMessage):
        return None
    try:
        content = body.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        return None
    # SMTP carries CRLF; the text is compared with what was sent, written with \n.
    return content.replace("\r\n", "\n") if isinstance(content, str) else None
