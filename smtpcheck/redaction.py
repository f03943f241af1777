"""The one secret scrubber: every text that leaves the process passes through it first.

Passwords and the panel session hash are replaced by one mask, in every form the tool sends
or a peer may echo, and each run of overlapping or touching occurrences by one mask (one
secret can contain another, and the base64 of a password can sit inside the base64 of AUTH
PLAIN's payload). `redact` does the same to every string of a frozen dataclass or JSON value.

The forms of each secret: as it is; URL-encoded (``quote`` with and without ``/`` kept,
``quote_plus``); JSON-escaped (ASCII or not, ``/`` escaped or not); repr- and backslash-escaped;
base64 (standard and URL-safe, padded or not; `secret_forms` adds AUTH LOGIN's and PLAIN's).
Text and forms are compared case-folded, so an echo upper- or lower-cased, or with ``%2f`` for
``%2F``, is masked too.

Where a form is masked:

- A *distinctive* form is masked wherever it occurs, inside longer words too: one of 8 or more
  characters of at least two kinds (letters, digits, other). Such a string does not occur in
  ordinary text by chance, so an occurrence inside a longer word is the secret glued to
  something (``user:secret@host``, ``xsecret``), and unmasked it would leak.
- Any other form (short, or of one kind: ``ok``, ``250``, ``localhost``, ``password``) is
  masked only as a whole token: not next to a letter, digit or ``_``, nor to a ``.`` or ``-``
  that joins it to one (``mail.localhost.test``, ``ok-2``). Masked inside words, a common
  string garbles every message (``250`` in ``2501``, ``localhost`` in every host name), and
  each garbled spot points at the secret; inside a longer word it tells nothing. Standing alone
  it is masked still (``250 OK`` becomes ``******** OK``: a secret the protocol itself uses
  cannot hide better than that).
- A side of a form that ends in punctuation needs no guard: the punctuation is the edge.
  A form of white space only is never masked: it cannot be told from layout.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "Secret", "redact", "reveal", "scrub", "secret_forms"]

#: What every output shows in place of a secret.
MASK = "********"

T = TypeVar("T")

# A form this long, of two kinds of character, is masked inside longer words too (see above).
_DISTINCTIVE_LENGTH = 8


class Secret(Protocol):
    """A value that keeps its text out of repr and str (pydantic's ``SecretStr``)."""

    def get_secret_value(self) -> str: ...


def reveal(secret: Secret | None) -> str | None:
    """Return the text of a secret, or None when there is none: the one place secrets are read."""
    return None if secret is None else secret.get_secret_value()


def secret_forms(user: str | None, password: str | None) -> tuple[str, ...]:
    """Return the password as AUTH sends it: plain, base64 (LOGIN) and PLAIN's base64 payload.

    `scrub` adds every encoding of each (URL, JSON, escapes, base64, case) by itself.
    """
    if not password:
        return ()
    # RFC 4616 PLAIN: authzid NUL authcid NUL passwd; an empty user name is sent as is.
    return (password, _b64(password), _b64(f"\0{user or ''}\0{password}"))


def _b64(text: str) -> str:
    # surrogatepass: a lone surrogate cannot be sent (the models refuse one), but masking must
    # never be what fails on it.
    return base64.b64encode(_utf8(text)).decode("ascii")


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every form of each secret in ``text`` with the mask (see the module's rule)."""
    keys = _keys(_normal(secrets))
    return _masked(text, keys) if keys else text


def redact(value: T, secrets: Sequence[str]) -> T:
    """Return a copy of a frozen dataclass or JSON value with every secret masked in its strings.

    Dict keys are strings too. Types other than dataclasses, tuples, lists, dicts and strings
    are returned as they are.
    """
    keys = _keys(_normal(secrets)) if secrets else ()
    if not keys:
        return value
    text = "\0".join(_strings(value)).casefold()
    if not any(key in text for key in keys):
        return value  # nearly always: rebuilding every field would cost more than the search
    return _scrub(value, keys)  # type: ignore[no-any-return]


def _normal(secrets: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({secret for secret in secrets if secret}))


@functools.lru_cache(maxsize=256)  # one entry per gateway's secrets: a fleet probes each often
def _keys(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Return every form of the secrets, case-folded: what is searched for in folded text."""
    # Searching case-folded text with str.find costs a few microseconds for a probe's text;
    # a case-insensitive regex of every form costs a hundred times more.
    forms = {form.casefold() for secret in secrets for form in _encodings(secret)}
    return tuple(sorted((form for form in forms if not form.isspace()), key=len, reverse=True))


def _encodings(secret: str) -> set[str]:
    """Return the forms a secret may take in a text this process writes or a peer sends."""
    raw = _utf8(secret)
    escaped = json.dumps(secret)[1:-1]
    plain = (base64.b64encode(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii"))
    return {
        secret,
        secret.lower(),  # the same once folded, nearly always: not for every script
        secret.upper(),
        quote(raw, safe=""),
        quote(raw),
        quote_plus(raw),
        escaped,
        escaped.replace("/", "\\/"),  # PHP's json_encode escapes "/" by default
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        secret.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"'),
        secret.encode("unicode_escape").decode("ascii"),
        *plain,
        *(form.rstrip("=") for form in plain),
    }


def _distinctive(key: str) -> bool:
    if len(key) < _DISTINCTIVE_LENGTH:
        return False
    kinds = {"letter" if c.isalpha() else "digit" if c.isdigit() else "other" for c in key}
    return len(kinds) > 1


def _masked(text: str, keys: Sequence[str]) -> str:
    """Return ``text`` with each run of overlapping or touching occurrences as one mask."""
    folded, origin = _fold(text)
    found = sorted(span for key in keys if key in folded for span in _occurrences(folded, key))
    spans: list[list[int]] = []
    for start, end in found:
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    if not spans:
        return text
    pieces: list[str] = []
    done = 0
    for start, end in spans:
        if origin is not None:  # back from folded positions to the text's own
            start, end = origin[start], origin[end - 1] + 1
        pieces += (text[done:start], MASK)
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _fold(text: str) -> tuple[str, list[int] | None]:
    """Return the case-folded text, and the position in ``text`` of each of its characters.

    None for the positions when folding kept every character one character (nearly always).
    """
    folded = text.casefold()
    if len(folded) == len(text):
        return folded, None
    origin = [index for index, char in enumerate(text) for _ in char.casefold()]
    return folded, origin


def _occurrences(text: str, key: str) -> Iterator[tuple[int, int]]:
    """Yield where ``key`` occurs in ``text``, overlaps too: as a whole token unless distinctive."""
    anywhere = _distinctive(key)
    guard_start, guard_end = _is_word(key[0]), _is_word(key[-1])
    start = text.find(key)
    while start != -1:
        end = start + len(key)
        if anywhere or not (
            (guard_start and _joined(text, start - 1, -1)) or (guard_end and _joined(text, end, 1))
        ):
            yield start, end
        start = text.find(key, start + 1)


def _joined(text: str, index: int, step: int) -> bool:
    """Return True when the character at ``index`` joins a word to the one beside it."""
    if not 0 <= index < len(text):
        return False
    if _is_word(text[index]):
        return True
    beyond = index + step
    # An inner "." or "-" joins too: "localhost" in "mail.localhost.test" or "ok-2".
    return text[index] in ".-" and 0 <= beyond < len(text) and _is_word(text[beyond])


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _strings(value: object) -> list[str]:
    """Return every string inside a value made of dataclasses, containers and strings."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str:
            found.append(item)  # type: ignore[arg-type]
        elif kind in _SCALARS:
            continue  # a probe result is mostly timings, codes and None
        elif isinstance(item, tuple | list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
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


def _scrub(value: Any, keys: Sequence[str]) -> Any:
    if type(value) is str:  # not `isinstance`: StrEnum members stay what they are
        return _masked(value, keys)
    if isinstance(value, tuple):
        return tuple(_scrub(item, keys) for item in value)
    if isinstance(value, list):
        return [_scrub(item, keys) for item in value]
    if isinstance(value, dict):
        return {_scrub(k, keys): _scrub(v, keys) for k, v in value.items()}
    names = _field_names(type(value))
    if names:
        changes = {name: _scrub(getattr(value, name), keys) for name in names}
        return dataclasses.replace(value, **changes)
    return value
