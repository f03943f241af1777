"""The SMTP transcript a probe records for ``-v``, with AUTH masked as it is recorded.

An AUTH command keeps only its mechanism, and every line the client sends while the server is
asking for more (``334``) is replaced by the mask. The recorder then scrubs the password, in
clear and in the base64 forms AUTH uses, from the whole result (`smtpcheck.redaction`).
"""

from __future__ import annotations

from collections.abc import Sequence

from smtpcheck.redaction import MASK

__all__ = ["Transcript"]

_AUTH_CONTINUE = 334  # RFC 4954 §4: the server wants the next piece of the exchange


class Transcript:
    """One probe's lines: ``C:`` what smtpcheck sent, ``S:`` the server's replies, ``--`` notes."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._lines: list[str] = []
        self._in_auth = False

    @property
    def lines(self) -> tuple[str, ...]:
        """Return the lines recorded so far."""
        return tuple(self._lines)

    def command(self, args: Sequence[bytes]) -> None:
        """Record a command, masking credentials."""
        if not self.enabled:  # the common case in a fleet: skip the formatting too
            return
        verb = args[0].decode("ascii", "replace").upper() if args else ""
        if verb == "AUTH":
            # RFC 4954: "AUTH mechanism [initial-response]"; the response carries credentials.
            mechanism = args[1].decode("ascii", "replace") if len(args) > 1 else ""
            masked = f" {MASK}" if len(args) > 2 else ""
            text = f"AUTH {mechanism}{masked}"
            self._in_auth = True
        elif self._in_auth:
            text = MASK
        else:
            text = b" ".join(args).decode("utf-8", "replace")
        self._add(f"C: {text}")

    def reply(self, code: int, message: str) -> None:
        """Record a reply, one line per line of a multi-line reply."""
        if not self.enabled:
            return
        if code != _AUTH_CONTINUE:
            self._in_auth = False
        parts = message.split("\n") if message else [""]
        for i, part in enumerate(parts):
            separator = " " if i == len(parts) - 1 else "-"
            self._add(f"S: {code}{separator}{part}".rstrip())

    def note(self, text: str) -> None:
        """Record what smtpcheck did or saw that is not an SMTP line (TLS, a second connection)."""
        if self.enabled:
            self._lines.append(f"-- {text}")

    def _add(self, line: str) -> None:
        self._lines.append(line)
