"""The panel API client against `httpx.MockTransport`: decoding, retry schedule and deadlines.

The pauses and the clock are injected, so the retry schedule is asserted exactly and no test
waits. Behaviour that needs real sockets (timeouts, TLS, refused connections) is in
test_client_server.py.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from smtpcheck.errors import PlatformError, UsageError
from smtpcheck.panel.client import (
    Credentials,
    PlatformClient,
    RetryPolicy,
    retry_after_seconds,
)

BASE = "https://panel.test/v2"
HASH = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
PASSWORD = "Pw-unit-8Jq2"
LIST: dict[str, Any] = {"success": True, "bound_gateway": None, "own": [], "leasable": []}

Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


class FakeTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """Answers requests in turn from a list; the last answer repeats."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            if isinstance(answer, httpx.RequestError):
                answer.request = request
            raise answer
        # A fresh copy each time: a response object belongs to the one request it answers.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def actions(self) -> list[str]:
        return [r.url.path.removeprefix("/v2/") for r in self.requests]


def ok(data: dict[str, Any] = LIST) -> httpx.Response:
    return httpx.Response(200, json=data)


def error(code: int, http: int = 400, **extra: Any) -> httpx.Response:
    body = {"success": False, "status": {"code": code, "description": "x"}, **extra}
    return httpx.Response(http, json=body, headers=extra.pop("headers", None))


def make_client(
    handler: Handler,
    fake: FakeTime,
    *,
    policy: RetryPolicy | None = None,
    deadline: float | None = None,
) -> PlatformClient:
    return PlatformClient(
        BASE,
        transport=httpx.MockTransport(handler),
        policy=policy,
        deadline=deadline,
        sleep=fake.sleep,
        clock=fake.clock,
        jitter=lambda: 0.5,
    )


async def fetch(handler: Handler, fake: FakeTime | None = None, **options: Any) -> dict[str, Any]:
    async with make_client(handler, fake or FakeTime(), **options) as client:
        return await client.fetch(Credentials(session_hash=HASH))


async def fetch_error(handler: Handler, fake: FakeTime | None = None, **options: Any) -> str:
    with pytest.raises(PlatformError) as caught:
        await fetch(handler, fake, **options)
    return str(caught.value)


async def test_fetch_sends_the_hash_in_a_json_body_never_in_the_url():
    server = Recorder(ok())
    assert await fetch(server) == LIST
    (request,) = server.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/panel/gateways/email/list"
    assert json.loads(request.content) == {"hash": HASH}
    assert request.headers["content-type"] == "application/json"
    assert HASH not in str(request.url)
    assert all(HASH not in value for value in request.headers.values())


@pytest.mark.parametrize(
    ("code", "http", "expected"),
    [
        (3, 400, "rejected the session hash (code 3)"),
        (4, 400, "session hash invalid or expired (code 4): log in again"),
        (11, 403, "login refused (code 11)"),
        (12, 400, "login refused (code 12)"),
        (13, 403, "lacks the permission email_gateways: read (code 13)"),
        (101, 403, "demo mode"),
        (102, 400, "login refused (code 102): wrong login or password"),
        (111, 400, "does not know panel/gateways/email/list (code 111)"),
        (236, 402, "refused the request with code 236 (x)"),
    ],
)
async def test_panel_error_codes_are_named_and_never_retried(code, http, expected):
    server, fake = Recorder(error(code, http)), FakeTime()
    with pytest.raises(PlatformError) as caught:
        await fetch(server, fake)
    assert expected in str(caught.value)
    assert caught.value.status_code == code
    assert caught.value.http_status == http
    assert len(server.requests) == 1
    assert fake.sleeps == []


async def test_code_7_lists_the_rejected_parameters():
    errors = [{"parameter": "hash", "error": "required"}, {"parameter": "x", "error": "bad"}]
    message = await fetch_error(Recorder(error(7, errors=errors)))
    assert message.endswith("rejected the request parameters (code 7): hash: required; x: bad")


