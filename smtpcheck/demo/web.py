"""The demo catcher's web API: the subset of Mailpit's API v1 that `--expect-delivery` uses.

Plain asyncio streams, one request per connection (``Connection: close``): the demo runs after
a bare ``pip install .``, without the ``serve`` extra's aiohttp. Every request is bounded in
size and time, and what it cannot parse gets a 4xx, never a dropped server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from email.utils import getaddresses
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from smtpcheck.demo.inbox import Inbox, Stored

__all__ = ["start_web"]

HOST = "127.0.0.1"
_HEAD_LIMIT = 16 * 1024  # request line and headers
_BODY_LIMIT = 64 * 1024  # a DELETE's list of ids
_READ_TIMEOUT = 5.0

_Answer = tuple[int, str, bytes]


class _Refused(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


async def start_web(inbox: Inbox, *, read_timeout: float = _READ_TIMEOUT) -> asyncio.Server:
    """Serve the API on a free loopback port; the caller closes the server."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(read_timeout):
                method, target, body = await _request(reader)
            answer = _route(inbox, method, target, body)
        except _Refused as refused:
            answer = _text(refused.status, str(refused))
        except TimeoutError:
            answer = _text(HTTPStatus.REQUEST_TIMEOUT, "request not read in time")
        with contextlib.suppress(OSError, TimeoutError):
            writer.write(_encode(answer))
            async with asyncio.timeout(read_timeout):  # a client that never reads is let go
                await writer.drain()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    return await asyncio.start_server(serve, HOST, 0, limit=_HEAD_LIMIT)


async def _request(reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise _Refused(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers too large") from None
    except asyncio.IncompleteReadError:
        raise _Refused(HTTPStatus.BAD_REQUEST, "incomplete request") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _Refused(HTTPStatus.BAD_REQUEST, "not an HTTP/1.x request line")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            if not _decimal(value.strip()):
                raise _Refused(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            length = int(value)
    if length > _BODY_LIMIT:
        raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise _Refused(HTTPStatus.BAD_REQUEST, "incomplete body") from None
    return parts[0], parts[1], body


def _route(inbox: Inbox, method: str, target: str, body: bytes) -> _Answer:
    url = urlsplit(target)
    path = unquote(url.path)
    if path in ("/livez", "/readyz"):
        return _only(method, "GET") or _text(HTTPStatus.OK, "ok")
    if path == "/api/v1/messages":
        if method == "DELETE":
            return _delete(inbox, body)
        return _only(method, "GET") or _json(_page(inbox.all()))
    if path == "/api/v1/search":
        return _only(method, "GET") or _search(inbox, parse_qs(url.query))
    prefix, _, rest = path.partition("/api/v1/message/")
    id_, _, part = rest.partition("/")
    if prefix or not id_ or part not in ("raw", "headers"):
        return _text(HTTPStatus.NOT_FOUND, "not found")
    if (refused := _only(method, "GET")) is not None:
        return refused
    stored = inbox.get(id_)
    if stored is None:
        return _text(HTTPStatus.NOT_FOUND, "message not found")
    if part == "raw":
        return HTTPStatus.OK, "text/plain; charset=utf-8", stored.raw
    return _json(stored.headers())


def _search(inbox: Inbox, query: dict[str, list[str]]) -> _Answer:
    words = " ".join(query.get("query", [])).split()
    if len(words) != 1 or not words[0].lower().startswith("message-id:"):
        # Mailpit's search language is much larger; the demo answers the one form it uses.
        return _text(HTTPStatus.BAD_REQUEST, "the demo catcher searches only message-id:TEXT")
    found = inbox.search_message_id(words[0].partition(":")[2].strip('"'))
    limit = query.get("limit", ["50"])[0]
    return _json(_page(found[: int(limit)] if _decimal(limit) else found))


def _delete(inbox: Inbox, body: bytes) -> _Answer:
    try:
        ids = json.loads(body).get("IDs") if body else None
    except (ValueError, AttributeError, RecursionError):  # deep nesting exhausts json's stack
        return _text(HTTPStatus.BAD_REQUEST, 'expected {"IDs": [...]}')
    # Mailpit deletes every message for a body without IDs; the demo refuses instead, so a
    # client that forgets the ids learns it here and not on a shared Mailpit.
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        return _text(HTTPStatus.BAD_REQUEST, 'expected {"IDs": [...]} with at least one id')
    inbox.delete(ids)
    return _text(HTTPStatus.OK, "ok")


def _page(messages: list[Stored]) -> dict[str, Any]:
    return {
        "total": len(messages),
        "unread": 0,
        "count": len(messages),
        "messages_count": len(messages),
        "start": 0,
        "messages": [_summary(m) for m in messages],
    }


def _summary(stored: Stored) -> dict[str, Any]:
    def people(header: str) -> list[dict[str, str]]:
        return [{"Name": n, "Address": a} for n, a in getaddresses([stored.header(header)]) if a]

    sender = people("From")
    return {
        "ID": stored.id,
        "MessageID": stored.header("Message-ID").strip("<>"),
        "From": sender[0] if sender else {"Name": "", "Address": ""},
        "To": people("To"),
        "Subject": stored.header("Subject"),
        "Created": stored.created.isoformat().replace("+00:00", "Z"),
        "Size": len(stored.raw),
    }


def _decimal(text: str) -> bool:
    # str.isdigit also takes "²" and other digits int() refuses: ASCII digits only.
    return text.isascii() and text.isdigit()


def _only(method: str, allowed: str) -> _Answer | None:
    return None if method == allowed else _text(HTTPStatus.METHOD_NOT_ALLOWED, "not allowed")


def _text(status: int, text: str) -> _Answer:
    return status, "text/plain; charset=utf-8", text.encode()


def _json(value: object) -> _Answer:
    return HTTPStatus.OK, "application/json", json.dumps(value).encode()


def _encode(answer: _Answer) -> bytes:
    status, kind, body = answer
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {kind}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body
