"""The demo catcher's Mailpit-compatible API, read by smtpcheck's Mailpit client and raw HTTP."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest
from aiosmtpd.smtp import SMTP

from smtpcheck.delivery import TOKEN_HEADER, message_id_for, open_catcher, parse_target
from smtpcheck.demo.inbox import Inbox, StoringHandler
from smtpcheck.demo.web import start_web


@pytest.fixture
async def demo_catcher() -> AsyncIterator[tuple[Inbox, int, int]]:
    inbox = Inbox(limit=3)
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(
        lambda: SMTP(StoringHandler(inbox), hostname="mx.test"), "127.0.0.1", 0
    )
    web = await start_web(inbox, read_timeout=0.5)
    yield inbox, smtp.sockets[0].getsockname()[1], web.sockets[0].getsockname()[1]
    for server in (smtp, web):
        server.close()
        await server.wait_closed()


async def _send(port: int, token: str) -> None:
    message = EmailMessage()
    message["From"], message["To"] = "a@client.test", "b@client.test"
    message["Subject"] = f"hello {token}"
    message["Message-ID"] = message_id_for(token, "client.test")
    message[TOKEN_HEADER] = token
    message.set_content("line one\n.leading dot\n")
    await aiosmtplib.send(
        message, hostname="127.0.0.1", port=port, local_hostname="client.test", timeout=5
    )


async def test_demo_web_is_found_read_and_emptied_by_the_mailpit_client(demo_catcher):
    inbox, smtp_port, web_port = demo_catcher
    token, other = secrets.token_hex(16), secrets.token_hex(16)
    await _send(smtp_port, other)
    await _send(smtp_port, token)
    async with open_catcher(parse_target(f"mailpit+http://127.0.0.1:{web_port}")) as catcher:
        await catcher.reachable()
        found = await catcher.find(token)
        assert found is not None and found.token == token
        assert found.sender == "a@client.test" and found.recipients == ("b@client.test",)
        assert found.subject == f"hello {token}" and found.text == "line one\n.leading dot\n"
        await catcher.delete(found)
        assert await catcher.find(token) is None
        assert await catcher.find(other) is not None  # only the one asked for went
    assert len(inbox.all()) == 1


async def test_demo_inbox_keeps_only_the_newest(demo_catcher):
    inbox, smtp_port, _ = demo_catcher
    tokens = [secrets.token_hex(8) for _ in range(4)]
    for token in tokens:
        await _send(smtp_port, token)
    kept = [m.header(TOKEN_HEADER) for m in inbox.all()]
    assert kept == tokens[:0:-1]  # newest first, the first one dropped


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("POST", "/readyz", 405),
        ("GET", "/api/v1/message/unknown/raw", 404),
        ("GET", "/api/v1/search?query=subject:x", 400),
        ("DELETE", "/api/v1/messages", 400),  # no ids: refused, never "delete everything"
    ],
)
async def test_demo_web_refuses_what_it_does_not_serve(demo_catcher, method, path, status):
    _, _, web_port = demo_catcher
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.request(method, f"http://127.0.0.1:{web_port}{path}")
    assert answer.status_code == status


async def _raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


async def test_demo_web_survives_garbage_huge_headers_and_silence(demo_catcher):
    _, _, port = demo_catcher
    assert (await _raw(port, b"garbage\r\n\r\n")).startswith(b"HTTP/1.1 400")
    huge = b"GET /readyz HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n"
    assert (await _raw(port, huge)).startswith(b"HTTP/1.1 431")
    body = b"DELETE /api/v1/messages HTTP/1.1\r\nContent-Length: 999999\r\n\r\n"
    assert (await _raw(port, body)).startswith(b"HTTP/1.1 413")
    assert (await _raw(port, b"GET /readyz HTTP/1.1\r\n")).startswith(b"HTTP/1.1 408")
    odd = b"DELETE /api/v1/messages HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n"
    assert (await _raw(port, odd)).startswith(b"HTTP/1.1 400")
    nested = b"[" * 60000
    deep = b"DELETE /api/v1/messages HTTP/1.1\r\nContent-Length: 60000\r\n\r\n" + nested
    assert (await _raw(port, deep)).startswith(b"HTTP/1.1 400")
    search = b"GET /api/v1/search?query=message-id:x&limit=%C2%B2 HTTP/1.1\r\n\r\n"
    assert (await _raw(port, search)).startswith(b"HTTP/1.1 200")
    assert (await _raw(port, b"GET /readyz HTTP/1.1\r\n\r\n")).endswith(b"ok")  # still serving
