"""The one secret scrubber: every text that leaves the process passes through it first.

Passwords and the panel session hash are replaced by one mask, longest secret first (the
base64 of a password can be the tail of the base64 of AUTH PLAIN's payload, and one secret can
contain another). `redact` does the same to every string inside a frozen dataclass.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

__all__ = ["MASK", "Secret", "redact", "reveal", "scrub", "secret_forms"]

#: What every output shows in place of a secret.
MASK = "********"

T = TypeVar("T")


class Secret(Protocol):
    """A value that keeps its text out of repr and str (pydantic's ``SecretStr``)."""

    def get_secret_value(self) -> str: ...


def reveal(secret: Secret | None) -> str | None:
    """Return the text of a secret, or None when there is none: the one place secrets are read."""
    return None if secret is None else secret.get_secret_value()


def secret_forms(user: str | None, password: str | None) -> tuple[str, ...]:
    """Return the password as it may appear on the wire: plain, and base64 as AUTH sends it."""
    if not password:
        return ()
    forms = [password, _b64(password)]
    if user:
        # RFC 4616 PLAIN: authzid NUL authcid NUL passwd
        forms.append(_b64(f"\0{user}\0{password}"))
    return tuple(forms)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret with the mask, longest secret first."""
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
        return scrub(value, secrets)
    if isinstance(value, tuple):
        return tuple(_scrub(item, secrets) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _scrub(getattr(value, f.name), secrets) for f in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **changes)
    return value
