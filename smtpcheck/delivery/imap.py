"""Read a test message back from a real mailbox over IMAP: find it by its token, then delete it.

`parse_mailbox` reads ``imaps://USER@HOST[:PORT]/FOLDER`` or ``imap://…`` (STARTTLS required);
`find` and `delete` raise only `MailboxError`, whose message says what to fix.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import os
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeVar
from urllib.parse import quote, unquote, urlsplit

from smtpcheck.delivery.found import FoundMessage, found_in
from smtpcheck.delivery.target import TOKEN_HEADER, valid_token
from smtpcheck.errors import SmtpcheckError
from smtpcheck.redaction import scrub

__all__ = [
    "DEFAULT_FOLDER",
    "MailboxError",
    "MailboxProblem",
    "MailboxTarget",
    "delete",
    "find",
    "parse_mailbox",
    "read_password",
]

DEFAULT_FOLDER = "INBOX"
_DEFAULT_PORTS = {"imaps": 993, "imap": 143}
# imaplib, not asyncio streams: reading IMAP answers right (literals, untagged data, STARTTLS)
# is most of an IMAP client, and the stdlib's is proven. The price is a thread per call, which
# cannot be cancelled: every socket operation is bounded by the caller's deadline instead.
_SLACK = 1.0  # seconds the awaiting side waits past the deadline for the thread to give up
_MAX_CANDIDATES = 10  # HEADER search matches substrings: check at most this many hits exactly
_RAW_LIMIT = 4 * 1024 * 1024  # bytes of one message fetched (a partial FETCH bounds memory)
_FOLDER = re.compile(r"[\x20-\x7e]+")  # printable ASCII: no modified UTF-7 encoding needed
_log = logging.getLogger(__name__)

_T = TypeVar("_T")


class MailboxProblem(StrEnum):
    """What went wrong with a mailbox, and so what the user must fix."""

    CREDENTIALS = "credentials"  # the login was refused
    TLS = "tls"  # the handshake failed or the certificate is not trusted
    PLAINTEXT = "plaintext"  # imap:// to a server that offers no STARTTLS: never logged in
    FOLDER = "folder"  # the folder does not exist (or may not be opened)
    UNREACHABLE = "unreachable"  # no such host, nothing listening, connection dropped
    TIMEOUT = "timeout"  # no answer within the time given
    SERVER = "server"  # the server answered a command with an error


class MailboxError(SmtpcheckError):
    """A mailbox could not be used; ``problem`` says which part to fix, ``url`` where."""

    def __init__(self, message: str, *, problem: MailboxProblem, url: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.url = url


@dataclass(frozen=True, slots=True)
class MailboxTarget:
    """One IMAP folder: where it is and who logs in. The password is never part of it."""

    scheme: Literal["imaps", "imap"]  # imap: plain connection upgraded with STARTTLS, required
    host: str
    port: int
    user: str
    folder: str = DEFAULT_FOLDER

    @property
    def display(self) -> str:
        """Return the mailbox as a URL, the form every message shows."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = quote(self.user, safe="")
        return f"{self.scheme}://{user}@{host}:{self.port}/{quote(self.folder, safe='/')}"


