"""A hostile or broken panel costs a bounded run: one line, exit 2, no secret (issue 10, class 4).

A real HTTP server on 127.0.0.1 port 0 answers as no panel should: a gzip bomb, bodies past the
answer limit, a body dripped a byte at a time, redirects to another port, nesting past the
stack, numbers of thousands of digits. Only bounds are asserted, never speed: the answer limit
is what bounds memory, and tracemalloc measures it.
"""

from __future__ import annotations

import json
import re
import struct
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from smtpcheck.defaults import API_ANSWER_LIMIT
from smtpcheck.errors import PlatformError
from smtpcheck.panel.client import (
    AUTH_ACTION,
    LIST_ACTION,
    Credentials,
    PlatformClient,
    RetryPolicy,
)
from tests.platform.conftest import PANEL_LOGIN, PANEL_PASSWORD, SESSION_HASH
from tests.support.cli import Run, smtpcheck
from tests.support.panel import serving

__all__: list[str] = []

_MIB = 1 << 20
_JSON = (("Content-Type", "application/json"),)
_GATEWAY = {
    "id": 7,
    "leasable": False,
    "label": "Relay",
    "provider": "smtp",
    "params": {"mail.smtp.host": "smtp.example.com", "mail.smtp.port": 587},
}
_LIST = {"success": True, "own": [_GATEWAY], "leasable": []}
ONE_TRY = RetryPolicy(attempts=1)


# The hostile panel -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One scripted answer; the body comes as chunks, each after ``pause`` seconds.

    Without a Content-Length header among ``headers`` the body is sent chunked.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = _JSON
    chunks: Callable[[], Iterable[bytes]] = lambda: ()
    pause: float = 0.0


def whole(data: bytes, status: int = 200, *headers: tuple[str, str]) -> Answer:
    """Return an answer of ``data`` sent at once, with its Content-Length."""
    length = ("Content-Length", str(len(data)))
    return Answer(status, (*(headers or _JSON), length), lambda: (data,))


_OK = whole(json.dumps({"success": True}).encode())


@dataclass
class HostilePanel:
    """Answers each action as scripted (``answers[LIST_ACTION]`` …), anything else with success."""

    answers: dict[str, Answer] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # action, headers
    _stop: threading.Event = field(default_factory=threading.Event)
    _port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v2"

    def actions(self) -> list[str]:
        return [action for action, _ in self.requests]

    @contextmanager
    def running(self) -> Iterator[HostilePanel]:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.panel = self
        with serving(httpd, self._stop) as self._port:  # the stop cuts a dripped answer short
            yield self


class _Server(ThreadingHTTPServer):
    panel: HostilePanel

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up mid-answer is what these tests are about


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        panel = self.server.panel
        action = self.path.removeprefix("/v2/")
        self.rfile.read(int(self.headers["Content-Length"]))
        panel.requests.append((action, {k.lower(): v for k, v in self.headers.items()}))
        answer = panel.answers.get(action, _OK)
        chunked = all(name.lower() != "content-length" for name, _ in answer.headers)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in answer.chunks():
            if answer.pause and panel._stop.wait(answer.pause):
                return
            if chunk:  # an empty chunk would end a chunked body
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def panel() -> Iterator[HostilePanel]:
    with HostilePanel().running() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[HostilePanel]:
    """Another server (another port), where a redirect points."""
    with HostilePanel().running() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NAVIXY_HASH", "NAVIXY_LOGIN", "NAVIXY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


# Hostile bodies --------------------------------------------------------------------------------


