"""Local stand-ins of the Mailpit, MailHog and smtp4dev APIs, and a real maildev to run.

Each stand-in is an aiosmtpd server that stores what it accepts plus an aiohttp app on
127.0.0.1 port 0 that answers the catcher's documented API as docs/catchers.md lists it (routes,
JSON field names, search semantics, delete, auth, errors, pitfalls). ``requests`` records every
request with the size of its answer, so a test can show what a client cost. `running_maildev`
starts the npm maildev installed by .ci/run (or named by ``SMTPCHECK_MAILDEV``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
import re
import secrets
import shutil
import socket
import string
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.gate import refuse
from tests.support.servers import HOST, Smtpd

__all__ = ["MAILDEV", "Maildev", "Mailhog", "Mailpit", "Smtp4dev", "Stored", "running_maildev"]

#: Where .ci/run installs maildev: `npm install --prefix .venv/maildev maildev@2.2.1`.
MAILDEV = Path(__file__).resolve().parents[2] / ".venv/maildev/node_modules/.bin/maildev"

Handler = Callable[[web.Request, re.Match[str]], Awaitable[web.StreamResponse]]


@dataclass
class Stored:
    """One message as a catcher keeps it: its id, the envelope and the DATA bytes."""

    id: str
    sender: str
    recipients: list[str]
    data: bytes
    received: datetime = field(default_factory=lambda: datetime.now(UTC))
    read: bool = False

    @functools.cached_property
    def parsed(self) -> Message:
        # compat32: ten times faster than policy.default, which matters for 10 000 messages.
        return message_from_bytes(self.data, policy=policy.compat32)

    @functools.cached_property
    def body_text(self) -> str:
        for part in self.parsed.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload.decode(part.get_content_charset() or "utf-8", "replace")
        return ""

    def text(self) -> str:
        return self.body_text


@dataclass
class _StandIn:
    """What the three stand-ins share: the SMTP front, the app, auth and the request log."""

    auth: tuple[str, str] | None = None
    messages: list[Stored] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # method, path?query, size
    smtp: Smtpd | None = None
    port: int = 0
    _runner: web.AppRunner | None = None
    _routes: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self) -> Any:
        self.smtp = await Smtpd(handler=self).start()
        app = web.Application(middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self.smtp is not None:
            await self.smtp.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern), handler))

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        stored = Stored(
            self.new_id(),
            envelope.mail_from or "",
            list(envelope.rcpt_tos),
            bytes(envelope.original_content or b""),
        )
        self.keep(stored)
        return self.queued(stored.id)

    def keep(self, stored: Stored) -> None:
        self.messages.append(stored)

    def new_id(self) -> str:
        raise NotImplementedError

    def queued(self, id_: str) -> str:
        return f"250 Ok: queued as {id_}"

    def open_path(self, path: str) -> bool:
        return False

    def unauthorized(self) -> web.Response:
        return web.Response(status=401, headers={"WWW-Authenticate": "Basic"})

    def credentials_match(self, user: str, password: str) -> bool:
        return self.auth is not None and (user, password) == self.auth

    def newest(self) -> list[Stored]:
        return sorted(self.messages, key=lambda m: m.received, reverse=True)

    def by_id(self, id_: str) -> Stored | None:
        return next((m for m in self.messages if m.id == id_), None)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        answer: web.StreamResponse = await self._guarded(request, handler)
        body = answer.body if isinstance(answer, web.Response) else None
        size = len(body) if isinstance(body, bytes | bytearray) else 0
        self.requests.append((request.method, request.path_qs, size))
        return answer

    async def _guarded(self, request: web.Request, handler: Any) -> web.StreamResponse:
        guarded = self.auth is not None and not self.open_path(request.path)
        if guarded and not self._authorized(request.headers.get("Authorization", "")):
            return self.unauthorized()
        answer: web.StreamResponse = await handler(request)
        return answer

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        return self.credentials_match(user, password)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                return await handler(request, match)
        return web.Response(status=404, text="404 page not found")


def _json(value: Any, content_type: str = "application/json", status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(value).encode(), content_type=content_type)


# --- Mailpit (API v1, v1.30.5) ------------------------------------------------------------------


def _go_json(value: Any) -> web.Response:
    # Go's encoding/json escapes <, > and & in every answer.
    text = json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return web.Response(body=text.encode(), content_type="application/json")


def _mailpit_address(name: str, address: str) -> dict[str, str]:
    return {"Name": name, "Address": address}


@dataclass
class Mailpit(_StandIn):
    """Mailpit v1.30.5: PascalCase JSON, ``message-id:`` search, the delete-all hazard."""

    ready: bool = True

    def __post_init__(self) -> None:
        self.route("GET", r"/livez", self._livez)
        self.route("GET", r"/readyz", self._readyz)
        self.route("GET", r"/api/v1/messages", self._list)
        self.route("GET", r"/api/v1/search", self._search)
        self.route("GET", r"/api/v1/message/([^/]+)/raw", self._raw)
        self.route("GET", r"/api/v1/message/([^/]+)/headers", self._headers)
        self.route("DELETE", r"/api/v1/messages", self._delete)

    def new_id(self) -> str:
        return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))

    def queued(self, id_: str) -> str:
        return f"250 2.0.0 Ok: queued as {id_}"

    def keep(self, stored: Stored) -> None:
        if "Message-ID" not in stored.parsed:  # Mailpit adds one before storing
            stored.data = f"Message-ID: <{self.new_id()}@mailpit>\r\n".encode() + stored.data
            del stored.parsed
        super().keep(stored)

    def open_path(self, path: str) -> bool:
        return path in ("/livez", "/readyz")

    def unauthorized(self) -> web.Response:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="Login"'})

    def _summary(self, m: Stored) -> dict[str, Any]:
        p = m.parsed

        def addresses(name: str) -> list[dict[str, str]] | None:
            found = getaddresses([str(v) for v in p.get_all(name, [])])
            return [_mailpit_address(n, a) for n, a in found] or None  # Go's nil slice

        sender = addresses("From")
        return {
            "ID": m.id,
            "MessageID": str(p.get("Message-ID", "")).strip().strip("<>"),
            "Read": m.read,
            "From": sender[0] if sender else None,
            "To": addresses("To"),
            "Cc": addresses("Cc"),
            "Bcc": None,
            "ReplyTo": addresses("Reply-To"),
            "Subject": str(p.get("Subject", "")),
            "Created": m.received.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "Username": "",
            "Tags": [],
            "Size": len(m.data),
            "Attachments": 0,
            "Snippet": m.text()[:250],
        }

    def _page(self, matches: list[Stored], start: int, limit: int | None) -> web.Response:
        chosen = matches[start:] if limit is None else matches[start : start + limit]
        return _go_json(
            {
                "total": len(self.messages),
                "unread": sum(not m.read for m in self.messages),
                "count": len(chosen),
                "messages_count": len(matches),
                "messages_unread": sum(not m.read for m in matches),
                "start": start,
                "tags": [],
                "messages": [self._summary(m) for m in chosen],
            }
        )

    async def _livez(self, request: web.Request, match: re.Match[str]) -> web.Response:
        return web.Response()

    async def _readyz(self, request: web.Request, match: re.Match[str]) -> web.Response:
        return web.Response(status=200 if self.ready else 503)

    async def _list(self, request: web.Request, match: re.Match[str]) -> web.Response:
        start, limit = int(request.query.get("start", 0)), int(request.query.get("limit", 50))
        return self._page(self.newest(), start, None if limit == 0 else limit)  # 0 = all

    async def _search(self, request: web.Request, match: re.Match[str]) -> web.Response:
        query = request.query.get("query", "").strip()
        if not query:
            return web.Response(status=400, text="Error: no search query")
        start, limit = int(request.query.get("start", 0)), int(request.query.get("limit", 50))
        matches = [m for m in self.newest() if all(_mailpit_term(m, t) for t in query.split())]
        return self._page(matches, start, limit)  # limit=0 is an empty page here

    async def _raw(self, request: web.Request, match: re.Match[str]) -> web.Response:
        m = self._pick(match[1])
        if m is None:
            return web.Response(status=404, text="404 page not found")
        return web.Response(body=m.data, content_type="text/plain", charset="utf-8")

    async def _headers(self, request: web.Request, match: re.Match[str]) -> web.Response:
        m = self._pick(match[1])
        if m is None:
            return web.Response(status=404, text="404 page not found")
        headers: dict[str, list[str]] = {}
        for name, value in m.parsed.items():
            headers.setdefault(_go_canonical(name), []).append(str(value))
        return _go_json(dict(sorted(headers.items())))

    async def _delete(self, request: web.Request, match: re.Match[str]) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        # Go's encoding/json matches the key without regard to case.
        fields = body.items() if isinstance(body, dict) else []
        ids = next((v for k, v in fields if k.lower() == "ids"), None)
        if not isinstance(ids, list) or not ids:  # the hazard: no IDs means every message
            self.messages.clear()
        else:
            self.messages = [m for m in self.messages if m.id not in ids]
        return web.Response(text="ok")

    def _pick(self, id_: str) -> Stored | None:
        if id_ == "latest":
            return next(iter(self.newest()), None)
        return self.by_id(id_)


def _go_canonical(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _mailpit_term(m: Stored, term: str) -> bool:
    prefix, colon, value = term.partition(":")
    p = m.parsed
    if colon and prefix.lower() == "message-id":
        cleaned = re.sub(r'[<>",;()\t\n]', " ", value).strip().lower()
        return cleaned in str(p.get("Message-ID", "")).strip("<> ").lower()
    if colon and prefix.lower() == "subject":
        return value.lower() in str(p.get("Subject", "")).lower()
    names = ("From", "Subject", "To", "Cc", "Bcc", "Reply-To", "Return-Path")
    text = " ".join(str(v) for n in names for v in p.get_all(n, [])) + " " + m.text()
    return term.lower() in text.lower()  # custom headers are not in the search text


# --- MailHog (v1.0.1) ---------------------------------------------------------------------------


def _mailhog_path(address: str) -> dict[str, Any]:
    mailbox, _, domain = address.partition("@")
    return {"Relays": None, "Mailbox": mailbox, "Domain": domain, "Params": ""}


def _mailhog_content(data: bytes) -> tuple[dict[str, list[str]], str]:
    # Split at the first CRLF CRLF; a header line needs ": ", and a repeat keeps the last value.
    text = data.decode("utf-8", "replace")
    head, sep, body = text.partition("\r\n\r\n")
    if not sep:
        return {}, text
    headers: dict[str, list[str]] = {}
    last = None
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and last is not None:
            headers[last][-1] += " " + line.strip()
        elif ": " in line:
            last, _, value = line.partition(": ")
            headers[last] = [value]
    return headers, body


@dataclass
class Mailhog(_StandIn):
    """MailHog v1.0.1: APIv2 search and listing, APIv1 get and delete, ``Raw.Data``."""

    def __post_init__(self) -> None:
        self.route("GET", r"/api/v2/messages", self._list)
        self.route("GET", r"/api/v2/search", self._search)
        self.route("GET", r"/api/v1/messages/([^/]+)", self._get)
        self.route("DELETE", r"/api/v1/messages/([^/]+)", self._delete)

    def new_id(self) -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "@mailhog.example"

    def _message(self, m: Stored) -> dict[str, Any]:
        headers, body = _mailhog_content(m.data)
        headers["Received"] = [f"from smtpcheck.test by mailhog.example (MailHog)\r\n id {m.id}"]
        headers["Return-Path"] = [f"<{m.sender}>"]
        headers.setdefault("Message-ID", [m.id])
        return {
            "ID": m.id,
            "From": _mailhog_path(m.sender),
            "To": [_mailhog_path(r) for r in m.recipients],
            "Content": {"Headers": headers, "Body": body, "Size": len(m.data), "MIME": None},
            "Created": m.received.isoformat().replace("+00:00", "Z"),
            "MIME": None,
            "Raw": {
                "From": m.sender,
                "To": m.recipients,
                "Data": m.data.decode("utf-8", "replace"),
                "Helo": "smtpcheck.test",
            },
        }

    def _window(self, request: web.Request) -> tuple[int, int]:
        start, limit = int(request.query.get("start", 0)), int(request.query.get("limit", 50))
        return max(start, 0), 50 if limit <= 0 else min(limit, 250)

    def _wrapped(self, found: list[Stored], start: int, limit: int, kind: str) -> web.Response:
        items = [self._message(m) for m in found[start : start + limit]]
        page = {"total": len(found), "count": len(items), "start": start, "items": items}
        return _json(page, kind)

    async def _list(self, request: web.Request, match: re.Match[str]) -> web.Response:
        start, limit = self._window(request)
        return self._wrapped(self.newest(), start, limit, "text/json")

    async def _search(self, request: web.Request, match: re.Match[str]) -> web.Response:
        kind, query = request.query.get("kind", ""), request.query.get("query", "").lower()
        if kind not in ("from", "to", "containing") or not query:
            return web.Response(status=400)
        start, limit = self._window(request)
        found = [m for m in self.newest() if self._matches(m, kind, query)]
        return self._wrapped(found, start, limit, "application/json")

    def _matches(self, m: Stored, kind: str, query: str) -> bool:
        headers, body = _mailhog_content(m.data)
        if kind == "containing":
            values = [v for vs in headers.values() for v in vs]
            return any(query in v.lower() for v in [body, *values])
        addresses = m.recipients if kind == "to" else [m.sender]
        return any(query in a.lower() for a in [*addresses, *headers.get(kind.title(), [])])

    async def _get(self, request: web.Request, match: re.Match[str]) -> web.Response:
        m = self.by_id(match[1])
        return _json(None if m is None else self._message(m), "text/json")

    async def _delete(self, request: web.Request, match: re.Match[str]) -> web.Response:
        m = self.by_id(match[1])
        if m is None:
            return web.Response(status=500)
        self.messages.remove(m)
        return web.Response(content_type="text/json")


# --- smtp4dev (3.15.0) --------------------------------------------------------------------------


@dataclass
class Smtp4dev(_StandIn):
    """smtp4dev 3.15.0: ``api/Messages`` paged, stored ``delay`` s after the 250 reply."""

    delay: float = 0.3
    search_body: bool = True  # from 3.10.0 on; before, searchTerms saw subject, from and to only

    def __post_init__(self) -> None:
        self.route("GET", r"/api/messages", self._list)
        self.route("GET", r"/api/messages/([0-9a-f-]{36})", self._get)
        self.route("GET", r"/api/messages/([0-9a-f-]{36})/download", self._download)
        self.route("DELETE", r"/api/messages/([0-9a-f-]{36})", self._delete)
        self.route("GET", r"/api/version", self._version)

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        # ASP.NET Core matches routes without regard to case.
        self._routes.append((method, re.compile(pattern, re.IGNORECASE), handler))

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def queued(self, id_: str) -> str:
        return "250 Mail accepted"

    def keep(self, stored: Stored) -> None:
        # A background queue stores the message after the reply: the first poll can miss it.
        asyncio.get_running_loop().call_later(self.delay, self.messages.append, stored)

    def unauthorized(self) -> web.Response:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="smtp4dev"'})

    def credentials_match(self, user: str, password: str) -> bool:
        return self.auth is not None and (user.lower(), password) == (
            self.auth[0].lower(),
            self.auth[1],
        )

    def _summary(self, m: Stored) -> dict[str, Any]:
        p = m.parsed
        return {
            "id": m.id,
            "from": str(p.get("From", "")),
            "to": [a for _, a in getaddresses([str(v) for v in p.get_all("To", [])])],
            "deliveredTo": ", ".join(m.recipients),
            "receivedDate": m.received.isoformat(),
            "subject": str(p.get("Subject", "")),
            "attachmentCount": 0,
            "isUnread": not m.read,
            "isRelayed": False,
            "hasWarnings": b"\r\n" not in m.data,
        }

    def _searched(self, m: Stored, terms: str) -> bool:
        p = m.parsed
        fields = [str(p.get("Subject", "")), str(p.get("From", "")), str(p.get("To", ""))]
        if self.search_body:
            fields.append(m.text())
        return any(terms in f.lower() for f in fields)

    async def _list(self, request: web.Request, match: re.Match[str]) -> web.Response:
        terms = request.query.get("searchTerms", "").lower()
        page = int(request.query.get("page", 1))
        size = int(request.query.get("pageSize", 5))  # no maximum
        found = [m for m in self.newest() if not terms or self._searched(m, terms)]
        chosen = found[(page - 1) * size : page * size]
        return _json(
            {
                "currentPage": page,
                "pageCount": -(-len(found) // size) if size else 0,
                "pageSize": size,
                "rowCount": len(found),
                "firstRowOnPage": (page - 1) * size + 1,
                "lastRowOnPage": (page - 1) * size + len(chosen),
                "results": [self._summary(m) for m in chosen],
            }
        )

    def _missing(self, id_: str) -> web.Response:
        return web.Response(status=404, text=f"Message with id {id_} was not found.")

    async def _get(self, request: web.Request, match: re.Match[str]) -> web.Response:
        m = self.by_id(match[1])
        if m is None:
            return self._missing(match[1])
        full = self._summary(m) | {
            "cc": [],
            "bcc": [],
            "deliveredTo": m.recipients,
            "secureConnection": False,
            "parts": [],
            "headers": [{"name": n, "value": str(v)} for n, v in m.parsed.items()],
            "mimeParseError": None,
            "relayError": None,
            "warnings": [],
        }
        return _json(full)

    async def _download(self, request: web.Request, match: re.Match[str]) -> web.Response:
        m = self.by_id(match[1])
        if m is None:
            return self._missing(match[1])
        return web.Response(body=m.data, content_type="message/rfc822")

    async def _delete(self, request: web.Request, match: re.Match[str]) -> web.Response:
        self.messages = [m for m in self.messages if m.id != match[1]]
        return web.Response()  # an unknown id is a no-op that answers 200

    async def _version(self, request: web.Request, match: re.Match[str]) -> web.Response:
        return _json({"version": "3.15.0", "infoVersion": "3.15.0+91996a4b"})


# --- a real maildev ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Maildev:
    """A running maildev: its SMTP port and its web URL (no credentials in it)."""

    smtp_port: int
    url: str
    version: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _maildev_binary() -> Path:
    binary = Path(os.environ.get("SMTPCHECK_MAILDEV", MAILDEV))
    if shutil.which("node") is None:
        refuse("node is not installed: .ci/run installs nodejs and npm")
    if not binary.exists():
        refuse(f"maildev is not installed at {binary}: .ci/run installs it with npm")
    return binary


@contextlib.asynccontextmanager
async def running_maildev(
    directory: Path, *, user: str | None = None, password: str | None = None
) -> AsyncIterator[Maildev]:
    """Start maildev on 127.0.0.1 (free SMTP and web ports), wait for health, stop it after."""
    binary = _maildev_binary()
    smtp, web_port = _free_port(), _free_port()
    args = ["-s", str(smtp), "-w", str(web_port), "--ip", HOST, "--web-ip", HOST]
    args += ["--mail-directory", str(directory)]
    if user is not None and password is not None:
        args += ["--web-user", user, "--web-pass", password]
    log = (directory.parent / f"maildev-{web_port}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        str(binary), *args, stdout=log, stderr=asyncio.subprocess.STDOUT
    )
    try:
        url = f"http://{HOST}:{web_port}"
        version = await _wait_healthy(url, process)
        yield Maildev(smtp, url, version)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def _wait_healthy(url: str, process: asyncio.subprocess.Process) -> str:
    async with httpx.AsyncClient(timeout=2, trust_env=False) as http:
        for _ in range(150):
            if process.returncode is not None:
                raise RuntimeError(f"maildev exited with {process.returncode}")
            for health, config in (("/api/healthz", "/api/config"), ("/healthz", "/config")):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(url + health)).status_code == 200:
                        answer = await http.get(url + config)
                        return str(answer.json().get("version", "?")) if answer.is_success else "?"
            await asyncio.sleep(0.1)
    raise RuntimeError(f"maildev at {url} did not become healthy within 15 s")