def parse_mailbox(url: str) -> MailboxTarget:
    """Return the mailbox an ``imaps://USER@HOST[:PORT]/FOLDER`` or ``imap://…`` URL names.

    The folder defaults to INBOX; an ``@`` in the user name may be written as is or as ``%40``.

    Raises:
        ValueError: another scheme, no user or host, a bad port, a query or fragment, a folder
            that is not printable ASCII, or a password in the URL (never shown in the message).
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS:
        raise ValueError(
            f"not a mailbox URL: expected imaps://USER@HOST[:PORT]/FOLDER, got {url!r}"
        )
    authority = rest.partition("/")[0]
    userinfo, at, _ = authority.rpartition("@")
    if ":" in userinfo:
        # Say so without echoing the URL: the text after the colon is the password.
        raise ValueError(
            "a mailbox URL must not carry a password: remove it from the URL and put it in "
            "the environment variable instead"
        )
    parts = urlsplit(url)
    shown = url
    if parts.query or parts.fragment:
        raise ValueError(f"{shown}: a mailbox URL takes no query or fragment")
    if not at or not userinfo:
        raise ValueError(f"{shown}: no user name: expected {scheme}://USER@HOST[:PORT]/FOLDER")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise ValueError(f"{shown}: {exc}") from None
    if not host:
        raise ValueError(f"{shown}: no host")
    folder = unquote(parts.path[1:]) or DEFAULT_FOLDER
    if not _FOLDER.fullmatch(folder):
        raise ValueError(f"{shown}: the folder must be printable ASCII")
    return MailboxTarget(
        scheme="imaps" if scheme == "imaps" else "imap",
        host=host,
        port=port if port is not None else _DEFAULT_PORTS[scheme],
        user=unquote(userinfo),
        folder=folder,
    )


def read_password(variable: str, env: Mapping[str, str] = os.environ) -> str:
    """Return the mailbox password from the environment variable ``variable``.

    Raises:
        ValueError: the variable is unset or empty.
    """
    password = env.get(variable)
    if not password:
        raise ValueError(f"the mailbox password is read from ${variable}, which is not set")
    return password


async def find(
    target: MailboxTarget,
    token: str,
    *,
    password: str,
    ssl_context: ssl.SSLContext,
    timeout: float,  # noqa: ASYNC109  # the worker thread needs the deadline: it cannot be cancelled
) -> FoundMessage | None:
    """Return the message in the folder that carries ``token``, or None; it stays unread.

    Raises:
        MailboxError: the mailbox could not be searched; the message says what to fix.
    """
    valid_token(token)
    call = _Call(target, password, ssl_context, timeout)
    return await call.run(lambda session: session.find(token), readonly=True)


async def delete(
    target: MailboxTarget,
    token: str,
    *,
    password: str,
    ssl_context: ssl.SSLContext,
    timeout: float,  # noqa: ASYNC109  # as for find
) -> int:
    r"""Remove every message in the folder that carries ``token``; return how many.

    Only those messages: UID EXPUNGE where the server offers UIDPLUS. Without it a plain
    EXPUNGE also removes whatever else in the folder was already marked \Deleted.

    Raises:
        MailboxError: as for `find`.
    """
    valid_token(token)
    call = _Call(target, password, ssl_context, timeout)
    return await call.run(lambda session: session.delete(token), readonly=False)


@dataclass(frozen=True, slots=True)
class _Call:
    """One find or delete: a connection of its own, in a worker thread, within ``timeout``."""

    target: MailboxTarget
    password: str = field(repr=False)
    context: ssl.SSLContext
    timeout: float

    async def run(self, job: Callable[[_Session], _T], *, readonly: bool) -> _T:
        deadline = time.monotonic() + self.timeout
        try:
            async with asyncio.timeout(self.timeout + _SLACK):
                return await asyncio.to_thread(self._run, job, readonly, deadline)
        except TimeoutError:
            raise self.error(
                MailboxProblem.TIMEOUT, f"no answer within {self.timeout:g} s"
            ) from None

    def _run(self, job: Callable[[_Session], _T], readonly: bool, deadline: float) -> _T:
        with self._translated():
            session = _Session(self, self._connect(deadline), deadline)
            try:
                session.open(readonly=readonly)
                return job(session)
            finally:
                session.logout()

    def _connect(self, deadline: float) -> imaplib.IMAP4:
        target, remaining = self.target, max(deadline - time.monotonic(), 0.001)
        if target.scheme == "imaps":
            return imaplib.IMAP4_SSL(
                target.host, target.port, ssl_context=self.context, timeout=remaining
            )
        conn = imaplib.IMAP4(target.host, target.port, timeout=remaining)
        if "STARTTLS" not in conn.capabilities:
            _logout(conn)
            # Checked before anything else is sent: a password never crosses a plain connection.
            raise self.error(
                MailboxProblem.PLAINTEXT,
                "the server offers no STARTTLS, so smtpcheck did not log in (it never sends a "
                "password unencrypted): use imaps:// (port 993) or enable STARTTLS on the server",
            )
        try:
            conn.starttls(ssl_context=self.context)
        except BaseException:
            _logout(conn)
            raise
        return conn

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn what imaplib, ssl and socket raise into one MailboxError, saying the fix."""
        try:
            yield
        except MailboxError:
            raise
        except ssl.SSLCertVerificationError as exc:
            detail = f"the certificate is not trusted ({exc.verify_message}): give the CA that"
            raise self.error(MailboxProblem.TLS, detail + " issued it, or fix it") from None
        except ssl.SSLError as exc:
            hint = "is this an imaps port? for a STARTTLS port use imap://"
            if self.target.scheme == "imap":
                hint = "check the server's TLS setup"
            detail = f"TLS failed ({exc.reason or exc}): {hint}"
            raise self.error(MailboxProblem.TLS, detail) from None
        except TimeoutError:
            detail = "no answer in time: check the host and port, and that the server is up"
            raise self.error(MailboxProblem.TIMEOUT, detail) from None
        except (OSError, imaplib.IMAP4.abort) as exc:
            detail = f"cannot talk to {self.target.host}:{self.target.port} ({exc}): check the"
            detail += " host and port in the URL and that the IMAP server is running"
            raise self.error(MailboxProblem.UNREACHABLE, detail) from None
        except imaplib.IMAP4.error as exc:
            raise self.error(MailboxProblem.SERVER, f"the server refused: {exc}") from None

    def error(self, problem: MailboxProblem, detail: str) -> MailboxError:
        text = f"mailbox {self.target.display}: {detail}"
        # Server text is echoed in these messages: it never holds the password, but make sure.
        return MailboxError(scrub(text, [self.password]), problem=problem, url=self.target.display)


