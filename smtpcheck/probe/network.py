"""Resolve a gateway's host and open the TCP connection the probe hands to the SMTP client.

Connecting the socket here, not inside the client, times DNS, TCP and the greeting apart, and
lets a test inject a resolver to simulate a name that does not exist. A run looks each name up
once (`shared_resolver`): the runner needs the addresses to count connections per address, and
the probe's own look-up then waits for the same answer instead of asking again.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from smtpcheck.config.address import java_ip_literal, java_literal_refusal
from smtpcheck.errors import LocalResourceError

__all__ = [
    "Address",
    "ExtraSlot",
    "Resolver",
    "no_limit",
    "open_socket",
    "shared_resolver",
    "system_resolver",
]

#: A resolved address: the socket family and the address tuple to connect to.
Address = tuple[socket.AddressFamily, tuple[Any, ...]]

#: Resolves (host, port) to the addresses to try, in order; raises `socket.gaierror` when the
#: name does not exist.
Resolver = Callable[[str, int], Awaitable[Sequence[Address]]]

#: Holds a place for one more connection to an address while the context is open, waiting for
#: one if the run's per-host limit is reached: the runner counts a probe's second looks at a port
#: with its main connection (`no_limit` for a probe on its own).
ExtraSlot = Callable[[Address], AbstractAsyncContextManager[None]]

# The local shortages that say nothing about the gateway: the process or the system has no
# file descriptor left for another socket.
_LOCAL_SHORTAGE = frozenset({errno.EMFILE, errno.ENFILE})


@contextlib.asynccontextmanager
async def no_limit(address: Address) -> AsyncIterator[None]:
    """Hold no place at all: a probe run on its own has no limit to keep."""
    yield


def shared_resolver(resolver: Resolver) -> Resolver:
    """Return a resolver that looks each (host, port) up once and shares the answer.

    Every caller awaits the same look-up, shielded, so one caller's timeout does not cancel it
    for the others; a failure is shared too (a name that does not exist is not asked again).
    """
    lookups: dict[tuple[str, int], asyncio.Task[Sequence[Address]]] = {}

    async def resolve(host: str, port: int) -> Sequence[Address]:
        key = (host.lower(), port)
        lookup = lookups.get(key)
        if lookup is None:
            lookup = lookups[key] = asyncio.ensure_future(resolver(host, port))
            # Nobody may be left awaiting a failure: keep it from being logged as unretrieved.
            lookup.add_done_callback(_retrieve)
        return await asyncio.shield(lookup)

    return resolve


def _retrieve(task: asyncio.Task[Sequence[Address]]) -> None:
    if not task.cancelled():
        task.exception()


async def system_resolver(host: str, port: int) -> list[Address]:
    """Resolve with the event loop's getaddrinfo, as JavaMail's InetSocketAddress does.

    An IP address needs no look-up: it is returned as it is, without a trip through the loop's
    thread pool (which costs more than the rest of a loopback probe's bookkeeping).
    """
    literal = _ip_literal(host, port)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[Address] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    return addresses


def _ip_literal(host: str, port: int) -> Address | None:
    """Return the address of a host Java reads as an IP address; None for a name to look up.

    Read as Java reads it (`java_ip_literal`), never by getaddrinfo: the C library takes
    "0x7f000001" for 127.0.0.1 where Java refuses it, and "0177.0.0.1" for 127.0.0.1 where Java
    connects to 177.0.0.1.

    Raises:
        socket.gaierror: Java refuses the host without a look-up (an UnknownHostException), or
            the zone of a link-local address names no interface of this machine.
    """
    refusal = java_literal_refusal(host)
    if refusal is not None:
        raise socket.gaierror(socket.EAI_NONAME, refusal)
    literal = java_ip_literal(host)
    if literal is None:
        return None
    address, _, zone = literal.partition("%")
    if ":" not in address:
        return socket.AF_INET, (address, port)
    try:  # Java takes a numeric zone as the scope id, any other as an interface's name
        scope = int(zone) if zone.isdigit() else socket.if_nametoindex(zone) if zone else 0
    except OSError as exc:
        raise socket.gaierror(socket.EAI_NONAME, f"no interface {zone!r} here") from exc
    return socket.AF_INET6, (address, port, 0, scope)


async def open_socket(addresses: Sequence[Address]) -> tuple[socket.socket, Address]:
    """Connect to the first address that accepts; the caller bounds the time it may take.

    Raises:
        OSError: every address refused or failed (the last error is raised).
    """
    loop = asyncio.get_running_loop()
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        family, sockaddr = address
        sock = _new_socket(family)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        except BaseException:  # cancelled by the caller's timeout: do not leak the socket
            sock.close()
            raise
        return sock, address
    raise error


def _new_socket(family: socket.AddressFamily) -> socket.socket:
    try:
        return socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        if exc.errno not in _LOCAL_SHORTAGE:
            raise
        raise LocalResourceError(
            f"this machine has no file descriptor left for a socket ({exc.strerror}): "
            "lower --concurrency or raise the limit (ulimit -n)"
        ) from exc