async def test_errors_are_decoded_by_code_never_by_description():
    reassuring = {"success": False, "status": {"code": 4, "description": "all is well"}}
    misleading = {"success": False, "status": {"code": 250, "description": "session ended"}}
    assert "expired" in await fetch_error(Recorder(httpx.Response(400, json=reassuring)))
    assert "expired" not in await fetch_error(Recorder(httpx.Response(400, json=misleading)))


async def test_server_errors_are_retried_with_growing_jittered_pauses():
    server, fake = Recorder(error(6, 500), httpx.Response(503), error(8, 503), ok()), FakeTime()
    assert await fetch(server, fake) == LIST
    assert len(server.requests) == 4
    # jitter 0.5 → three quarters of 0.5, 1 and 2 seconds
    assert fake.sleeps == [0.375, 0.75, 1.5]


def test_backoff_stays_within_half_and_all_of_a_capped_ceiling():
    policy = RetryPolicy(first_delay=1.0, max_delay=5.0)
    assert [policy.delay(n, jitter=0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 2.5, 2.5]
    assert policy.delay(10, jitter=0.999) < 5.0


async def test_rate_limit_waits_as_long_as_retry_after_says():
    limited = httpx.Response(429, headers={"Retry-After": "7"}, json={"success": False})
    server, fake = Recorder(limited, ok()), FakeTime()
    assert await fetch(server, fake) == LIST
    assert fake.sleeps == [7.0]


async def test_rate_limit_code_15_honours_an_http_date():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=12), usegmt=True)
    server, fake = Recorder(error(15, 429, headers={"Retry-After": when}), ok()), FakeTime()
    assert await fetch(server, fake) == LIST
    (pause,) = fake.sleeps
    assert 9.0 < pause <= 12.0


async def test_a_retry_after_beyond_the_cap_ends_the_run_at_once():
    limited = error(15, 429, headers={"Retry-After": "3600"})
    server, fake = Recorder(limited), FakeTime()
    message = await fetch_error(server, fake)
    assert "rate limited by the panel API (code 15)" in message
    assert "asks to wait 3600 s" in message
    assert fake.sleeps == []
    assert len(server.requests) == 1


async def test_give_up_after_the_attempts_allowed():
    server, fake = Recorder(httpx.Response(500, text="oops")), FakeTime()
    message = await fetch_error(server, fake, policy=RetryPolicy(attempts=3))
    assert len(server.requests) == 3
    assert "HTTP 500 with a body that is not JSON" in message
    assert "gave up after 3 tries in 1.1 s" in message


async def test_the_deadline_bounds_all_tries_and_pauses_together():
    server, fake = Recorder(httpx.Response(503)), FakeTime()
    policy = RetryPolicy(attempts=1000, first_delay=1.0, max_delay=4.0)
    await fetch_error(server, fake, policy=policy, deadline=10.0)
    assert sum(fake.sleeps) < 10.0
    assert len(server.requests) == len(fake.sleeps) + 1 < 1000


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.ConnectError("All connection attempts failed"), "cannot connect to panel.test"),
        (httpx.ConnectTimeout("timed out"), "timed out connecting to panel.test"),
        (httpx.ReadTimeout("timed out"), "timed out waiting for the answer of panel.test"),
        (httpx.RemoteProtocolError("gone"), "panel.test closed the connection"),
    ],
)
async def test_transport_failures_are_retried(failure, expected):
    server, fake = Recorder(failure, ok()), FakeTime()
    assert await fetch(server, fake) == LIST
    assert len(server.requests) == 2
    server, fake = Recorder(failure), FakeTime()
    assert expected in await fetch_error(server, fake, policy=RetryPolicy(attempts=2))


def _raised_from(cause: BaseException) -> httpx.ConnectError:
    try:
        raise cause
    except BaseException as exc:
        try:
            raise httpx.ConnectError("connect failed") from exc
        except httpx.ConnectError as wrapped:
            return wrapped


@pytest.mark.parametrize(
    ("cause", "expected", "tries"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "cannot resolve", 1),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), "cannot resolve", 2),
        (ssl.SSLCertVerificationError(1, "verify failed"), "certificate of panel.test", 1),
        (ssl.SSLError(1, "wrong version"), "TLS handshake with panel.test failed", 1),
    ],
)
async def test_dns_and_tls_failures_are_retried_only_when_transient(cause, expected, tries):
    server = Recorder(_raised_from(cause))
    assert expected in await fetch_error(server, policy=RetryPolicy(attempts=2))
    assert len(server.requests) == tries


