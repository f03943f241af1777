"""What several formats share: how a gateway is named, and keys that stay unique per series.

Labels and messages come from hand-filled configs and from servers, so every format that puts
them on one line (text, nagios) escapes control characters first.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Protocol

from smtpcheck.results import Endpoint, GatewayReport, ProbeStep

__all__ = [
    "display_width",
    "endpoint_text",
    "gateway_keys",
    "gateway_name",
    "json_text",
    "ms_text",
    "printable",
    "step_keys",
]

# C0/C1 controls, line and paragraph separators, and the bidi overrides that can reorder what a
# terminal shows: a label or a server reply must not be able to draw on the operator's screen.
# Lone surrogates (JSON allows "\ud800") cannot be written as UTF-8 at all.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    r"""Escape control characters as Python does (``\n``, ``\x1b``) so text stays on one line."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def display_width(text: str) -> int:
    """Return how many terminal columns the text takes (wide CJK: 2, combining marks: 0)."""
    if text.isascii():  # nearly every cell: one column per character, no per-character lookups
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def gateway_name(gateway: GatewayReport) -> str:
    """Return how a person reads the gateway: ``gateway 7 'Dealer mail'``."""
    name = f"gateway {gateway.id}" if gateway.id is not None else "gateway (no id)"
    # repr() quotes and escapes the label, so quotes and newlines in it stay visible.
    return f"{name} {gateway.label!r}" if gateway.label else name


def endpoint_text(endpoint: Endpoint) -> str:
    """Return ``host:port MODE``, with an IPv6 host in brackets as in a URL."""
    host = endpoint.host or "?"
    if ":" in host and not host.startswith("["):  # "[::1]" as written has its brackets
        host = f"[{host}]"
    return printable(f"{host}:{endpoint.port} {endpoint.mode.short}")


def ms_text(ms: float) -> str:
    """Return a duration for people: ``0.42 ms``, ``12.5 ms``, ``250 ms``, ``10.00 s``."""
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 100:
        return f"{ms:.1f} ms"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def json_text(value: object) -> str:
    """Return a param value as it is written in the gateway's JSON."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:  # not a JSON value: show it as Python would
        return repr(value)


class _Identified(Protocol):
    @property
    def id(self) -> int | None: ...


def gateway_keys(gateways: Iterable[_Identified]) -> list[str]:
    """Return one key per gateway, unique within the run: its id, or ``none`` without one.

    The same id can appear twice (SC005 reports it); the second gets ``#2`` so that metric
    series and perfdata labels never collide.
    """
    ids = [str(g.id) if g.id is not None else "none" for g in gateways]
    return list(_numbered(ids, "#"))


def step_keys(steps: Iterable[ProbeStep]) -> list[str]:
    """Return one key per probe step; a repeated stage (EHLO after STARTTLS) gets ``_2``."""
    return list(_numbered((s.name for s in steps), "_"))


def _numbered(names: Iterable[str], separator: str) -> Iterator[str]:
    seen: Counter[str] = Counter()
    for name in names:
        seen[name] += 1
        yield name if seen[name] == 1 else f"{name}{separator}{seen[name]}"
