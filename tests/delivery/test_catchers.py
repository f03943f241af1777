"""The catcher clients of --expect-delivery, against a real maildev and stand-ins of the others."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiosmtplib
import pytest

from smtpcheck.delivery import (
    Catcher,
    CatcherError,
    Fix,
    FoundMessage,
    message_id_for,
    open_catcher,
    parse_target,
)
from smtpcheck.delivery.target import CatcherTarget
from smtpcheck.redaction import MASK
from tests.support.catchers import Mailhog, Mailpit, Smtp4dev, Stored, running_maildev
from tests.support.servers import HOST

SENDER, RECIPIENT = "checker@smtpcheck.test", "sink@smtpcheck.test"
PASSWORD = "s3cret-Pa55word"
STAND_INS = {"mailpit": Mailpit, "mailhog": Mailhog, "smtp4dev": Smtp4dev}


def new_token() -> str:
    return secrets.token_hex(16)


def probe_message(token: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Checker <{SENDER}>"
    message["To"] = RECIPIENT
    message["Subject"] = f"smtpcheck delivery {token}"
    message["Message-ID"] = message_id_for(token, "smtpcheck.test")
    message["X-Smtpcheck-Token"] = token
    message.set_content(f"token {token}\nline two\n")
    return message


async def send(port: int, message: EmailMessage) -> str:
    _, reply = await aiosmtplib.send(
        message,
        hostname=HOST,
        port=port,
        local_hostname="smtpcheck.test",
        start_tls=False,
        timeout=10,
    )
    return reply


async def poll(catcher: Catcher, token: str, within: float = 5.0) -> FoundMessage | None:
    deadline = time.monotonic() + within
    while True:
        found = await catcher.find(token)
        if found is not None or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


def assert_intact(found: FoundMessage, token: str) -> None:
    assert found.token == token
    assert found.message_id == f"<smtpcheck.{token}@smtpcheck.test>"
    assert found.subject == f"smtpcheck delivery {token}"
    assert found.sender == SENDER
    assert found.recipients == (RECIPIENT,)
    assert found.text == f"token {token}\nline two\n"
    assert f"X-Smtpcheck-Token: {token}".encode() in found.raw
    assert ("X-Smtpcheck-Token", token) in found.headers


# --- parse_target ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "base"),
    [
        ("mailpit+http://127.0.0.1:8025", "mailpit", "http://127.0.0.1:8025"),
        ("MailHog+HTTP://localhost:8025/", "mailhog", "http://localhost:8025"),
        ("maildev+https://mail.test/catcher/", "maildev", "https://mail.test/catcher"),
        ("smtp4dev+http://[::1]:5000", "smtp4dev", "http://[::1]:5000"),
    ],
)
def test_parse_target_reads_each_kind(url: str, kind: str, base: str) -> None:
    target = parse_target(url)
    assert (target.kind, target.base_url, target.username, target.password) == (
        kind,
        base,
        None,
        None,
    )


def test_parse_target_keeps_credentials_out_of_display_and_repr() -> None:
    target = parse_target(f"mailpit+http://ops%40x:{PASSWORD}@127.0.0.1:8025")
    assert (target.username, target.password) == ("ops@x", PASSWORD)
    assert target.display == f"mailpit+http://ops%40x:{MASK}@127.0.0.1:8025"
    assert PASSWORD not in repr(target)
    assert PASSWORD not in target.base_url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("imaps://user@imap.test/INBOX", "not a catcher URL: imaps://user@imap.test/INBOX"),
        ("imap://user@imap.test/INBOX", "names an IMAP mailbox"),
        ("http://127.0.0.1:8025", "not a catcher URL"),
        ("mailgun+http://127.0.0.1:8025", "expected mailpit+http://HOST:PORT"),
        ("mailpit+ftp://127.0.0.1", "not a catcher URL"),
        ("mailpit+http://127.0.0.1:99999", "out of range"),
        ("mailpit+http://127.0.0.1:8025/?limit=0", "no query"),
        ("mailpit+http://:8025", "no host"),
        ("127.0.0.1:8025", "is not a URL"),
    ],
)
def test_parse_target_refuses_with_a_reason(url: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_target(url)
    assert says in str(caught.value)


def test_parse_target_masks_the_password_of_a_url_it_refuses() -> None:
    for url in (f"mailgun+http://u:{PASSWORD}@h:1", f"mailpit+http://u:{PASSWORD}@h:x"):
        with pytest.raises(ValueError) as caught:
            parse_target(url)
        assert PASSWORD not in str(caught.value)
        assert MASK in str(caught.value)


# --- the round trip, against each stand-in and the real maildev --------------------------------


@pytest.fixture(params=sorted(STAND_INS))
async def stand_in(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    server = await STAND_INS[request.param]().start()
    try:
        yield server
    finally:
        await server.stop()


def catcher_of(server: Any, *, userinfo: str = "", **options: Any) -> Catcher:
    kind = type(server).__name__.lower()
    return open_catcher(parse_target(f"{kind}+http://{userinfo}{HOST}:{server.port}"), **options)


async def round_trip(catcher: Catcher, smtp_port: int) -> None:
    token = new_token()
    async with catcher:
        await catcher.reachable()
        await send(smtp_port, probe_message(token))
        found = await poll(catcher, token)
        assert found is not None, f"{catcher.target.kind}: the message was not found"
        assert_intact(found, token)
        assert found.catcher == catcher.target.kind
        await catcher.delete(found)
        assert await catcher.find(token) is None
        await catcher.delete(found)  # gone already: not an error


async def test_stand_in_round_trip(stand_in: Any) -> None:
    await round_trip(catcher_of(stand_in), stand_in.smtp.port)
    assert stand_in.messages == []


async def test_maildev_round_trip(tmp_path: Path) -> None:
    async with running_maildev(tmp_path / "mail") as maildev:
        target = parse_target(f"maildev+{maildev.url}")
        await round_trip(open_catcher(target), maildev.smtp_port)


async def test_maildev_finds_only_its_own_token_among_others(tmp_path: Path) -> None:
    async with running_maildev(tmp_path / "mail") as maildev:
        tokens = [new_token() for _ in range(3)]
        for token in tokens:
            await send(maildev.smtp_port, probe_message(token))
        async with open_catcher(parse_target(f"maildev+{maildev.url}")) as catcher:
            found = await catcher.find(tokens[1])
            assert found is not None
            assert_intact(found, tokens[1])
            assert found.envelope  # maildev records the SMTP envelope
            assert await catcher.find(new_token()) is None


async def test_maildev_refuses_missing_credentials_and_takes_right_ones(tmp_path: Path) -> None:
    async with running_maildev(tmp_path / "mail", user="ops", password=PASSWORD) as maildev:
        port = urlsplit(maildev.url).port
        bare = open_catcher(parse_target(f"maildev+http://{HOST}:{port}"))
        async with bare:
            await bare.reachable()  # the health route needs no credentials
            with pytest.raises(CatcherError) as caught:
                await bare.find(new_token())
        assert caught.value.fix is Fix.CREDENTIALS
        assert "HTTP 401" in str(caught.value)
        good = open_catcher(parse_target(f"maildev+http://ops:{PASSWORD}@{HOST}:{port}"))
        await round_trip(good, maildev.smtp_port)


# --- per-catcher behaviour --------------------------------------------------------------------


async def test_smtp4dev_stores_after_the_reply_so_the_first_find_misses() -> None:
    server = await Smtp4dev(delay=0.3).start()
    try:
        token = new_token()
        async with catcher_of(server) as catcher:
            assert await send(server.smtp.port, probe_message(token)) == "Mail accepted"
            assert await catcher.find(token) is None  # not stored yet
            assert await poll(catcher, token) is not None
    finally:
        await server.stop()


async def test_smtp4dev_before_3_10_is_found_by_listing_the_newest() -> None:
    # Before 3.10.0 searchTerms saw only subject, from and to: a subject without the token is
    # missed by the search, and the listing of the newest messages finds it by its header.
    server = await Smtp4dev(delay=0, search_body=False).start()
    try:
        token = new_token()
        message = probe_message(token)
        message.replace_header("Subject", "no token here")
        await send(server.smtp.port, message)
        await asyncio.sleep(0.05)
        async with catcher_of(server) as catcher:
            found = await catcher.find(token)
            assert found is not None and found.token == token
        assert any("searchTerms" in path for _, path, _ in server.requests)
    finally:
        await server.stop()


async def test_a_longer_token_that_contains_the_searched_one_is_not_a_match(
    stand_in: Any,
) -> None:
    # Every search here matches substrings (Mailpit's message-id:, MailHog's containing,
    # smtp4dev's searchTerms): a hit counts only when the header is exactly the token.
    token = new_token()
    await send(stand_in.smtp.port, probe_message(token + "ff"))
    await asyncio.sleep(0.4)  # smtp4dev stores after the reply
    async with catcher_of(stand_in) as catcher:
        assert await catcher.find(token) is None
        assert await catcher.find(token + "ff") is not None


async def test_mailpit_delete_never_sends_a_body_that_wipes_the_mailbox() -> None:
    server = await Mailpit().start()
    try:
        token = new_token()
        await send(server.smtp.port, probe_message(token))
        await send(server.smtp.port, probe_message(new_token()))
        async with catcher_of(server) as catcher:
            found = await catcher.find(token)
            assert found is not None
            with pytest.raises(ValueError, match="without an id"):
                await catcher.delete(FoundMessage(**{**_fields(found), "id": ""}))
            assert len(server.messages) == 2
            await catcher.delete(found)
        assert len(server.messages) == 1  # only that one
        search = [p for _, p, _ in server.requests if p.startswith("/api/v1/search")]
        assert search and all(parse_qs(urlsplit(p).query)["limit"] != ["0"] for p in search)
    finally:
        await server.stop()


def _fields(found: FoundMessage) -> dict[str, Any]:
    return {name: getattr(found, name) for name in FoundMessage.__slots__}


async def test_mailpit_not_ready_is_reported() -> None:
    server = await Mailpit(ready=False).start()
    try:
        async with catcher_of(server) as catcher:
            with pytest.raises(CatcherError, match="HTTP 503") as caught:
                await catcher.reachable()
        assert caught.value.fix is Fix.CATCHER
    finally:
        await server.stop()


# --- failures: down, credentials, wrong URL, bounds ----------------------------------------------


def _refused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])  # closed again: nothing listens there


@pytest.mark.parametrize("kind", ["mailpit", "mailhog", "maildev", "smtp4dev"])
async def test_catcher_down_names_the_url_and_masks_the_password(kind: str) -> None:
    url = f"{kind}+http://ops:{PASSWORD}@{HOST}:{_refused_port()}"
    async with open_catcher(parse_target(url), timeout=2) as catcher:
        for call in (catcher.reachable(), catcher.find(new_token())):
            with pytest.raises(CatcherError) as caught:
                await call
            assert caught.value.fix is Fix.RUNNING
            assert f"{kind}+http://ops:{MASK}@{HOST}" in str(caught.value)
            assert f"is {kind} running" in str(caught.value)
            assert PASSWORD not in str(caught.value) and PASSWORD not in caught.value.url


async def test_catcher_that_never_answers_times_out(black_hole: int) -> None:
    target = parse_target(f"mailpit+http://{HOST}:{black_hole}")
    started = time.monotonic()
    async with open_catcher(target, timeout=0.5) as catcher:
        with pytest.raises(CatcherError, match=r"did not answer within 0\.5 s") as caught:
            await catcher.find(new_token())
    assert caught.value.fix is Fix.RUNNING
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("userinfo", ["", f"ops:wrong-{PASSWORD}@"])
async def test_stand_in_401_says_credentials(stand_in: Any, userinfo: str) -> None:
    stand_in.auth = ("ops", PASSWORD)
    async with catcher_of(stand_in, userinfo=userinfo) as catcher:
        with pytest.raises(CatcherError) as caught:
            await catcher.find(new_token())
    assert caught.value.fix is Fix.CREDENTIALS
    assert caught.value.http_status == 401
    assert "user@" in str(caught.value) and "--delivery-password-env" in str(caught.value)
    assert PASSWORD not in str(caught.value)


async def test_stand_in_right_credentials_work(stand_in: Any) -> None:
    stand_in.auth = ("ops", PASSWORD)
    await round_trip(catcher_of(stand_in, userinfo=f"ops:{PASSWORD}@"), stand_in.smtp.port)


async def test_wrong_kind_for_the_url_says_check_the_url(stand_in: Any) -> None:
    # A MailHog URL pointed at another catcher: its routes answer 404.
    wrong = "smtp4dev" if isinstance(stand_in, Mailhog) else "mailhog"
    target = CatcherTarget(kind=wrong, base_url=stand_in.url)  # type: ignore[arg-type]
    async with open_catcher(target) as catcher:
        with pytest.raises(CatcherError, match="HTTP 404") as caught:
            await catcher.find(new_token())
    assert caught.value.fix is Fix.URL


def _fill(server: Any, count: int) -> None:
    template = probe_message("0" * 32).as_bytes().replace(b"\n", b"\r\n")
    for n in range(count):
        data = template.replace(b"0" * 32, f"{n:032x}".encode())
        server.messages.append(Stored(server.new_id(), SENDER, [RECIPIENT], data))


async def test_a_mailbox_of_10000_messages_is_read_in_small_pages(stand_in: Any) -> None:
    _fill(stand_in, 10_000)
    oldest = f"{0:032x}"
    async with catcher_of(stand_in) as catcher:
        found = await catcher.find(oldest)  # the oldest: searched for, not listed
        missing = await catcher.find(new_token())
    assert found is not None and found.token == oldest
    assert missing is None
    served = sum(size for _, _, size in stand_in.requests)
    # At most, smtp4dev: search, message, download; then search, newest 20 and each one read.
    assert len(stand_in.requests) <= 3 + 2 + 20, stand_in.requests
    sizes = [
        parse_qs(urlsplit(p).query).get(k, ["50"])
        for _, p, _ in stand_in.requests
        for k in ("limit", "pageSize")
        if k in p
    ]
    assert all(0 < int(size[0]) <= 20 for size in sizes), sizes
    assert served < 300_000, f"{served} bytes served for two finds"


async def test_an_answer_over_the_limit_is_refused(stand_in: Any) -> None:
    token = new_token()
    await send(stand_in.smtp.port, probe_message(token))
    await asyncio.sleep(0.4)
    async with catcher_of(stand_in, answer_limit=64) as catcher:
        with pytest.raises(CatcherError, match="more than 64 bytes") as caught:
            await poll(catcher, token, within=0)
    assert caught.value.fix is Fix.CATCHER


async def test_a_redirect_is_not_followed_and_its_credentials_are_masked(stand_in: Any) -> None:
    async def moved(request: Any, match: Any) -> Any:
        from aiohttp import web

        raise web.HTTPFound(f"http://ops:{PASSWORD}@{HOST}:1/elsewhere")

    stand_in.auth = ("ops", PASSWORD)
    stand_in._routes.insert(0, ("GET", re.compile(r"/api/.*", re.IGNORECASE), moved))
    async with catcher_of(stand_in, userinfo=f"ops:{PASSWORD}@") as catcher:
        with pytest.raises(CatcherError, match="HTTP 302") as caught:
            await catcher.find(new_token())
    assert caught.value.fix is Fix.URL
    assert "not followed" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert [m for m, p, _ in stand_in.requests if "elsewhere" in p] == []


async def test_mailpit_finds_by_message_id_when_a_relay_dropped_the_token_header() -> None:
    server = await Mailpit().start()
    try:
        token = new_token()
        message = probe_message(token)
        del message["X-Smtpcheck-Token"]
        await send(server.smtp.port, message)
        async with catcher_of(server) as catcher:
            found = await catcher.find(token)
        assert found is not None
        assert found.token is None
        assert found.message_id == f"<smtpcheck.{token}@smtpcheck.test>"
    finally:
        await server.stop()
