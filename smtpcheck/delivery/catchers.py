"""Clients of the four catchers' HTTP APIs: find a test message by its token, read it, delete it.

The only module of `delivery` that imports httpx; transport errors and HTTP statuses become a
`CatcherError` here and nowhere else. Every request has a timeout, follows no redirect and reads
at most ``answer_limit`` bytes; every search and listing asks for a page of a few messages, so a
catcher holding 100 000 costs no more than one holding ten. How each catcher is searched
(docs/catchers.md has the facts):

- Mailpit: ``/api/v1/search`` with ``message-id:`` (its search never sees custom headers).
- MailHog: ``/api/v2/search?kind=containing``, which sees every header value.
- maildev: the exact ``headers.x-smtpcheck-token`` filter (2.x at the root, 3.x under ``/api``).
- smtp4dev: ``searchTerms`` (subject and body only: the token must be in one of them), then a
  listing of the newest messages, each one's headers read, once.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from smtpcheck._version import __version__
from smtpcheck.delivery.found import Envelope, FoundMessage, found_in
from smtpcheck.delivery.target import (
    TOKEN_HEADER,
    CatcherError,
    CatcherTarget,
    Fix,
    valid_token,
)

__all__ = ["ANSWER_LIMIT", "TIMEOUT", "Catcher", "open_catcher"]

#: Seconds one request may take (each phase, and the whole of it with a small margin).
TIMEOUT = 10.0
#: The most bytes one answer may have: a page of messages, or one raw source.
ANSWER_LIMIT = 32 * 1024 * 1024
_GRACE = 0.5
_CANDIDATES = 10  # search hits read per poll: a token matches one message, a few at most
_SCAN = 20  # smtp4dev's newest messages looked through when its search finds nothing
_REMEMBERED = 1000  # smtp4dev ids known not to match, kept so each is read only once

_Params = Mapping[str, str | int]


class Catcher(Protocol):
    """One catcher's API: what `--expect-delivery` polls. Use as ``async with``."""

    target: CatcherTarget

    async def find(self, token: str) -> FoundMessage | None:
        """Return the message carrying ``token``, or None when the catcher holds none (yet)."""
        ...

    async def delete(self, found: FoundMessage) -> None:
        """Delete ``found``; one already gone is not an error."""
        ...

    async def reachable(self) -> None:
        """Return once the catcher answers its health route; raise `CatcherError` otherwise."""
        ...

    async def __aenter__(self) -> Catcher: ...

    async def __aexit__(self, *exc_info: object) -> None: ...


def open_catcher(
    target: CatcherTarget,
    *,
    timeout: float = TIMEOUT,
    answer_limit: int = ANSWER_LIMIT,
    verify: ssl.SSLContext | bool = True,
) -> Catcher:
    """Return the client of ``target``'s kind (``verify``: an `ssl.SSLContext` for https)."""
    api = _Api(target, timeout=timeout, answer_limit=answer_limit, verify=verify)
    kinds: dict[str, type[_Mailpit | _MailHog | _Maildev | _Smtp4dev]] = {
        "mailpit": _Mailpit,
        "mailhog": _MailHog,
        "maildev": _Maildev,
        "smtp4dev": _Smtp4dev,
    }
    return kinds[target.kind](api)


