"""The panel API client against a real local HTTP(S) server that follows the documented contract.

Retries, timeouts, refused connections and TLS failures happen on real sockets here. Where only the
pauses between tries are of interest, they are recorded instead of slept; the timeout tests sleep
for real and assert only upper bounds (that a bound holds), never speed.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from typing import Any

import pytest

from smtpcheck.errors import PlatformError
from smtpcheck.panel.client import Credentials, PlatformClient, RetryPolicy
from tests.platform.conftest import GATEWAY_LIST, PANEL_LOGIN, PANEL_PASSWORD, SESSION_HASH
from tests.support.panel import (
    PanelServer,
    drop,
    html_page,
    panel_error,
    raw,
    slow,
)

BY_HASH = Credentials(session_hash=SESSION_HASH)
BY_LOGIN = Credentials(login=PANEL_LOGIN, password=PANEL_PASSWORD)
QUICK = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05)


class Pauses:
    """Records the pauses the client asks for instead of sleeping them."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


async def fetch(url: str, credentials: Credentials = BY_HASH, **options: Any) -> dict[str, Any]:
    async with PlatformClient(url, **options) as client:
        return await client.fetch(credentials)


async def fetch_error(
    url: str, credentials: Credentials = BY_HASH, **options: Any
) -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        await fetch(url, credentials, **options)
    return caught.value


def _expected_list() -> dict[str, Any]:
    return {"success": True, **GATEWAY_LIST}


async def test_list_with_a_session_hash(panel: PanelServer):
    assert await fetch(panel.url) == _expected_list()
    (request,) = panel.requests
    assert request.method == "POST"
    assert request.target == "/v2/panel/gateways/email/list"
    assert json.loads(request.body) == {"hash": SESSION_HASH}
    assert SESSION_HASH not in json.dumps(request.headers)


async def test_base_url_with_trailing_slash_works(panel: PanelServer):
    assert await fetch(panel.url + "/") == _expected_list()


@pytest.mark.parametrize(
    ("session", "code", "expected"),
    [
        ("not-a-hash", 3, "rejected the session hash (code 3)"),
        ("0" * 32, 4, "session hash invalid or expired (code 4): log in again"),
    ],
    ids=["wrong-hash", "unknown-hash"],
)
async def test_a_bad_session_hash_is_refused_without_retrying(panel, session, code, expected):
    error = await fetch_error(panel.url, Credentials(session_hash=session))
    assert expected in str(error)
    assert (error.status_code, error.http_status) == (code, 400)
    assert len(panel.requests) == 1


async def test_an_expired_session_says_log_in_again(panel: PanelServer):
    del panel.sessions[SESSION_HASH]  # what the panel does 24 hours after login
    error = await fetch_error(panel.url)
    assert str(error) == (
        "panel/gateways/email/list: session hash invalid or expired (code 4): "
        "log in again (a panel session lasts 24 hours)"
    )


async def test_a_session_without_the_read_permission_gets_code_13(panel: PanelServer):
    panel.sessions[SESSION_HASH] = {"email_gateways": ["update"]}
    error = await fetch_error(panel.url)
    assert "lacks the permission email_gateways: read (code 13)" in str(error)
    assert (error.status_code, error.http_status) == (13, 403)


async def test_login_then_list_then_logout(panel: PanelServer):
    assert await fetch(panel.url, BY_LOGIN) == _expected_list()
    assert panel.actions() == [
        "panel/account/auth",
        "panel/gateways/email/list",
        "panel/account/logout",
    ]
    auth, listing, _ = (json.loads(r.body) for r in panel.requests)
    assert auth == {"login": PANEL_LOGIN, "password": PANEL_PASSWORD}
    assert listing["hash"] != SESSION_HASH
    assert list(panel.sessions) == [SESSION_HASH]  # the new session is closed again


@pytest.mark.parametrize("code", [12, 102])
async def test_login_refused(panel: PanelServer, code: int):
    panel.login_failure_code = code
    error = await fetch_error(panel.url, Credentials(login=PANEL_LOGIN, password="wrong"))
    assert f"panel/account/auth: login refused (code {code})" in str(error)
    assert panel.actions() == ["panel/account/auth"]


async def test_login_of_a_blocked_dealer(panel: PanelServer):
    panel.add_account("blocked", "pw", blocked=True)
    error = await fetch_error(panel.url, Credentials(login="blocked", password="pw"))
    assert "login refused (code 11): access denied" in str(error)
    assert error.http_status == 403


async def test_login_whose_permissions_lack_email_gateways(panel: PanelServer):
    panel.add_account("reports", "pw", {"reports": ["read"], "users": ["read", "update"]})
    error = await fetch_error(panel.url, Credentials(login="reports", password="pw"))
    assert "lacks the permission email_gateways: read (email_gateways grants nothing)" in str(error)
    assert panel.actions() == ["panel/account/auth", "panel/account/logout"]
    assert list(panel.sessions) == [SESSION_HASH]


