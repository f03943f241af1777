"""What arrived against what was sent: the fields a relay may have changed on the way.

A relay that tags the subject (``[EXTERNAL]``), appends a footer, rewrites the sender or strips
unknown headers delivers something other than what the platform sent; each such field becomes
a `Difference`.
"""

from __future__ import annotations

from email.utils import parseaddr

from smtpcheck.delivery.found import FoundMessage
from smtpcheck.results import Difference, SentMessage

__all__ = ["differences"]

_SHOWN = 120  # characters of a changed value kept in the report


def differences(sent: SentMessage, found: FoundMessage) -> tuple[Difference, ...]:
    """Return each field of ``found`` that differs from ``sent``, in a fixed order."""
    changed: list[Difference] = []
    if found.sender is None or not _same_address(found.sender, sent.sender):
        changed.append(Difference("sender", sent.sender, _short(found.sender)))
    if not any(_same_address(r, sent.recipient) for r in found.recipients):
        shown = ", ".join(found.recipients) or None
        changed.append(Difference("recipient", sent.recipient, _short(shown)))
    if _words(found.subject) != _words(sent.subject):
        changed.append(Difference("subject", sent.subject, _short(found.subject)))
    if found.token != sent.token:
        changed.append(Difference("token", sent.token, found.token))
    if found.text is None or _lines(found.text) != _lines(sent.text):
        changed.append(Difference("body", _short(sent.text) or "", _short(found.text)))
    return tuple(changed)


def _same_address(one: str, other: str) -> bool:
    # Domains are case-insensitive (RFC 5321 §2.4); a local part may not be, but no relay
    # changes only its case, and catchers differ in whether they keep it.
    return parseaddr(one)[1].casefold() == parseaddr(other)[1].casefold()


def _words(value: str | None) -> list[str] | None:
    # Header folding (RFC 5322 §2.2.3) may change the whitespace, never the words.
    return None if value is None else value.split()


def _lines(text: str) -> list[str]:
    # Transports may add trailing blanks or a final newline (dot-stuffing and line-length
    # rules, RFC 5321 §4.5.2); the lines themselves must arrive as sent.
    return [line.rstrip() for line in text.strip("\n").split("\n")]


def _short(value: str | None) -> str | None:
    if value is None or len(value) <= _SHOWN:
        return value
    return value[: _SHOWN - 1] + "…"