def gzip_bomb(inflated: int) -> Iterator[bytes]:
    """Yield a gzip stream of ``inflated`` bytes (whole MiB) of zeros, about 1/1000 of that.

    One MiB is compressed once and its block repeated: a full flush makes each block stand alone.
    """
    zeros = bytes(_MIB)
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    yield packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)  # the gzip header first
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(zeros)
    for _ in range(inflated // _MIB - 1):
        yield block
        crc = zlib.crc32(zeros, crc)
    # An empty final block, then the CRC and size: reached only by a client that reads it all.
    yield b"\x03\x00" + struct.pack("<II", crc, inflated & 0xFFFFFFFF)


def gzip_bomb_answer(inflated: int = 1024 * _MIB) -> Answer:
    headers = (*_JSON, ("Content-Encoding", "gzip"))
    return Answer(headers=headers, chunks=lambda: gzip_bomb(inflated))


def padded_list(size: int) -> bytes:
    """Return a gateway list answer of exactly ``size`` bytes."""
    text = json.dumps({**_LIST, "pad": ""})
    return text.replace('"pad": ""', '"pad": "' + "x" * (size - len(text)) + '"').encode()


def spaces_past(limit: int) -> Iterator[bytes]:
    """Yield a list answer padded with whitespace (valid JSON) to 1 MiB past ``limit``."""
    yield b'{"success": true, "own": [], "leasable": []'
    for _ in range(limit // (64 * 1024) + 16):
        yield b" " * (64 * 1024)
    yield b"}"


def nested(depth: int, opening: str, closing: str) -> bytes:
    return f'{{"success": true, "own": {opening * depth}{closing * depth}}}'.encode()


# Helpers ---------------------------------------------------------------------------------------


def by_hash(panel: HostilePanel, command: str = "validate", *argv: str) -> Run:
    return smtpcheck(command, "--api-url", panel.url, "--hash", SESSION_HASH, *argv)


def assert_refused(run: Run, words: str) -> str:
    """Assert the run ended with one line naming ``words``, exit 2, and no secret; return it."""
    assert run.code == 2, run
    assert run.stdout == ""
    assert run.stderr.startswith(f"smtpcheck: error: {LIST_ACTION}: "), run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.endswith("\n"), run.stderr
    assert re.search(words, run.stderr), run.stderr
    for secret in (SESSION_HASH, PANEL_PASSWORD):
        assert secret not in run.output
    return run.stderr


async def fetch_error(panel: HostilePanel, **options: Any) -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        async with PlatformClient(panel.url, policy=ONE_TRY, **options) as client:
            await client.fetch(Credentials(session_hash=SESSION_HASH))
    assert SESSION_HASH not in str(caught.value)
    return caught.value


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Measure the peak of Python's allocations inside the block, in bytes (the one item)."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


_TOO_LARGE = "the panel's answer is larger than 64 MiB"
# The limit and what one read adds (the client inflates in bounded steps): far below the
# bomb's 1 GiB.
_MEMORY_BOUND = 2 * API_ANSWER_LIMIT


# Size ------------------------------------------------------------------------------------------


def test_gzip_bomb_helper_is_a_valid_gzip_of_zeros():
    stream = b"".join(gzip_bomb(4 * _MIB))
    assert len(stream) < 8 * 1024
    assert zlib.decompress(stream, 16 + zlib.MAX_WBITS) == bytes(4 * _MIB)


def test_gzip_bomb_is_refused_at_the_limit_with_bounded_memory(panel):
    panel.answers[LIST_ACTION] = gzip_bomb_answer()
    with peak_memory() as peak:
        run = by_hash(panel)
    assert run.stderr == f"smtpcheck: error: {LIST_ACTION}: {_TOO_LARGE}\n"
    assert_refused(run, _TOO_LARGE)
    assert peak[0] < _MEMORY_BOUND, f"{peak[0] / _MIB:.0f} MiB"
    assert panel.actions() == [LIST_ACTION]  # too large is not worth another try


def test_oversized_plain_body_is_refused_by_its_content_length_unread(panel):
    # 200 MB announced; the body never comes, so only the header can have refused it.
    headers = (*_JSON, ("Content-Length", str(200 * 1000 * 1000)))
    panel.answers[LIST_ACTION] = Answer(headers=headers, chunks=lambda: (b"{",) * 600, pause=0.1)
    assert_refused(by_hash(panel), _TOO_LARGE)


def test_oversized_plain_body_without_a_length_is_cut_at_the_limit(panel):
    panel.answers[LIST_ACTION] = Answer(chunks=lambda: spaces_past(API_ANSWER_LIMIT))
    with peak_memory() as peak:
        run = by_hash(panel)
    assert_refused(run, _TOO_LARGE)
    assert peak[0] < _MEMORY_BOUND, f"{peak[0] / _MIB:.0f} MiB"


@pytest.mark.parametrize(
    "answer",
    [
        gzip_bomb_answer(),
        Answer(headers=(*_JSON, ("Content-Length", str(1 << 40)))),
        whole(b"", 307, ("Location", "http://127.0.0.1:9/v2/panel/gateways/email/list")),
    ],
    ids=["gzip-bomb", "content-length-of-1-tib", "redirect"],
)
def test_fetch_writes_nothing_when_the_answer_is_refused(panel, tmp_path: Path, answer):
    panel.answers[LIST_ACTION] = answer
    output = tmp_path / "fleet.json"
    assert_refused(by_hash(panel, "fetch", "-o", str(output)), "larger than 64 MiB|not followed")
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either


async def test_an_answer_of_exactly_the_limit_is_read_and_one_byte_more_is_not(panel):
    limit = 64 * 1024
    panel.answers[LIST_ACTION] = Answer(chunks=lambda: (padded_list(limit),))
    async with PlatformClient(panel.url, answer_limit=limit) as client:
        data = await client.fetch(Credentials(session_hash=SESSION_HASH))
    assert data["own"] == [_GATEWAY]
    panel.answers[LIST_ACTION] = Answer(chunks=lambda: (padded_list(limit + 1),))
    error = await fetch_error(panel, answer_limit=limit)
    assert str(error) == f"{LIST_ACTION}: the panel's answer is larger than 65536 bytes"
    assert not error.retryable and error.http_status == 200


async def test_data_after_the_end_of_a_gzip_stream_counts_towards_the_limit(panel):
    # Decoded it is 2 bytes; what follows the gzip stream would pile up in the decompressor.
    small = zlib.compress(b"{}", wbits=16 + zlib.MAX_WBITS)
    chunks = (small, *[b"junk" * 4096] * 64)
    headers = (*_JSON, ("Content-Encoding", "gzip"))
    panel.answers[LIST_ACTION] = Answer(headers=headers, chunks=lambda: chunks)
    error = await fetch_error(panel, answer_limit=64 * 1024)
    assert "larger than 65536 bytes" in str(error)


@pytest.mark.parametrize(
    ("codings", "shown"),
    [("gzip, gzip", "gzip, gzip"), ("gzip, deflate", "gzip, deflate"), ("br", "br")],
)
def test_stacked_or_unasked_codings_are_refused_unread(panel, codings, shown):
    # A few KB of gzip in gzip inflate to gigabytes in one read: refused before any is read.
    twice = zlib.compress(b"".join(gzip_bomb(64 * _MIB)), wbits=16 + zlib.MAX_WBITS)
    headers = (*_JSON, ("Content-Encoding", codings))
    panel.answers[LIST_ACTION] = Answer(headers=headers, chunks=lambda: (twice,))
    with peak_memory() as peak:
        run = by_hash(panel)
    assert_refused(run, re.escape(f"encoded as {shown}; smtpcheck reads gzip or deflate, once"))
    assert peak[0] < _MEMORY_BOUND


@pytest.mark.parametrize(
    ("coding", "wbits"), [("gzip", 16 + zlib.MAX_WBITS), ("deflate", zlib.MAX_WBITS)]
)
def test_the_client_asks_only_for_codings_it_bounds_and_reads_them(panel, coding, wbits):
    data = zlib.compress(json.dumps(_LIST).encode(), wbits=wbits)
    panel.answers[LIST_ACTION] = whole(data, 200, *_JSON, ("Content-Encoding", coding))
    run = by_hash(panel, "validate", "--format", "json")
    assert run.code == 0, run
    assert [g["id"] for g in json.loads(run.stdout)["gateways"]] == [7]
    ((_, headers),) = panel.requests
    assert headers["accept-encoding"] == "gzip, deflate"


def test_a_body_that_is_not_what_its_coding_says_is_named(panel):
    headers = (*_JSON, ("Content-Encoding", "gzip"))
    panel.answers[LIST_ACTION] = whole(json.dumps(_LIST).encode(), 200, *headers)
    assert_refused(
        by_hash(panel), "the panel's answer does not decompress as its Content-Encoding says"
    )


# Time ------------------------------------------------------------------------------------------


def _dripped() -> Answer:
    data = json.dumps(_LIST).encode()
    headers = (*_JSON, ("Content-Length", str(len(data))))
    # A byte every 0.1 s: each read gets one in time, so only a bound of the whole can end it.
    return Answer(headers=headers, chunks=lambda: (bytes([b]) for b in data), pause=0.1)


def test_a_dripped_body_ends_with_the_timeout_error(panel):
    panel.answers[LIST_ACTION] = _dripped()
    run = by_hash(panel, "validate", "--api-timeout", "1")
    assert_refused(run, r"the panel took longer than 1 s to answer|no answer within 3 s in all")
    assert 1 <= len(panel.requests) <= 3  # every try together fits in 3 × --api-timeout


async def test_a_dripped_body_is_cut_at_the_timeout_of_the_try(panel):
    panel.answers[LIST_ACTION] = _dripped()
    error = await fetch_error(panel, timeout=0.5)
    assert str(error).startswith(f"{LIST_ACTION}: the panel took longer than 0.5 s to answer")
    assert error.retryable  # a slow panel may be quicker next time, as after a read timeout


async def test_a_dripped_body_is_retried_within_the_deadline(panel):
    panel.answers[LIST_ACTION] = _dripped()
    policy = RetryPolicy(attempts=10, first_delay=0.01, max_delay=0.01)
    with pytest.raises(PlatformError, match=r"took longer than|in all"):
        async with PlatformClient(panel.url, timeout=0.3, deadline=1.0, policy=policy) as client:
            await client.fetch(Credentials(session_hash=SESSION_HASH))
    assert 2 <= len(panel.requests) <= 4


# Redirects -------------------------------------------------------------------------------------


def _percent_encoded(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_port_is_not_followed_and_shows_no_hash(panel, elsewhere, status):
    target = f"{elsewhere.url}/{LIST_ACTION}"
    location = f"{target}?hash={SESSION_HASH}&again={_percent_encoded(SESSION_HASH)}"
    panel.answers[LIST_ACTION] = whole(b"", status, ("Location", location))
    line = assert_refused(by_hash(panel), "not followed")
    assert f"HTTP {status}: the API moved to {target}?hash=********&again=********: " in line
    assert "not followed, as it is another server; if you trust it, give its base URL" in line
    assert elsewhere.requests == []  # nothing, and so no hash, went there
    assert panel.actions() == [LIST_ACTION]


def test_a_redirect_on_the_same_server_is_named_but_not_followed(panel):
    panel.answers[LIST_ACTION] = whole(b"", 308, ("Location", "/v3/panel/gateways/email/list"))
    line = assert_refused(by_hash(panel), "not followed")
    assert f"the API moved to {panel.url[:-3]}/v3/panel/gateways/email/list: not followed; " in (
        line
    )
    assert panel.actions() == [LIST_ACTION]


def test_a_redirect_after_a_login_leaks_neither_password_nor_session(panel, elsewhere):
    session = "a1" * 16
    login = {"success": True, "hash": session, "permissions": {"email_gateways": ["read"]}}
    panel.answers[AUTH_ACTION] = whole(json.dumps(login).encode())
    location = f"{elsewhere.url}/x?h={session}&p={_percent_encoded(PANEL_PASSWORD)}"
    panel.answers[LIST_ACTION] = whole(b"", 307, ("Location", location))
    run = smtpcheck(
        "validate",
        "--api-url",
        panel.url,
        "--login",
        PANEL_LOGIN,
        env={"NAVIXY_PASSWORD": PANEL_PASSWORD},
    )
    assert_refused(run, "not followed")
    assert session not in run.output
    assert elsewhere.requests == []
    assert panel.actions() == [AUTH_ACTION, LIST_ACTION, "panel/account/logout"]


# Shapes JSON allows ----------------------------------------------------------------------------


@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ('{"a": ', "}")])
def test_nesting_past_the_stack_is_not_json(panel, opening, closing):
    panel.answers[LIST_ACTION] = whole(nested(200_000, opening, closing))
    assert_refused(by_hash(panel), "HTTP 200 with a body that is not JSON instead of a panel")


def test_a_huge_number_in_a_gateway_is_a_finding_on_that_gateway(panel):
    text = json.dumps(_LIST).replace('"mail.smtp.port": 587', '"mail.smtp.port": ' + "9" * 5000)
    panel.answers[LIST_ACTION] = whole(text.encode())
    run = by_hash(panel, "validate", "--format", "json")
    assert run.code == 1 and "internal error" not in run.stderr, run.stderr
    (gateway,) = json.loads(run.stdout)["gateways"]
    found = [f for f in gateway["findings"] if f["code"] == "SC004"]
    assert found and "a number too long to read" in found[0]["message"], gateway["findings"]
    assert SESSION_HASH not in run.output


def test_a_huge_status_code_is_no_status_code(panel):
    body = '{"success": false, "status": {"code": ' + "4" * 5000 + "}}"
    panel.answers[LIST_ACTION] = whole(body.encode(), 400)
    assert_refused(by_hash(panel), "HTTP 400, and the answer carries no panel status code")
