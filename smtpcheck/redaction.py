"""The one secret scrubber: every text that leaves the process passes through it first.

Passwords and the panel session hash are replaced by one mask, longest secret first (the
base64 of a password can be the tail of the base64 of AUTH PLAIN's payload, and one secret can
contain another). `redact` does the same to every string inside a frozen dataclass.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable, Sequence
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
    # RFC 4616 PLAIN: authzid NUL authcid NUL passwd; an empty user name is sent as is.
    return (password, _b64(password), _b64(f"\0{user or ''}\0{password}"))


def _b64(text: str) -> str:
    # surrogatepass: a lone surrogate cannot be sent (the models refuse one), but masking must
    # never be what fails on it.
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret with the mask, longest secret first."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


def redact(value: T, secrets: Sequence[str]) -> T:
    """Return a copy of a frozen dataclass with every secret masked in all its strings."""
    if not secrets:
        return value
    text = "\0".join(_strings(value))
    if not any(secret and secret in text for secret in secrets):
        return value  # nearly always: rebuilding every field would cost more than the search
    return _scrub(value, secrets)  # type: ignore[no-any-return]


def _strings(value: object) -> list[str]:
    """Return every string inside a value made of dataclasses, tuples and strings."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str:
            found.append(item)  # type: ignore[arg-type]
        elif kind in _SCALARS:
            continue  # a probe result is mostly timings, codes and None
        elif isinstance(item, tuple):
            pending.extend(item)
        else:
            pending.extend([getattr(item, name) for name in _field_names(kind)])
    return found


_SCALARS = frozenset({type(None), bool, int, float})


# The field names of each dataclass met, so that a walk does not ask `dataclasses.fields` again
# for every probe of a fleet.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        fields = dataclasses.fields(kind) if dataclasses.is_dataclass(kind) else ()
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields)
    return names


def _scrub(value: Any, secrets: Sequence[str]) -> Any:
    if type(value) is str:  # not `isinstance`: StrEnum members stay what they are
        return scrub(value, secrets)
    if isinstance(value, tuple):
        return tuple(_scrub(item, secrets) for item in value)
    names = _field_names(type(value))
    if names:
        changes = {name: _scrub(getattr(value, name), secrets) for name in names}
        return dataclasses.replace(value, **changes)
    return value