@pytest.mark.parametrize(
    ("answer", "expected", "tries"),
    [
        (httpx.Response(502, html="<html><h1>Bad Gateway</h1></html>"), "HTTP 502 with an HTML", 2),
        (httpx.Response(200, html="<!doctype html><p>Login</p>"), "HTTP 200 with an HTML page", 1),
        (httpx.Response(200, text="{not json"), "a body that is not JSON", 1),
        (httpx.Response(200, content=b"\xff\xfe"), "a body that is not JSON", 1),
        (httpx.Response(200, text=""), "an empty body", 1),
        (httpx.Response(200, json=[1]), "JSON that is not an object", 1),
        (httpx.Response(200, json={"hello": 1}), "carries no panel status code", 1),
        (httpx.Response(404, text="nope"), "is --api-url a panel API base", 1),
        (
            httpx.Response(301, headers={"Location": "https://new.test/v2/panel/x"}),
            "HTTP 301: the API moved to https://new.test/v2/panel/x",
            1,
        ),
    ],
)
async def test_answers_that_are_not_the_api_are_named(answer, expected, tries):
    server = Recorder(answer)
    assert expected in await fetch_error(server, policy=RetryPolicy(attempts=2))
    assert len(server.requests) == tries


async def _log_in(server: Recorder, fake: FakeTime | None = None) -> dict[str, Any]:
    async with make_client(server, fake or FakeTime()) as client:
        return await client.fetch(Credentials(login="dealer", password=PASSWORD))


def auth_ok(permissions: object = None, *, session: str = "1" * 32) -> httpx.Response:
    body: dict[str, Any] = {"success": True, "hash": session}
    if permissions is not None:
        body["permissions"] = permissions
    return httpx.Response(200, json=body)


async def test_login_then_list_with_the_new_session_then_log_out():
    server = Recorder(auth_ok({"email_gateways": ["read"]}), ok(), ok({"success": True}))
    assert await _log_in(server) == LIST
    assert server.actions() == [
        "panel/account/auth",
        "panel/gateways/email/list",
        "panel/account/logout",
    ]
    assert server.bodies() == [
        {"login": "dealer", "password": PASSWORD},
        {"hash": "1" * 32},
        {"hash": "1" * 32},
    ]


@pytest.mark.parametrize(
    ("permissions", "granted"),
    [
        ({"users": ["read"]}, "email_gateways grants nothing"),
        ({"email_gateways": []}, "email_gateways grants nothing"),
        ({"email_gateways": ["update", "send_email"]}, "grants update, send_email"),
    ],
)
async def test_login_without_read_permission_stops_before_listing(permissions, granted):
    server = Recorder(auth_ok(permissions), ok({"success": True}))
    with pytest.raises(PlatformError) as caught:
        await _log_in(server)
    assert "lacks the permission email_gateways: read" in str(caught.value)
    assert granted in str(caught.value)
    # The session it opened is closed again, and the list is never asked for.
    assert server.actions() == ["panel/account/auth", "panel/account/logout"]


async def test_login_answer_without_permissions_leaves_the_verdict_to_the_list_call():
    server = Recorder(auth_ok(), error(13, 403), ok({"success": True}))
    with pytest.raises(PlatformError, match="code 13"):
        await _log_in(server)
    assert server.actions()[1] == "panel/gateways/email/list"


async def test_login_answer_without_a_hash_is_an_error():
    server = Recorder(httpx.Response(200, json={"success": True, "permissions": {}}))
    with pytest.raises(PlatformError, match="carries no session hash"):
        await _log_in(server)


async def test_a_failing_logout_does_not_fail_the_run():
    server = Recorder(auth_ok({"email_gateways": ["read"]}), ok(), httpx.ConnectError("gone"))
    assert await _log_in(server) == LIST


