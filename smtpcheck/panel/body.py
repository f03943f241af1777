"""Reading a panel answer's body within bounds: judged by its headers first, then inflated in steps.

`refusal` says why an answer is not read at all (a redirect, a size or codings ruled out);
`read_body` inflates gzip or deflate itself, in steps of zlib's ``max_length``, and stops past
the limit, decoded or as received.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection
from urllib.parse import unquote

import httpx

from smtpcheck.panel.answers import quoted

__all__ = ["CODINGS", "codings", "read_body", "refusal", "too_large"]

#: The content codings smtpcheck reads (the client inflates them itself, in bounded steps), with
#: zlib's ``wbits`` for each: gzip, and deflate in its zlib wrapper (RFC 9110 §8.4.1).
CODINGS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def refusal(response: httpx.Response, limit: int, secrets: Collection[str]) -> str | None:
    """Return why an answer is not read at all, judged by its headers; None to read its body."""
    if response.is_redirect:
        return _redirect(response, secrets)
    length = response.headers.get("Content-Length", "")
    # Counted before int(): Python refuses to read more than 4300 digits.
    if length.isascii() and length.isdigit() and (len(length) > 18 or int(length) > limit):
        return too_large(limit)
    applied = codings(response)
    if len(applied) > 1 or not set(applied) <= CODINGS.keys():
        # Stacked codings multiply: a few KB of gzip in gzip inflate to gigabytes.
        return (
            f"the panel's answer is encoded as {quoted(', '.join(applied), secrets)}; "
            "smtpcheck reads gzip or deflate, once"
        )
    return None


def codings(response: httpx.Response) -> list[str]:
    """Return the content codings of an answer in the order applied, ``identity`` left out."""
    listed = response.headers.get_list("Content-Encoding", split_commas=True)
    return [c for c in (c.strip().lower() for c in listed) if c not in ("", "identity")]


def too_large(limit: int) -> str:
    """Return the message of an answer larger than ``limit`` bytes (decoded)."""
    size = f"{limit / 2**20:g} MiB" if limit >= 2**20 else f"{limit} bytes"
    return f"the panel's answer is larger than {size}"


def _redirect(response: httpx.Response, secrets: Collection[str]) -> str:
    # Never followed (a redirected POST would carry the hash elsewhere), only named. The target
    # is shown percent-decoded, so that an encoded secret in it is masked like a plain one.
    origin = response.request.url
    try:
        target = origin.join(response.headers["Location"])
    except httpx.InvalidURL:
        shown, elsewhere = response.headers["Location"], True
    else:
        shown = str(target)
        elsewhere = (target.scheme, target.host, target.port) != (
            origin.scheme,
            origin.host,
            origin.port,
        )
    trust = ", as it is another server; if you trust it," if elsewhere else ";"
    return (
        f"HTTP {response.status_code}: the API moved to {quoted(unquote(shown), secrets)}: "
        f"not followed{trust} give its base URL as --api-url"
    )


async def read_body(response: httpx.Response, limit: int) -> bytearray | None:
    """Return the body, decoded; None once it passes ``limit`` bytes, decoded or as received.

    Inflated here in steps of zlib's ``max_length`` rather than by httpx, which inflates each
    read whole (64 KiB of gzip can be 64 MiB) and hides data after the end of a gzip stream,
    which piles up in the decompressor unseen.

    Raises:
        zlib.error: the body is not what its Content-Encoding says.
    """
    if response.is_stream_consumed:  # built in memory, as `httpx.MockTransport` answers are
        return bytearray(response.content) if len(response.content) <= limit else None
    (coding,) = codings(response) or ("identity",)  # `refusal` let one coding through at most
    inflater = zlib.decompressobj(CODINGS[coding]) if coding in CODINGS else None
    content = bytearray()
    async for raw in response.aiter_raw():
        if response.num_bytes_downloaded > limit:
            return None
        pending = raw
        while pending and len(content) <= limit:
            if inflater is None:
                content += pending
                break
            content += inflater.decompress(pending, limit + 1 - len(content))
            pending = inflater.unconsumed_tail
        if len(content) > limit:
            return None
    if inflater is not None:
        content += inflater.flush()  # at most the rest of one match: a few hundred bytes
    return content if len(content) <= limit else None
