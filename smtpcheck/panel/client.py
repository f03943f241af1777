"""Client of the Navixy panel API: log in, list the email gateways, log out again.

With `answers` and `body`, the only modules that import httpx. Transport errors, HTTP
statuses and the panel's ``status.code`` become a `PlatformError` in this package and nowhere
else, with a message written for people (`answers` words it). The session hash and the panel
password travel only in request bodies, and every message is scrubbed of them, so they reach
no output, log, repr or traceback. What a panel can cost is bounded: each answer is streamed
and cut past `API_ANSWER_LIMIT` decoded bytes, each try past its timeout, and no redirect is
followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import ssl
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from smtpcheck._version import __version__
from smtpcheck.defaults import API_ANSWER_LIMIT, API_TIMEOUT
from smtpcheck.errors import PlatformError
from smtpcheck.panel.answers import decode, panel_error, retry_after_seconds, transport_failure
from smtpcheck.panel.body import CODINGS, read_body, refusal, too_large
from smtpcheck.panel.credentials import Credentials

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

_LOGOUT_TIMEOUT = 5.0
# How much longer than its timeout one try may take in all: the margin lets httpx's own timeout
# of a phase (connect, one read), which names the phase, fire before the guard of the whole.
_GRACE = 0.5


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


class PlatformClient:
    """A connection to one panel API, to use as ``async with``.

    ``transport`` replaces the network (tests pass ``httpx.MockTransport``); ``sleep``, ``clock``
    and ``jitter`` replace the pauses between tries, the monotonic clock and the random source.
    Each request, answer included, takes at most ``timeout`` seconds (and a margin), and every
    request and pause of one `fetch` fits in ``deadline`` seconds (3 × ``timeout``). An answer
    larger than ``answer_limit`` bytes, decoded, is refused.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = API_TIMEOUT,
        deadline: float | None = None,
        answer_limit: int = API_ANSWER_LIMIT,
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
        self._limit = answer_limit
        self._policy = policy or RetryPolicy()
        self._sleep, self._clock, self._jitter = sleep, clock, jitter
        self._secrets: set[str] = set()
        self._http = httpx.AsyncClient(
            timeout=timeout,
            verify=verify,
            transport=transport,
            # Never followed: the hash would go with a 307 wherever the panel points. `answers`
            # says where it pointed instead.
            follow_redirects=False,
            headers={
                "User-Agent": f"smtpcheck/{__version__}",
                "Accept": "application/json",
                "Accept-Encoding": ", ".join(CODINGS),
            },
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
        # reason to fail a run that has its data, so every error is ignored. The answer changes
        # nothing either, so its body is never read: it cannot cost memory.
        with contextlib.suppress(httpx.HTTPError, TimeoutError):
            async with (
                asyncio.timeout(_LOGOUT_TIMEOUT),
                self._http.stream(
                    "POST", f"{self.base_url}/{LOGOUT_ACTION}", json={"hash": session}
                ),
            ):
                pass

    async def _call(self, action: str, body: dict[str, Any], deadline: float) -> dict[str, Any]:
        started = self._clock()
        for attempt in itertools.count(1):
            try:
                return await self._try(action, body, deadline)
            except PlatformError as caught:
                failure = caught
            pause = self._pause(attempt, failure)
            if isinstance(pause, float) and self._clock() + pause < deadline:
                await self._sleep(pause)
                continue
            if isinstance(pause, str):
                failure = failure.with_note(pause)
            if failure.retryable:
                tries = "1 try" if attempt == 1 else f"{attempt} tries"
                failure = failure.with_note(
                    f" (gave up after {tries} in {self._clock() - started:.1f} s)"
                )
            # Raised outside the except clause, so the error has no __context__: httpx's
            # exceptions hold the request with its body.
            raise failure
        raise AssertionError("unreachable")  # pragma: no cover

    def _pause(self, attempt: int, failure: PlatformError) -> float | str | None:
        """Return the pause before the next try, or why not to try again (None: nothing to say)."""
        if not failure.retryable or attempt >= self._policy.attempts:
            return None
        if failure.retry_after is not None:
            if failure.retry_after > self._policy.max_retry_after:
                return (
                    f"; the panel asks to wait {failure.retry_after:.0f} s, longer than "
                    f"smtpcheck waits ({self._policy.max_retry_after:g} s): try again later"
                )
            return failure.retry_after
        return self._policy.delay(attempt, jitter=self._jitter())

    async def _try(self, action: str, body: dict[str, Any], deadline: float) -> dict[str, Any]:
        url = f"{self.base_url}/{action}"
        remaining = deadline - self._clock()
        budget = max(0.001, min(self._timeout, remaining))
        try:
            # httpx bounds each phase (connect, each read); this guard bounds the whole
            # exchange, so a server that trickles its answer cannot outlast the budget.
            async with (
                asyncio.timeout(budget + _GRACE),
                self._http.stream("POST", url, json=body, timeout=budget) as response,
            ):
                content = await self._read(response, action)
        except TimeoutError:
            if remaining < self._timeout:
                error = self._error(action, f"no answer within {self._deadline:g} s in all")
            else:
                message = f"the panel took longer than {self._timeout:g} s to answer"
                error = panel_error(action, url, message, self._secrets, retryable=True)
        except httpx.HTTPError as exc:
            error = transport_failure(exc, action, url, self._secrets)
        else:
            return decode(response, content, action, self._secrets)
        raise error  # outside the except clause: no reference to httpx's exception survives

    async def _read(self, response: httpx.Response, action: str) -> bytearray:
        """Return the answer's body, decoded; refuse one the headers or its size rule out.

        Raises:
            PlatformError: a redirect, a body larger than the limit, or codings not read.
        """
        problem = refusal(response, self._limit, self._secrets)
        if problem is None:
            try:
                content = await read_body(response, self._limit)
            except zlib.error:
                problem = "the panel's answer does not decompress as its Content-Encoding says"
            else:
                if content is not None:
                    return content
                problem = too_large(self._limit)
        url = str(response.request.url)
        http = response.status_code
        raise panel_error(action, url, problem, self._secrets, retryable=False, http_status=http)

    def _error(self, action: str, message: str) -> PlatformError:
        """Return an error that trying again cannot mend."""
        url = f"{self.base_url}/{action}"
        return panel_error(action, url, message, self._secrets, retryable=False)


def fetch_gateway_list(
    base_url: str,
    credentials: Credentials,
    *,
    timeout: float = API_TIMEOUT,
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
