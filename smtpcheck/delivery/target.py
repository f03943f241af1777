"""Where `--expect-delivery` looks: a catcher URL parsed into a target, and the one error type.

Credentials may ride in the URL (``user:pass@``, for HTTP basic auth); the password never
appears in `CatcherTarget.display`, in a repr or in a `CatcherError` message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from smtpcheck.errors import SmtpcheckError
from smtpcheck.redaction import MASK, scrub
from smtpcheck.results.sent import TOKEN_HEADER, message_id_for, valid_token

__all__ = [
    "CATCHER_KINDS",
    "TOKEN_HEADER",
    "CatcherError",
    "CatcherKind",
    "CatcherTarget",
    "Fix",
    "message_id_for",
    "parse_target",
    "valid_token",
]

#: Where a message was found: one of the catchers' HTTP APIs, or a real mailbox over IMAP.
CatcherKind = Literal["mailpit", "mailhog", "maildev", "smtp4dev", "imap"]
#: The catchers `parse_target` takes (the mailbox has a URL of its own: `imap.parse_mailbox`).
CATCHER_KINDS: tuple[CatcherKind, ...] = ("mailpit", "mailhog", "maildev", "smtp4dev")

_MAILBOX_SCHEMES = ("imap", "imaps")


class Fix(StrEnum):
    """Which change makes a catcher usable: what `CatcherError` tells the user to look at."""

    URL = "url"  # wrong host, port, kind or base path, or not a catcher at all
    CREDENTIALS = "credentials"  # HTTP 401/403
    RUNNING = "running"  # nothing listens there, or it does not answer in time
    CATCHER = "catcher"  # it answered, but with an error or an answer too large to read


class CatcherError(SmtpcheckError):
    """A catcher's API could not be used; ``fix`` says what to change, ``url`` is masked."""

    def __init__(self, message: str, *, url: str, fix: Fix, http_status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.fix = fix
        self.http_status = http_status


@dataclass(frozen=True, slots=True)
class CatcherTarget:
    """One catcher API: its kind, base URL (no credentials in it) and basic-auth credentials."""

    kind: CatcherKind
    base_url: str  # scheme://host:port/base-path, without a trailing slash
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """Return the URL as given, the password masked: the form every message shows."""
        scheme, rest = self.base_url.split("://", 1)
        if self.username is None:
            return f"{self.kind}+{scheme}://{rest}"
        secret = f":{MASK}" if self.password is not None else ""
        return f"{self.kind}+{scheme}://{quote(self.username, safe='')}{secret}@{rest}"

    def mask(self, text: str) -> str:
        """Return ``text`` with the password scrubbed, in every form `redaction` knows."""
        return scrub(text, [self.password]) if self.password else text


def parse_target(url: str) -> CatcherTarget:
    """Return the catcher target a ``KIND+http(s)://[user:pass@]HOST[:PORT][/base]`` URL names.

    Raises:
        ValueError: not a catcher URL (an ``imap://`` or ``imaps://`` mailbox says so, for the
            caller to dispatch on), an unknown kind, or a malformed address; the message never
            holds the password.
    """
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ValueError(f"{_shown(url)} is not a URL: expected KIND+http://HOST:PORT")
    if scheme.lower() in _MAILBOX_SCHEMES:
        raise ValueError(f"not a catcher URL: {_shown(url)} names an IMAP mailbox")
    kind, plus, transport = scheme.lower().partition("+")
    if not plus or transport not in ("http", "https") or kind not in CATCHER_KINDS:
        raise ValueError(
            f"not a catcher URL: {_shown(url)}; expected "
            f"{', '.join(k + '+http://HOST:PORT' for k in CATCHER_KINDS)} (or https)"
        )
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError(f"{_shown(url)}: a catcher URL takes no query or fragment")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise ValueError(f"{_shown(url)}: {exc}") from None
    if not host:
        raise ValueError(f"{_shown(url)}: no host")
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port is not None else ""
    return CatcherTarget(
        kind=kind,  # checked against CATCHER_KINDS above
        base_url=f"{transport}://{netloc}{parts.path.rstrip('/')}",
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _shown(url: str) -> str:
    # The password of a URL that does not parse is masked by hand: userinfo ends at the last @
    # before the path.
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    if sep and at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        return f"{scheme}://{user}:{MASK}@{hostport}{slash}{path}"
    return url