SESSION = "2" * 32
_ECHO = f"{HASH} {SESSION} {PASSWORD}"
_ECHOING_ANSWERS = [  # (answer, whether the message quotes what the server said)
    (error(7, errors=[{"parameter": "hash", "error": f"{_ECHO} is wrong"}]), True),
    (
        httpx.Response(400, json={"success": False, "status": {"code": 250, "description": _ECHO}}),
        True,
    ),
    (httpx.Response(502, text=_ECHO), False),
    (httpx.Response(301, headers={"Location": f"https://x.test/?hash={_ECHO}"}), True),
]


@pytest.mark.parametrize(("answer", "quoted"), _ECHOING_ANSWERS)
@pytest.mark.parametrize("by_login", [False, True], ids=["hash", "login"])
async def test_messages_never_carry_the_secrets_even_when_the_server_echoes_them(
    answer, quoted, by_login
):
    if by_login:
        server = Recorder(auth_ok({"email_gateways": ["read"]}, session=SESSION), answer)
        credentials = Credentials(login="u", password=PASSWORD)
        secrets: tuple[str, ...] = (PASSWORD, SESSION)
    else:
        server, credentials, secrets = Recorder(answer), Credentials(session_hash=HASH), (HASH,)
    with pytest.raises(PlatformError) as caught:
        async with make_client(server, FakeTime(), policy=RetryPolicy(attempts=1)) as client:
            await client.fetch(credentials)
    exc = caught.value
    shown = " ".join([str(exc), repr(exc), repr(exc.args), repr(vars(exc))])
    assert ("***" in shown) is quoted  # what the server said reached the message, scrubbed
    for secret in secrets:
        assert secret not in shown
    # Not chained: httpx's exceptions keep the request, and so the body with the secrets.
    assert exc.__cause__ is None
    assert exc.__context__ is None


def test_reprs_never_carry_the_secrets():
    credentials = Credentials(session_hash=HASH)
    login = Credentials(login="dealer", password=PASSWORD)
    client = PlatformClient(BASE)
    shown = repr(credentials) + repr(login) + repr(client)
    assert HASH not in shown
    assert PASSWORD not in shown
    assert "dealer" in shown


@pytest.mark.parametrize(
    "options",
    [{}, {"session_hash": HASH, "login": "u", "password": "p"}, {"login": "u"}],
    ids=["neither", "both", "login-without-password"],
)
def test_credentials_need_exactly_one_way_in(options):
    with pytest.raises(UsageError):
        Credentials(**options)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:28:30 -0000", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header, expected):
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert retry_after_seconds(header, now=now) == expected


async def test_transport_errors_leave_no_chain_to_the_request():
    server = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(PlatformError) as caught:
        await fetch(server, policy=RetryPolicy(attempts=1))
    assert "cannot connect to panel.test" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.UnsupportedProtocol("no"), "cannot send the request to panel.test"),
        (httpx.ProxyError("proxy said no"), "cannot send the request to panel.test (ProxyError)"),
        (httpx.DecodingError("bad gzip"), "the request to panel.test failed (DecodingError)"),
    ],
)
async def test_failures_no_retry_can_mend(failure, expected):
    server = Recorder(failure)
    assert expected in await fetch_error(server)
    assert len(server.requests) == 1


async def test_an_answer_that_trickles_on_is_cut_at_the_deadline():
    # httpx bounds each read, not the whole answer; the client's own guard bounds that.
    async def trickle(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return ok()

    message = await fetch_error(trickle, deadline=0.01)
    assert "no answer within 0.01 s in all" in message


async def test_text_the_server_sends_is_flattened_into_one_line():
    description = "line one\nline two\x1b[31m red" + "x" * 500
    answer = httpx.Response(
        400, json={"success": False, "status": {"code": 250, "description": description}}
    )
    message = await fetch_error(Recorder(answer))
    assert "\n" not in message
    assert "\x1b" not in message
    assert "(line one line two [31m red" in message
    assert message.endswith("…)")


async def test_a_secret_cut_by_the_length_limit_leaves_no_prefix_behind():
    description = "x" * 190 + HASH  # the limit would cut the hash in two
    answer = httpx.Response(
        400, json={"success": False, "status": {"code": 250, "description": description}}
    )
    message = await fetch_error(Recorder(answer))
    assert HASH[:8] not in message
    assert "***" in message
