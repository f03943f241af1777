"""Client of the Navixy panel API: log in, list the email gateways, log out again.

The only module that imports httpx. Transport errors, HTTP statuses and the panel's
``status.code`` become a `PlatformError` here and nowhere else, with a message written for
people. The session hash and the panel password travel only in request bodies, and every message
is scrubbed of them, so they reach no output, log, repr or traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from smtpcheck._version import __version__
from smtpcheck.errors import PlatformError, UsageError

__all__ = [
    "AUTH_ACTION",
    "LIST_ACTION",
    "LOGOUT_ACTION",
    "Credentials",
    "PlatformClient",
    "RetryPolicy",
    "fetch_gateway_list",
    "retry_after_seconds",
]

AUTH_ACTION = "panel/account/auth"
LIST_ACTION = "panel/gateways/email/list"
LOGOUT_ACTION = "panel/account/logout"

_NOT_A_PANEL = "; is --api-url a panel API base such as https://api.eu.navixy.com/v2?"
# Transient by their documented meaning: database error, unexpected error, "queue service error,
# try again later", database unavailable, too many requests.
_TRANSIENT_CODES = frozenset({1, 6, 8, 14, 15})
_SIGN_IN_AGAIN = "log in again (a panel session lasts 24 hours)"
_MESSAGES = {
    2: "the panel refused the service credentials (code 2)",
    3: "the panel rejected the session hash (code 3): check --hash or NAVIXY_HASH",
    4: f"session hash invalid or expired (code 4): {_SIGN_IN_AGAIN}",
    11: "login refused (code 11): access denied, the dealer account is blocked",
    12: "login refused (code 12): no such dealer, or a wrong password; check --login and "
    "NAVIXY_PASSWORD",
    13: "the panel account lacks the permission email_gateways: read (code 13)",
    15: "rate limited by the panel API (code 15)",
    101: "the panel is in demo mode, which disables this function (code 101)",
    102: "login refused (code 102): wrong login or password",
    111: "the API does not know {action} (code 111)" + _NOT_A_PANEL,
    112: "the API does not know {action} (code 112)" + _NOT_A_PANEL,
}
_LOGOUT_TIMEOUT = 5.0

_E = TypeVar("_E", bound=BaseException)


@dataclass(frozen=True, slots=True)
class Credentials:
    """How to open a panel session: an existing session hash, or a login and its password."""

    session_hash: str | None = field(default=None, repr=False)
    login: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.session_hash is None) == (self.login is None):
            raise UsageError("give either a panel session hash or a panel login")
        if self.login is not None and not self.password:
            raise UsageError("a panel login needs its password")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Return the values no message may show."""
        return tuple(s for s in (self.session_hash, self.password) if s)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Which failures are tried again, and how patiently: bounded exponential backoff."""

    attempts: int = 4  # tries of one request, the first included
    first_delay: float = 0.5  # seconds before the first retry, doubled for each further one
    max_delay: float = 8.0  # the longest pause of the backoff
    max_retry_after: float = 30.0  # the longest Retry-After obeyed; a longer one ends the run

    def delay(self, attempt: int, *, jitter: float) -> float:
        """Return the pause after failed try ``attempt`` (from 1); ``jitter`` is in [0, 1)."""
        ceiling = min(self.max_delay, self.first_delay * 2.0 ** (attempt - 1))
        # Half fixed, so tries stay spaced out; half random, so the cron jobs of many hosts
        # started in the same minute do not retry in lockstep.
        return ceiling / 2 * (1 + jitter)


def retry_after_seconds(value: str, *, now: datetime) -> float | None:
    """Return the wait a ``Retry-After`` header asks for (delay-seconds or an HTTP date).

    None when the header is malformed; a date in the past means no wait.
    """
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322, but parsed as naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class _Failure(Exception):
    """One try failed; ``retry`` says whether another try can help."""

    def __init__(
        self,
        message: str,
        *,
        retry: bool,
        retry_after: float | None = None,
        status_code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.retry_after = retry_after
        self.status_code = status_code
        self.http_status = http_status


class PlatformClient:
    """A connection to one panel API, to use as ``async with``.

    ``transport`` replaces the network (tests pass ``httpx.MockTransport``); ``sleep``, ``clock``
    and ``jitter`` replace the pauses between tries, the monotonic clock and the random source.
    Every request and pause of one `fetch` fits in ``deadline`` seconds (3 × ``timeout``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 20.0,
        deadline: float | None = None,
        policy: RetryPolicy | None = None,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._deadline = deadline if deadline is not None else 3 * timeout
        self._policy = policy or RetryPolicy()
        self._sleep, self._clock, self._jitter = sleep, clock, jitter
        self._secrets: set[str] = set()
        self._http = httpx.AsyncClient(
            timeout=timeout,
            verify=verify,
            transport=transport,
            follow_redirects=False,  # a redirected POST loses its body; say where to go instead
            headers={"User-Agent": f"smtpcheck/{__version__}", "Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"PlatformClient({self.base_url!r})"

    async def __aenter__(self) -> PlatformClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()

    async def fetch(self, credentials: Credentials) -> dict[str, Any]:
        """Return the panel's ``gateways/email/list`` response, logging in first if asked to.

        A session this call opens with a login, it also closes.

        Raises:
            PlatformError: the API could not be reached, refused the session or the login,
                the account may not read email gateways, or the answer is not the API's.
        """
        self._secrets.update(credentials.secrets)
        deadline = self._clock() + self._deadline
        if credentials.session_hash is not None:
            return await self._call(LIST_ACTION, {"hash": credentials.session_hash}, deadline)
        login = {"login": credentials.login, "password": credentials.password}
        answer = await self._call(AUTH_ACTION, login, deadline)
        session = answer.get("hash")
        if not isinstance(session, str) or not session:
            raise self._error(AUTH_ACTION, "the login answer carries no session hash")
        self._secrets.add(session)
        try:
            self._require_read(answer.get("permissions"))
            return await self._call(LIST_ACTION, {"hash": session}, deadline)
        finally:
            await self._log_out(session)

    def _require_read(self, permissions: object) -> None:
        # An answer without a permissions object at all cannot be judged here: the list call
        # is then refused with code 13 if the session may not read.
        if not isinstance(permissions, dict):
            return
        granted = permissions.get("email_gateways")
        # The API spec: "Treat an absent category as granting nothing."
        if isinstance(granted, list) and "read" in granted:
            return
        has = ", ".join(map(str, granted)) if isinstance(granted, list) and granted else "nothing"
        raise self._error(
            AUTH_ACTION,
            f"logged in, but the account lacks the permission email_gateways: read "
            f"(email_gateways grants {has}); ask the panel owner for it",
        )

    async def _log_out(self, session: str) -> None:
        # The session would expire by itself within 24 hours; failing to end it early is no
        # reason to fail a run that has its data, so every error is ignored.
        with contextlib.suppress(httpx.HTTPError, TimeoutError):
            async with asyncio.timeout(_LOGOUT_TIMEOUT):
                await self._http.post(f"{self.base_url}/{LOGOUT_ACTION}", json={"hash": session})

    async def _call(self, action: str, body: dict[str, Any], deadline: float) -> dict[str, Any]:
        started = self._clock()
        for attempt in itertools.count(1):
            try:
                return await self._try(action, body, deadline)
            except _Failure as caught:
                failure = caught
            pause = self._pause(attempt, failure)
            if pause is not None and self._clock() + pause < deadline:
                await self._sleep(pause)
                continue
            message = failure.message
            if failure.retry:
                tries = "1 try" if attempt == 1 else f"{attempt} tries"
                message += f" (gave up after {tries} in {self._clock() - started:.1f} s)"
            # Raised outside the except clause, so the error has no __context__: the failure
            # holds the unscrubbed text, and httpx's exceptions the request with its body.
            raise self._error(
                action, message, status_code=failure.status_code, http_status=failure.http_status
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _pause(self, attempt: int, failure: _Failure) -> float | None:
        """Return how long to wait before the next try, or None when trying again cannot help."""
        if not failure.retry or attempt >= self._policy.attempts:
            return None
        if failure.retry_after is not None:
            if failure.retry_after > self._policy.max_retry_after:
                failure.message += (
                    f"; the panel asks to wait {failure.retry_after:.0f} s, longer than "
                    f"smtpcheck waits ({self._policy.max_retry_after:g} s): try again later"
                )
                return None
            return failure.retry_after
        return self._policy.delay(attempt, jitter=self._jitter())

    async def _try(self, action: str, body: dict[str, Any], deadline: float) -> dict[str, Any]:
        url = f"{self.base_url}/{action}"
        remaining = deadline - self._clock()
        try:
            # httpx bounds each phase (connect, each read); the outer guard bounds the whole
            # exchange, so a server that trickles its answer cannot outlast the deadline.
            async with asyncio.timeout(remaining + 1.0):
                response = await self._http.post(
                    url, json=body, timeout=max(0.001, min(self._timeout, remaining))
                )
        except TimeoutError:
            failure = _Failure(f"no answer within {self._deadline:g} s in all", retry=False)
        except httpx.HTTPError as exc:
            failure = _transport_failure(exc, url)
        else:
            return _decode(response, action, self._secrets)
        raise failure  # outside the except clause: no reference to httpx's exception survives

    def _error(
        self,
        action: str,
        message: str,
        *,
        status_code: int | None = None,
        http_status: int | None = None,
    ) -> PlatformError:
        text = f"{action}: {message}"
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return PlatformError(
            text,
            url=f"{self.base_url}/{action}",
            status_code=status_code,
            http_status=http_status,
        )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield the exception, then its causes and contexts, each once (chains can loop)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """Return the first exception of ``kind`` in the chain of causes and contexts."""
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _innermost_os_error(exc: BaseException) -> OSError | None:
    errors = [e for e in _chain(exc) if isinstance(e, OSError)]
    return errors[-1] if errors else None


def _transport_failure(exc: httpx.HTTPError, url: str) -> _Failure:
    """Name what went wrong below HTTP; connection trouble and timeouts are worth a retry."""
    parts = httpx.URL(url)
    host, where = parts.host, parts.netloc.decode("ascii")
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting to",
            httpx.WriteTimeout: "sending to",
            httpx.PoolTimeout: "waiting to connect to",
        }.get(type(exc), "waiting for the answer of")
        return _Failure(f"timed out {phase} {where}", retry=True)
    tls = _cause(exc, ssl.SSLError)
    if tls is not None:
        return _Failure(_tls_message(host, tls), retry=False)  # retrying cannot fix a certificate
    dns = _cause(exc, socket.gaierror)
    if dns is not None:
        # Only EAI_AGAIN ("temporary failure in name resolution") can go away by itself.
        return _Failure(
            f"cannot resolve {host}: {dns.strerror}", retry=dns.errno == socket.EAI_AGAIN
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        return _Failure(f"{where} closed the connection without a proper answer", retry=True)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError):
        return _Failure(f"cannot send the request to {where} ({type(exc).__name__})", retry=False)
    if isinstance(exc, httpx.TransportError):
        os_error = _innermost_os_error(exc)
        detail = os.strerror(os_error.errno).lower() if os_error and os_error.errno else "failed"
        return _Failure(f"cannot connect to {where}: {detail}", retry=True)
    return _Failure(f"the request to {where} failed ({type(exc).__name__})", retry=False)


def _tls_message(host: str, error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        # verify_message is set by the ssl module; an error built elsewhere may lack it.
        detail = getattr(error, "verify_message", None) or "certificate verify failed"
        return (
            f"TLS certificate of {host} is not trusted ({detail}); for a panel "
            "with a private CA, set SSL_CERT_FILE to its CA bundle"
        )
    reason = getattr(error, "reason", None) or type(error).__name__
    hint = ""
    if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL"):
        hint = "; does this port speak plain HTTP? then the URL starts with http://"
    return f"TLS handshake with {host} failed ({reason}){hint}"


def _decode(response: httpx.Response, action: str, secrets: Collection[str]) -> dict[str, Any]:
    """Return a successful answer's data; raise `_Failure` named by the panel's status code."""
    http = response.status_code
    transient = http >= 500 or http == 429
    header = response.headers.get("Retry-After")
    wait = retry_after_seconds(header, now=datetime.now(UTC)) if header else None
    try:
        data = json.loads(response.content)
    except ValueError:  # also UnicodeDecodeError
        data = None
    if not isinstance(data, dict):
        raise _Failure(
            _not_json(response, data, secrets),
            retry=transient,
            retry_after=wait,
            http_status=http,
        )
    if data.get("success") is True and response.is_success:
        return data
    status = data.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        if http == 429:
            message = "rate limited by the panel API (HTTP 429)"
        else:
            message = f"HTTP {http}, and the answer carries no panel status code{_NOT_A_PANEL}"
        raise _Failure(message, retry=transient, retry_after=wait, http_status=http)
    assert isinstance(status, dict)
    raise _Failure(
        _describe(code, status, data, action, secrets),
        retry=transient or code in _TRANSIENT_CODES,
        retry_after=wait,
        status_code=code,
        http_status=http,
    )


def _not_json(response: httpx.Response, data: object, secrets: Collection[str]) -> str:
    http = response.status_code
    if response.is_redirect and "Location" in response.headers:
        return (
            f"HTTP {http}: the API moved to {_quoted(response.headers['Location'], secrets)}; "
            "give its base URL as --api-url"
        )
    if http == 429:
        return "rate limited by the panel API (HTTP 429)"
    content_type = response.headers.get("Content-Type", "")
    if "html" in content_type or response.content.lstrip()[:1] == b"<":
        what = "an HTML page"
    elif not response.content.strip():
        what = "an empty body"
    elif data is not None:
        what = "JSON that is not an object"
    else:
        what = "a body that is not JSON"
    hint = "" if http >= 500 else _NOT_A_PANEL
    return f"HTTP {http} with {what} instead of a panel API answer{hint}"


def _describe(
    code: int, status: dict[str, Any], data: dict[str, Any], action: str, secrets: Collection[str]
) -> str:
    # Keyed by the code alone: the docs warn that descriptions change.
    if code == 7:
        problems = [
            f"{item.get('parameter')}: {item.get('error')}"
            for item in data.get("errors") or ()
            if isinstance(item, dict)
        ]
        detail = f": {_quoted('; '.join(problems), secrets)}" if problems else ""
        return f"the panel rejected the request parameters (code 7){detail}"
    if code in _MESSAGES:
        return _MESSAGES[code].format(action=action)
    description = status.get("description")
    said = (
        f" ({_quoted(description, secrets)})"
        if isinstance(description, str) and description
        else ""
    )
    return f"the panel refused the request with code {code}{said}"


def _quoted(text: str, secrets: Collection[str], limit: int = 200) -> str:
    """Return server-sent text fit for a one-line message: scrubbed, printable, bounded."""
    # Scrubbed first: flattening could change a secret with spaces in it, and cutting could
    # leave a prefix of one that no longer matches.
    for secret in secrets:
        text = text.replace(secret, "***")
    # A newline would break the one-line contract, an escape sequence would reach the terminal.
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def fetch_gateway_list(
    base_url: str,
    credentials: Credentials,
    *,
    timeout: float = 20.0,
    verify: ssl.SSLContext | bool = True,
) -> dict[str, Any]:
    """Fetch the panel's gateway list response: the synchronous entry point.

    Raises:
        PlatformError: as `PlatformClient.fetch`.
    """

    async def run() -> dict[str, Any]:
        async with PlatformClient(base_url, timeout=timeout, verify=verify) as client:
            return await client.fetch(credentials)

    return asyncio.run(run())