async def test_rate_limited_then_served_after_retry_after(panel: PanelServer):
    panel.faults.append(panel_error(15, "Too many requests", retry_after="1"))
    pauses = Pauses()
    assert await fetch(panel.url, sleep=pauses) == _expected_list()
    assert pauses.seconds == [1.0]
    assert len(panel.requests) == 2


async def test_plain_http_429_with_retry_after_is_honoured(panel: PanelServer):
    panel.faults.append(raw(429, b"slow down", ("Retry-After", "2")))
    pauses = Pauses()
    assert await fetch(panel.url, sleep=pauses) == _expected_list()
    assert pauses.seconds == [2.0]


async def test_server_errors_several_times_then_give_up(panel: PanelServer):
    panel.faults.extend([panel_error(1, "Database error")] * 5)
    error = await fetch_error(panel.url, policy=QUICK)
    assert len(panel.requests) == 3
    assert "refused the request with code 1 (Database error)" in str(error)
    assert "gave up after 3 tries" in str(error)
    assert error.http_status == 500


async def test_server_errors_then_success(panel: PanelServer):
    panel.faults.extend([html_page(502), panel_error(8, "Queue service error"), drop()])
    assert await fetch(panel.url, policy=RetryPolicy(attempts=4, first_delay=0.01)) == (
        _expected_list()
    )
    assert len(panel.requests) == 4


async def test_a_slow_answer_times_out_and_is_retried(panel: PanelServer):
    panel.faults.extend([slow(10)] * 3)
    started = time.monotonic()
    error = await fetch_error(panel.url, timeout=0.2, policy=QUICK)
    elapsed = time.monotonic() - started
    assert "timed out waiting for the answer of 127.0.0.1:" in str(error)
    assert "gave up after 3 tries" in str(error)
    assert len(panel.requests) == 3
    assert elapsed < 5  # three timeouts of 0.2 s, nowhere near the server's 10 s


async def test_a_slow_answer_after_a_timeout_is_served_on_retry(panel: PanelServer):
    panel.faults.append(slow(10))
    assert await fetch(panel.url, timeout=0.2, policy=QUICK) == _expected_list()
    assert len(panel.requests) == 2


async def test_the_deadline_bounds_every_try_together(panel: PanelServer):
    panel.faults.extend([slow(10)] * 100)
    policy = RetryPolicy(attempts=100, first_delay=0.01, max_delay=0.01)
    started = time.monotonic()
    await fetch_error(panel.url, timeout=0.3, deadline=1.0, policy=policy)
    assert time.monotonic() - started < 3  # the deadline of 1 s, plus scheduling slack
    assert len(panel.requests) < 100


async def test_malformed_json_is_not_retried(panel: PanelServer):
    panel.faults.append(
        raw(200, b'{"success": true, "own": [', ("Content-Type", "application/json"))
    )
    error = await fetch_error(panel.url, policy=QUICK)
    assert "HTTP 200 with a body that is not JSON instead of a panel API answer" in str(error)
    assert len(panel.requests) == 1


async def test_an_html_error_page_is_named(panel: PanelServer):
    panel.faults.extend([html_page(503)] * 3)
    error = await fetch_error(panel.url, policy=QUICK)
    assert "HTTP 503 with an HTML page instead of a panel API answer" in str(error)
    assert len(panel.requests) == 3


async def test_a_url_that_is_not_the_api_says_so(panel: PanelServer):
    base = panel.url.removesuffix("/v2") + "/v1"  # the server's own 404 page
    error = await fetch_error(base, policy=QUICK)
    assert "HTTP 404 with an HTML page" in str(error)
    assert "is --api-url a panel API base" in str(error)
    assert len(panel.requests) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_refused_connection_is_retried_then_named():
    port = _closed_port()
    pauses = Pauses()
    error = await fetch_error(f"http://127.0.0.1:{port}/v2", sleep=pauses, policy=QUICK)
    assert f"cannot connect to 127.0.0.1:{port}: connection refused" in str(error)
    assert len(pauses.seconds) == 2


async def test_an_unresolvable_host_is_named_and_not_retried():
    pauses = Pauses()
    error = await fetch_error("http://panel.invalid/v2", sleep=pauses, policy=QUICK)
    assert "cannot resolve panel.invalid" in str(error)
    assert pauses.seconds == []


async def test_https_with_a_trusted_certificate(tls_panel: PanelServer, client_tls):
    assert await fetch(tls_panel.url, verify=client_tls) == _expected_list()


async def test_an_untrusted_certificate_is_named_and_not_retried(tls_panel: PanelServer):
    pauses = Pauses()
    error = await fetch_error(tls_panel.url, sleep=pauses, policy=QUICK)
    assert "TLS certificate of 127.0.0.1 is not trusted" in str(error)
    assert "SSL_CERT_FILE" in str(error)
    assert pauses.seconds == []
    assert tls_panel.connections == 1
    assert tls_panel.requests == []


async def test_https_to_a_plain_http_port(panel: PanelServer, client_tls: ssl.SSLContext):
    url = panel.url.replace("http://", "https://")
    error = await fetch_error(url, verify=client_tls, policy=QUICK)
    assert "TLS handshake with 127.0.0.1 failed" in str(error)
    assert "plain HTTP" in str(error)