class _Session:
    """A logged-in connection: each command bounded by the deadline, refused unless OK."""

    def __init__(self, call: _Call, conn: imaplib.IMAP4, deadline: float) -> None:
        self._call, self._conn, self._deadline = call, conn, deadline

    def open(self, *, readonly: bool) -> None:
        """Log in and open the folder: EXAMINE when ``readonly``, so nothing in it changes."""
        target, conn = self._call.target, self._conn
        self._arm()
        try:
            if "AUTH=PLAIN" in conn.capabilities:
                # SASL PLAIN carries any UTF-8 password; imaplib's LOGIN only ASCII.
                payload = f"\0{target.user}\0{self._call.password}".encode()
                conn.authenticate("PLAIN", lambda _challenge: payload)
            else:
                conn.login(target.user, self._call.password)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            raise self._call.error(
                MailboxProblem.CREDENTIALS,
                f"login refused for user {target.user!r} ({_said(exc.args)}): check the user"
                " name in the URL and the password in its environment variable",
            ) from None
        self._arm()
        status, data = conn.select(_quoted(target.folder), readonly=readonly)
        if status != "OK":
            raise self._call.error(
                MailboxProblem.FOLDER,
                f"folder {target.folder!r} cannot be opened ({_said(data)}): "
                f"fix the folder in the URL (default {DEFAULT_FOLDER})",
            )
        _log.debug("logged in to %s", target.display)

    def find(self, token: str) -> FoundMessage | None:
        return next(self._matches(token), None)

    def delete(self, token: str) -> int:
        matched = [found.id for found in self._matches(token)]
        if not matched:
            return 0
        uids = ",".join(matched)
        self._command("STORE", "uid", "STORE", uids, "+FLAGS.SILENT", r"(\Deleted)")
        capabilities = b" ".join(self._command("CAPABILITY", "capability")).upper().split()
        if b"UIDPLUS" in capabilities:
            self._command("EXPUNGE", "uid", "EXPUNGE", uids)
        else:
            self._command("EXPUNGE", "expunge")
        _log.debug("deleted UIDs %s from %s", uids, self._call.target.display)
        return len(matched)

    def logout(self) -> None:
        _logout(self._conn)

    def _matches(self, token: str) -> Iterator[FoundMessage]:
        """Yield the messages whose token is ``token`` exactly: SEARCH matches substrings."""
        found = self._command("SEARCH", "uid", "SEARCH", None, "HEADER", TOKEN_HEADER, f'"{token}"')
        for uid in b" ".join(found).decode().split()[:_MAX_CANDIDATES]:
            # PEEK: the message stays unread. The partial range caps what one answer may cost.
            answer = self._command("FETCH", "uid", "FETCH", uid, f"(BODY.PEEK[]<0.{_RAW_LIMIT}>)")
            raw = next((bytes(i[1]) for i in answer if isinstance(i, tuple)), None)
            match = None if raw is None else found_in("imap", uid, raw, token)
            if match is not None:
                yield match

    def _command(self, what: str, method: str, *args: str | None) -> list[Any]:
        """Run one imaplib method within the deadline; return its data, raise unless OK."""
        self._arm()
        status, data = getattr(self._conn, method)(*args)
        if status != "OK":
            raise self._call.error(MailboxProblem.SERVER, f"{what} failed: {_said(data)}")
        return [item for item in data if item is not None]

    def _arm(self) -> None:
        """Bound the next socket operation by what is left of the deadline."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._call.error(MailboxProblem.TIMEOUT, "the time given ran out")
        self._conn.sock.settimeout(remaining)


def _logout(conn: imaplib.IMAP4) -> None:
    try:
        conn.sock.settimeout(2)
        conn.logout()
    except (OSError, imaplib.IMAP4.error):
        pass  # LOGOUT is a courtesy: imaplib closes the connection whatever it answers


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _said(data: Iterable[object]) -> str:
    texts = [i.decode(errors="replace") if isinstance(i, bytes) else str(i) for i in data if i]
    return " ".join(texts) or "no reason given"