class _Api:
    """HTTP to one catcher: bounded, timed, never redirected; failures become CatcherError."""

    def __init__(
        self,
        target: CatcherTarget,
        *,
        timeout: float,
        answer_limit: int,
        verify: ssl.SSLContext | bool,
    ) -> None:
        self.target = target
        self._timeout, self._limit = timeout, answer_limit
        auth = None
        if target.username is not None:
            auth = httpx.BasicAuth(target.username, target.password or "")
        self._http = httpx.AsyncClient(
            auth=auth,
            timeout=timeout,
            verify=verify,
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would see the catcher's credentials
            # Identity only: the body is counted as it arrives, never inflated past the limit.
            headers={"User-Agent": f"smtpcheck/{__version__}", "Accept-Encoding": "identity"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: _Params | None = None,
        body: Any = None,
        accept: Iterable[int] = (200,),
    ) -> tuple[int, bytes]:
        """Return the status and body of an answer whose status is in ``accept``."""
        url = f"{self.target.base_url}/{path}"
        try:
            async with asyncio.timeout(self._timeout + _GRACE):
                return await self._send(method, url, path, params, body, set(accept))
        except (httpx.TimeoutException, TimeoutError):
            raise self._down(f"did not answer within {self._timeout:g} s") from None
        except httpx.ConnectError as exc:
            reason = self.target.mask(str(exc)) or "refused"
            raise self._down(f"cannot connect ({reason})") from None
        except httpx.HTTPError as exc:
            raise self._down(f"the connection failed ({type(exc).__name__})") from None

    async def json(self, path: str, params: _Params | None = None) -> Any:
        _, data = await self.call("GET", path, params=params)
        try:
            return json.loads(data)
        except ValueError:
            raise self.error(
                f"answered {path} with something that is not JSON: is it {self.target.kind}? "
                "Check the URL's kind and base path",
                Fix.URL,
            ) from None

    async def _send(
        self,
        method: str,
        url: str,
        path: str,
        params: _Params | None,
        body: Any,
        accept: set[int],
    ) -> tuple[int, bytes]:
        async with self._http.stream(method, url, params=params, json=body) as answer:
            self._judge(answer, path, accept)
            data = bytearray()
            async for chunk in answer.aiter_raw():
                data += chunk
                if len(data) > self._limit:
                    raise self.error(
                        f"answered {path} with more than {self._limit} bytes; not read",
                        Fix.CATCHER,
                    )
            return answer.status_code, bytes(data)

    def _judge(self, answer: httpx.Response, path: str, accept: set[int]) -> None:
        status = answer.status_code
        if status in (401, 403) and status not in accept:
            given = "are refused" if self.target.username else "are needed"
            raise self.error(
                f"answered HTTP {status}: credentials {given}; give the catcher's web user "
                "in the URL (user@) and its password there or in the variable "
                "--delivery-password-env names",
                Fix.CREDENTIALS,
                status,
            )
        if answer.is_redirect:
            where = self.target.mask(answer.headers.get("Location", "?"))
            raise self.error(
                f"answered HTTP {status} for {path}, pointing to {where}: not followed; "
                "give the base path it points to in the URL",
                Fix.URL,
                status,
            )
        if status == 404 and 404 not in accept:
            raise self.error(
                f"answered HTTP 404 for {path}: no {self.target.kind} API there; check the "
                "URL's kind, port and base path",
                Fix.URL,
                status,
            )
        if status not in accept:
            raise self.error(f"answered HTTP {status} for {path}", Fix.CATCHER, status)
        coding = answer.headers.get("Content-Encoding", "identity").strip().lower()
        if coding not in ("", "identity"):
            raise self.error(f"answered {path} encoded as {coding}, not asked for", Fix.CATCHER)

    def error(self, what: str, fix: Fix, status: int | None = None) -> CatcherError:
        target = self.target
        return CatcherError(
            f"{target.kind} at {target.display} {what}",
            url=target.display,
            fix=fix,
            http_status=status,
        )

    def _down(self, what: str) -> CatcherError:
        return self.error(
            f"{what}: is {self.target.kind} running and listening there? Check the URL's host "
            "and port",
            Fix.RUNNING,
        )


class _Client:
    """What every client shares: the API, and closing it."""

    def __init__(self, api: _Api) -> None:
        self._api = api
        self.target = api.target

    async def __aenter__(self) -> Catcher:
        return self  # type: ignore[return-value]  # each subclass completes the protocol

    async def __aexit__(self, *exc_info: object) -> None:
        await self._api.aclose()

    def _found(
        self, id_: str, raw: bytes, token: str, envelope: Envelope | None = None
    ) -> FoundMessage | None:
        return found_in(self.target.kind, id_, raw, token, envelope)


class _Mailpit(_Client):
    """Mailpit API v1: search by Message-ID (custom headers are not indexed), raw source."""

    async def find(self, token: str) -> FoundMessage | None:
        # limit=0 would be an empty page on /search (and "everything" on /messages): never 0.
        query: _Params = {
            "query": f"message-id:smtpcheck.{valid_token(token)}",
            "limit": _CANDIDATES,
        }
        page = await self._api.json("api/v1/search", query)
        for summary in _items(page, "messages")[:_CANDIDATES]:
            id_ = _text(summary.get("ID"))
            if not id_:
                continue
            status, raw = await self._api.call(
                "GET", f"api/v1/message/{quote(id_, safe='')}/raw", accept=(200, 404)
            )
            found = self._found(id_, raw, token) if status == 200 else None
            if found is not None:
                return found
        return None

    async def delete(self, found: FoundMessage) -> None:
        # An empty or invalid body deletes *every* message: never send one without the id.
        if not found.id:
            raise ValueError("a message without an id cannot be deleted")
        await self._api.call("DELETE", "api/v1/messages", body={"IDs": [found.id]})

    async def reachable(self) -> None:
        await self._api.call("GET", "readyz")


class _MailHog(_Client):
    """MailHog: APIv2 search over header values, the bytes in ``Raw.Data``, APIv1 delete."""

    async def find(self, token: str) -> FoundMessage | None:
        query: _Params = {"kind": "containing", "query": valid_token(token), "limit": _CANDIDATES}
        page = await self._api.json("api/v2/search", query)
        for item in _items(page, "items")[:_CANDIDATES]:
            raw_part = _dict(item.get("Raw"))
            data, id_ = raw_part.get("Data"), _text(item.get("ID"))
            if not (isinstance(data, str) and id_):
                continue
            to = raw_part.get("To")
            found = self._found(
                id_,
                data.encode("utf-8", "surrogateescape"),
                token,
                Envelope(
                    _text(raw_part.get("From")),
                    tuple(_text(r) for r in to) if isinstance(to, list) else (),
                ),
            )
            if found is not None:
                return found
        return None

    async def delete(self, found: FoundMessage) -> None:
        path = f"api/v1/messages/{quote(found.id, safe='')}"
        status, _ = await self._api.call("DELETE", path, accept=(200, 500))
        # An unknown id answers 500, like a real failure: gone is told by the GET, whose answer
        # for an unknown id is `null`.
        if status == 500 and await self._api.json(path) is not None:
            raise self._api.error(f"answered HTTP 500 deleting {found.id}", Fix.CATCHER, 500)

    async def reachable(self) -> None:
        # No health route: the smallest listing stands in for one.
        await self._api.json("api/v2/messages", {"limit": 1})


class _Maildev(_Client):
    """maildev: the exact header filter, ``/source`` bytes; routes under ``/api`` from 3.0."""

    _prefix: str | None = None

    async def find(self, token: str) -> FoundMessage | None:
        prefix = await self._api_prefix()
        query: dict[str, str | int] = {"headers.x-smtpcheck-token": valid_token(token)}
        if prefix:
            # 3.x pages; 2.x would read `limit` as one more exact filter and match nothing. The
            # filter is exact, so 2.x returns only the messages with this very token anyway.
            query["limit"] = _CANDIDATES
        for email in _items(await self._api.json(f"{prefix}email", query), None)[:_CANDIDATES]:
            id_ = _text(email.get("id"))
            if not id_:
                continue
            status, raw = await self._api.call(
                "GET", f"{prefix}email/{quote(id_, safe='')}/source", accept=(200, 404)
            )
            envelope = _dict(email.get("envelope"))
            found = (
                self._found(id_, raw, token, _maildev_envelope(envelope)) if status == 200 else None
            )
            if found is not None:
                return found
        return None

    async def delete(self, found: FoundMessage) -> None:
        path = f"{await self._api_prefix()}email/{quote(found.id, safe='')}"
        # Gone already: 3.x answers 404, 2.x 500 {"error":"Email not found"}.
        status, body = await self._api.call("DELETE", path, accept=(200, 404, 500))
        if status == 500 and b"not found" not in body.lower():
            raise self._api.error(f"answered HTTP 500 deleting {found.id}", Fix.CATCHER, 500)

    async def reachable(self) -> None:
        await self._api_prefix()

    async def _api_prefix(self) -> str:
        # Both versions have an unauthenticated health route; where it answers tells the prefix.
        if self._prefix is None:
            # 2.x with a web user answers 401 there: only its own /healthz is open.
            status, _ = await self._api.call("GET", "api/healthz", accept=(200, 401, 404))
            if status != 200:
                await self._api.call("GET", "healthz")
            self._prefix = "api/" if status == 200 else ""
        return self._prefix


class _Smtp4dev(_Client):
    """smtp4dev: ``searchTerms``, then the newest messages; headers from each message's JSON."""

    def __init__(self, api: _Api) -> None:
        super().__init__(api)
        self._rejected: set[tuple[str, str]] = set()  # (token, id): no use to read again

    async def find(self, token: str) -> FoundMessage | None:
        valid_token(token)
        searched: _Params = {"searchTerms": token, "page": 1, "pageSize": _CANDIDATES}
        newest: _Params = {"page": 1, "pageSize": _SCAN}
        for query, size in ((searched, _CANDIDATES), (newest, _SCAN)):
            page = await self._api.json("api/Messages", query)
            for summary in _items(page, "results")[:size]:
                found = await self._check(_text(summary.get("id")), token)
                if found is not None:
                    return found
        return None

    async def _check(self, id_: str, token: str) -> FoundMessage | None:
        if not id_ or (token, id_) in self._rejected:
            return None
        path = f"api/Messages/{quote(id_, safe='')}"
        status, data = await self._api.call("GET", path, accept=(200, 404))
        headers = _json_or_none(data).get("headers") if status == 200 else None
        values = [
            _text(h.get("value"))
            for h in (headers if isinstance(headers, list) else [])
            if isinstance(h, dict) and _text(h.get("name")).lower() == TOKEN_HEADER.lower()
        ]
        if token not in (v.strip() for v in values):
            if len(self._rejected) >= _REMEMBERED:
                self._rejected.clear()
            self._rejected.add((token, id_))
            return None
        status, raw = await self._api.call("GET", f"{path}/download", accept=(200, 404))
        return self._found(id_, raw, token) if status == 200 else None

    async def delete(self, found: FoundMessage) -> None:
        await self._api.call("DELETE", f"api/Messages/{quote(found.id, safe='')}")

    async def reachable(self) -> None:
        await self._api.json("api/Version")


def _items(page: Any, key: str | None) -> list[dict[str, Any]]:
    listed = page if key is None else (page.get(key) if isinstance(page, dict) else None)
    return [i for i in listed if isinstance(i, dict)] if isinstance(listed, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _json_or_none(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _maildev_envelope(envelope: Mapping[str, Any]) -> Envelope:
    sender, to = envelope.get("from"), envelope.get("to")
    return Envelope(
        _text(sender.get("address")) if isinstance(sender, dict) else "",
        tuple(
            _text(r.get("address"))
            for r in (to if isinstance(to, list) else [])
            if isinstance(r, dict)
        ),
    )
