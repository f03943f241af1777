"""The SMTP transcript a probe records for ``-v``, with AUTH masked, and the final secret scrub.

Masking happens as lines are recorded: an AUTH command keeps only its mechanism, and every line
the client sends while the server is asking for more (``334``) is replaced. `redact` then removes
the password, in clear and in the base64 forms AUTH uses, from every string of a probe result.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["MASK", "Transcript", "redact", "redact_text", "secret_forms"]

MASK = "********"

_AUTH_CONTINUE = 334  # RFC 4954 §4: the server wants the next piece of the exchange
T = TypeVar("T")


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


def secret_forms(user: str | None, password: str | None) -> tuple[str, ...]:
    """Return the password as it may appear on the wire: plain, and base64 as AUTH sends it."""
    if not password:
        return ()
    forms = [password, _b64(password)]
    if user:
        forms.append(
            _b64(f"\0{user}\0{password}")
        )  # RFC 4616 PLAIN: authzid NUL authcid NUL passwd
    return tuple(forms)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret with the mask."""
    # Longest first: the base64 of the password can be the tail of the base64 of PLAIN's payload.
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


def redact(value: T, secrets: Sequence[str]) -> T:
    """Return a copy of a frozen dataclass with every secret masked in all its strings."""
    if not secrets or not any(s in text for text in _strings(value) for s in secrets):
        return value  # nearly always: rebuilding every field would cost more than the search
    return _scrub(value, secrets)  # type: ignore[no-any-return]


def _strings(value: Any) -> Iterator[str]:
    if type(value) is str:
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))


def _scrub(value: Any, secrets: Sequence[str]) -> Any:
    if type(value) is str:  # not `isinstance`: StrEnum members stay what they are
        return redact_text(value, secrets)
    if isinstance(value, tuple):
        return tuple(_scrub(item, secrets) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _scrub(getattr(value, f.name), secrets) for f in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **changes)
    return value
