"""One interface over both places `--expect-delivery` looks: a catcher's API or an IMAP folder.

`parse_place` reads the URL (a usage error when it is neither kind); `open_inbox` returns an
`Inbox` whose ``find`` and ``delete`` raise only `InboxError`, which names what to fix.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from typing import Protocol

from smtpcheck.delivery import imap
from smtpcheck.delivery.catchers import Catcher, open_catcher
from smtpcheck.delivery.found import FoundMessage
from smtpcheck.delivery.imap import MailboxError, MailboxTarget
from smtpcheck.delivery.target import CatcherError, CatcherTarget, parse_target
from smtpcheck.errors import SmtpcheckError

__all__ = ["Inbox", "InboxError", "Place", "open_inbox", "parse_place"]

#: Where to look: a catcher's API, or a mailbox folder.
Place = CatcherTarget | MailboxTarget

_FIXES = {
    "url": "check the catcher URL: its kind (mailpit+, mailhog+…), host, port and base path",
    "credentials": "check the credentials: the user in the URL and the password variable",
    "running": "start the catcher, or point the URL at where it listens",
    "catcher": "the catcher answered with an error: look at its log",
    "tls": "trust the server's certificate (--ca-file) or fix its TLS",
    "plaintext": "use imaps://, or a server that offers STARTTLS",
    "folder": "name a folder that exists in the URL's path",
    "unreachable": "check the mailbox URL's host and port, and that the server runs",
    "timeout": "check that the server answers there, or raise --delivery-timeout",
    "server": "the mail server refused a command: look at its log",
}


class InboxError(SmtpcheckError):
    """The place could not be asked; ``problem`` names what to fix, ``fix`` says it."""

    def __init__(self, message: str, *, problem: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.fix = _FIXES.get(problem, "check the --expect-delivery URL")


class Inbox(Protocol):
    """Somewhere the test message should arrive. Close it with `aclose`."""

    @property
    def where(self) -> str:
        """Return the URL, its password masked."""
        ...

    async def find(self, token: str) -> FoundMessage | None:
        """Return the message carrying ``token``, or None while there is none."""
        ...

    async def delete(self, found: FoundMessage) -> None:
        """Remove ``found`` (and, in a mailbox, any other copy carrying its token)."""
        ...

    async def aclose(self) -> None:
        """Release the connection pool."""
        ...


def parse_place(url: str, *, password: str | None = None) -> Place:
    """Return the place a URL names; ``password`` completes a catcher URL's ``user@``.

    Raises:
        ValueError: the URL is neither a catcher nor a mailbox; the message never holds a
            password.
    """
    if url.partition("://")[0].lower() in ("imap", "imaps"):
        return imap.parse_mailbox(url)
    target = parse_target(url)
    if target.username is not None and target.password is None and password:
        target = replace(target, password=password)  # basic auth: the URL names the user
    return target


def open_inbox(
    place: Place, *, password: str | None, ssl_context: ssl.SSLContext, timeout: float
) -> Inbox:
    """Return the inbox of ``place``; each call it makes is bounded by ``timeout`` seconds.

    Raises:
        ValueError: ``place`` is a mailbox and there is no password to log in with.
    """
    if isinstance(place, MailboxTarget):
        if not password:
            raise ValueError(f"no password to log in to {place.display} with")
        return _Mailbox(place, password, ssl_context, timeout)
    return _CatcherInbox(open_catcher(place, timeout=timeout, verify=ssl_context))


@dataclass(slots=True)
class _CatcherInbox:
    catcher: Catcher

    @property
    def where(self) -> str:
        return self.catcher.target.display

    async def find(self, token: str) -> FoundMessage | None:
        try:
            return await self.catcher.find(token)
        except CatcherError as exc:
            raise InboxError(str(exc), problem=str(exc.fix)) from None

    async def delete(self, found: FoundMessage) -> None:
        try:
            await self.catcher.delete(found)
        except CatcherError as exc:
            raise InboxError(str(exc), problem=str(exc.fix)) from None

    async def aclose(self) -> None:
        await self.catcher.__aexit__(None, None, None)


@dataclass(slots=True)
class _Mailbox:
    target: MailboxTarget
    password: str = field(repr=False)
    ssl_context: ssl.SSLContext
    timeout: float

    @property
    def where(self) -> str:
        return self.target.display

    async def find(self, token: str) -> FoundMessage | None:
        try:
            return await imap.find(
                self.target,
                token,
                password=self.password,
                ssl_context=self.ssl_context,
                timeout=self.timeout,
            )
        except MailboxError as exc:
            raise InboxError(str(exc), problem=str(exc.problem)) from None

    async def delete(self, found: FoundMessage) -> None:
        if found.token is None:
            return  # found by its Message-ID alone: nothing to search the folder for again
        try:
            await imap.delete(
                self.target,
                found.token,
                password=self.password,
                ssl_context=self.ssl_context,
                timeout=self.timeout,
            )
        except MailboxError as exc:
            raise InboxError(str(exc), problem=str(exc.problem)) from None

    async def aclose(self) -> None:
        return None  # every IMAP call logs in and out on its own connection
