"""Connections at once: in all, and to one resolved address, every connection counted.

The per-host limit is kept by *address*, not by name: seven spellings of 127.0.0.1 are one
server. A probe holds a place on every address its host resolves to (it may connect to any of
them), taken in one global order so two probes never wait on each other. Its second look at a
silent port (`extra`) is one more connection, counted like the first; one place per address is
kept free of probes for it, so a fleet behind one silent relay still learns what that port
speaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import resource
from collections.abc import AsyncIterator, Iterable
from typing import Any

__all__ = ["ConnectionSlots", "address_key", "descriptor_budget"]

# Sockets a probe holds at most at once (the main connection and one second look), and the
# descriptors kept for everything else (the event loop, files, the panel client, stdio).
_SOCKETS_PER_PROBE = 2
_RESERVED_DESCRIPTORS = 64


def address_key(sockaddr: tuple[Any, ...]) -> str:
    """Return the server an address reaches: its IP, with IPv4-mapped IPv6 as the IPv4 address."""
    host = str(sockaddr[0])
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host.lower()
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return ip.compressed


def descriptor_budget() -> int | None:
    """Return how many probes this process's file-descriptor limit lets run at once, if limited.

    Past the limit a socket cannot be made at all, which says nothing about the gateways.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(1, (soft - _RESERVED_DESCRIPTORS) // _SOCKETS_PER_PROBE)


class ConnectionSlots:
    """Places for connections: ``concurrency`` probes in all, ``per_host`` per address."""

    def __init__(self, *, concurrency: int, per_host: int) -> None:
        self._probes = asyncio.Semaphore(concurrency)
        self._per_host = per_host
        # Probes per address leave one place for a second look, unless one place is all.
        self._probe_places = max(1, per_host - 1)
        self._probing: dict[str, asyncio.Semaphore] = {}
        self._connected: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def probe(self, keys: Iterable[str]) -> AsyncIterator[None]:
        """Hold a probe's places: one connection on each of its addresses, and one probe.

        The addresses first: a probe waiting for a busy server must not hold a place that a
        probe of another server could use.
        """
        ordered = sorted(set(keys))
        async with contextlib.AsyncExitStack() as stack:
            for key in ordered:
                await stack.enter_async_context(self._semaphore(self._probing, key, probe=True))
                await stack.enter_async_context(self._semaphore(self._connected, key))
            await stack.enter_async_context(self._probes)
            yield

    @contextlib.asynccontextmanager
    async def extra(self, address: tuple[Any, tuple[Any, ...]]) -> AsyncIterator[None]:
        """Hold a place for one more connection to an address (a second look at the port)."""
        key = address_key(address[1])
        async with self._semaphore(self._connected, key):
            yield

    def _semaphore(
        self, table: dict[str, asyncio.Semaphore], key: str, *, probe: bool = False
    ) -> asyncio.Semaphore:
        semaphore = table.get(key)
        if semaphore is None:
            places = self._probe_places if probe else self._per_host
            semaphore = table[key] = asyncio.Semaphore(places)
        return semaphore
