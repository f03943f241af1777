"""The demo's catcher store: what its three SMTP servers accepted, kept in memory, bounded.

An aiosmtpd handler stores each message; the demo's web API (`web`) lists, searches and
deletes them as Mailpit does.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

__all__ = ["MAX_MESSAGES", "MAX_SIZE", "Inbox", "Stored", "StoringHandler"]

MAX_MESSAGES = 100  # the oldest goes first: a demo never needs more
MAX_SIZE = 1024 * 1024  # bytes of one message kept; a larger one is refused (RFC 5321 §4.5.3.1.10)


@dataclass(frozen=True, slots=True)
class Stored:
    """One accepted message: the catcher's id, the envelope, the raw source, when it came."""

    id: str
    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    created: datetime

    def header(self, name: str) -> str:
        """Return one header's value, unfolded ('' when absent)."""
        value = message_from_bytes(self.raw, policy=policy.default).get(name)
        return "" if value is None else " ".join(str(value).split())

    def headers(self) -> dict[str, list[str]]:
        """Return every header, by name, each value as it came."""
        parsed = message_from_bytes(self.raw, policy=policy.default)
        found: dict[str, list[str]] = {}
        for name, value in parsed.items():
            found.setdefault(name, []).append(str(value))
        return found


class Inbox:
    """The messages in arrival order, at most `MAX_MESSAGES`."""

    def __init__(self, limit: int = MAX_MESSAGES) -> None:
        self._limit = limit
        self._messages: OrderedDict[str, Stored] = OrderedDict()

    def add(self, sender: str, recipients: tuple[str, ...], raw: bytes) -> Stored:
        """Store a message under a new id; drop the oldest beyond the limit."""
        stored = Stored(secrets.token_hex(8), sender, recipients, raw, datetime.now(UTC))
        self._messages[stored.id] = stored
        while len(self._messages) > self._limit:
            self._messages.popitem(last=False)
        return stored

    def all(self) -> list[Stored]:
        """Return every message, newest first (Mailpit's order)."""
        return list(reversed(self._messages.values()))

    def get(self, id_: str) -> Stored | None:
        """Return the message with this id, or None."""
        return self._messages.get(id_)

    def search_message_id(self, text: str) -> list[Stored]:
        """Return the messages whose Message-ID contains ``text``, case-insensitively."""
        wanted = text.casefold()
        return [m for m in self.all() if wanted in m.header("Message-ID").casefold()]

    def delete(self, ids: list[str]) -> None:
        """Remove these messages; unknown ids are ignored."""
        for id_ in ids:
            self._messages.pop(id_, None)


class StoringHandler:
    """An aiosmtpd handler that keeps what DATA carried in an `Inbox`."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if len(raw) > MAX_SIZE:
            return "552 5.3.4 message too big for the demo catcher"
        stored = self.inbox.add(envelope.mail_from or "", tuple(envelope.rcpt_tos), bytes(raw))
        return f"250 2.0.0 OK: queued as {stored.id}"
