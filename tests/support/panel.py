"""A local stand-in for the Navixy panel API that follows its documented contract.

It listens on 127.0.0.1 port 0 in a thread, over HTTP or (given a server context) HTTPS. Accounts,
sessions and the gateway list are plain attributes a test sets. ``faults`` holds scripted answers
(an HTTP status, an HTML page, a delay, a dropped connection) served, one per request, before the
contract's own answer. Every request is recorded, body and headers included.

The contract, from the panel API reference: parameters come as a JSON body, a form or a query
string; errors are ``{"success": false, "status": {"code", "description"}}`` with HTTP 400 by
default (403 for codes 11 and 13, 429 for 15); a session hash is 32 hex digits; an account's
permissions map categories to actions, and an absent category grants nothing.
"""

from __future__ import annotations

import json
import re
import secrets
import ssl
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "READ",
    "Fault",
    "PanelServer",
    "Recorded",
    "drop",
    "html_page",
    "panel_error",
    "raw",
    "slow",
]

READ: Mapping[str, list[str]] = {"email_gateways": ["read"], "users": ["read"]}

_HASH = re.compile(r"[0-9a-f]{32}")
_HTTP_STATUS = {11: 403, 13: 403, 15: 429, 1: 500, 6: 500, 8: 503, 14: 503}


@dataclass(frozen=True)
class Fault:
    """One scripted answer; ``passthrough`` serves the contract's answer after the delay."""

    status: int = 500
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    passthrough: bool = False
    drop: bool = False


def panel_error(
    code: int,
    description: str = "error",
    *,
    http: int | None = None,
    retry_after: str | None = None,
    **extra: Any,
) -> Fault:
    """Return a documented error answer with the panel's HTTP status for the code."""
    body = {"success": False, "status": {"code": code, "description": description}, **extra}
    headers = [("Content-Type", "application/json")]
    if retry_after is not None:
        headers.append(("Retry-After", retry_after))
    return Fault(http or _HTTP_STATUS.get(code, 400), json.dumps(body).encode(), tuple(headers))


def html_page(status: int) -> Fault:
    """Return the kind of page a reverse proxy sends when the API behind it is down."""
    page = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
    return Fault(status, page.encode(), (("Content-Type", "text/html"),))


def raw(status: int, body: bytes, *headers: tuple[str, str]) -> Fault:
    """Return an answer exactly as given."""
    return Fault(status, body, headers)


def slow(delay: float) -> Fault:
    """Return the contract's own answer, but only after ``delay`` seconds."""
    return Fault(delay=delay, passthrough=True)


def drop() -> Fault:
    """Close the connection without answering."""
    return Fault(drop=True)


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]
    body: bytes

    @property
    def action(self) -> str:
        return urlsplit(self.target).path.removeprefix("/v2/").strip("/")


@dataclass
class _Account:
    password: str
    permissions: Mapping[str, list[str]]
    blocked: bool = False


@dataclass
class PanelServer:
    """The fake panel; start it with `running`."""

    gateways: dict[str, Any] = field(default_factory=dict)
    ssl_context: ssl.SSLContext | None = None
    login_failure_code: int = 12  # the docs show 12 for bad credentials; some installs say 102
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, Mapping[str, list[str]]] = field(default_factory=dict)
    accounts: dict[str, _Account] = field(default_factory=dict)
    connections: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _port: int = 0

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self._port}/v2"

    def add_session(self, permissions: Mapping[str, list[str]] = READ) -> str:
        session = secrets.token_hex(16)
        self.sessions[session] = permissions
        return session

    def add_account(
        self,
        login: str,
        password: str,
        permissions: Mapping[str, list[str]] = READ,
        *,
        blocked: bool = False,
    ) -> None:
        self.accounts[login] = _Account(password, permissions, blocked)

    def actions(self) -> list[str]:
        return [r.action for r in self.requests]

    @contextmanager
    def running(self) -> Iterator[PanelServer]:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.panel = self
        with serving(httpd, self._stop) as self._port:
            yield self

    # The contract -----------------------------------------------------------------------------

    def answer(self, action: str, params: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        if action == "panel/account/auth":
            return self._auth(params)
        if action == "panel/account/logout":
            session = params.get("hash", "")
            if session not in self.sessions:
                return _error(4, "User or API key not found or session ended")
            del self.sessions[session]
            return 200, {"success": True}
        if action == "panel/gateways/email/list":
            return self._list(params)
        return _error(111, "Wrong handler")

    def _auth(self, params: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        login, password = params.get("login"), params.get("password")
        if not login or not password:
            missing = [{"parameter": p, "error": "required"} for p in ("login", "password")]
            return _error(7, "Invalid parameters", errors=missing)
        account = self.accounts.get(login)
        if account is None or account.password != password:
            return _error(self.login_failure_code, "Wrong login or password")
        if account.blocked:
            return _error(11, "Access denied")
        session = self.add_session(account.permissions)
        return 200, {"success": True, "hash": session, "permissions": dict(account.permissions)}

    def _list(self, params: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        session = params.get("hash")
        if session is None:
            return _error(
                7, "Invalid parameters", errors=[{"parameter": "hash", "error": "required"}]
            )
        if session not in self.sessions:
            # A test may register a session under any string; what is unknown is judged by form.
            if not _HASH.fullmatch(session):
                return _error(3, "Wrong hash")
            return _error(4, "User or API key not found or session ended")
        if "read" not in self.sessions[session].get("email_gateways", []):
            return _error(13, "Operation not permitted")
        return 200, {"success": True, **self.gateways}


@contextmanager
def serving(httpd: ThreadingHTTPServer, stop: threading.Event) -> Iterator[int]:
    """Serve ``httpd`` in a thread while the context is open; yield its port.

    ``stop`` is set on the way out, which cuts a scripted pause short.
    """
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _error(code: int, description: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    body = {"success": False, "status": {"code": code, "description": description}, **extra}
    return _HTTP_STATUS.get(code, 400), body


class _Server(ThreadingHTTPServer):
    panel: PanelServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self.panel._lock:
            self.panel.connections += 1
        context = self.panel.ssl_context
        if context is None:
            super().finish_request(request, client_address)
            return
        try:
            tls = context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused the certificate or did not speak TLS
        with tls:
            super().finish_request(tls, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or hang up mid-answer are what several tests are about


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        panel = self.server.panel
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        record = Recorded(self.command, self.path, dict(self.headers.items()), body)
        with panel._lock:
            panel.requests.append(record)
            fault = panel.faults.popleft() if panel.faults else None
        if fault is not None and fault.delay and panel._stop.wait(fault.delay):
            return
        if fault is not None and fault.drop:
            self.close_connection = True
            return
        if fault is not None and not fault.passthrough:
            self._send(fault.status, fault.body, fault.headers)
            return
        path = urlsplit(self.path).path
        if not path.startswith("/v2/"):
            self._send(*_not_found())
            return
        status, answer = panel.answer(record.action, self._params(body))
        self._send(status, json.dumps(answer).encode(), (("Content-Type", "application/json"),))

    def _params(self, body: bytes) -> dict[str, str]:
        params = dict(parse_qsl(urlsplit(self.path).query))
        auth = self.headers.get("Authorization", "")
        if auth.startswith("NVX "):
            params["hash"] = auth.removeprefix("NVX ")
        if "json" in self.headers.get("Content-Type", ""):
            data = json.loads(body or b"{}")
            params.update({k: v for k, v in data.items() if isinstance(v, str)})
        else:
            params.update(parse_qsl(body.decode()))
        return params

    def _send(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _not_found() -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    fault = html_page(404)
    return fault.status, fault.body, fault.headers
