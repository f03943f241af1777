"""Resolve a gateway's host and open the TCP connection the probe hands to the SMTP client.

Connecting the socket here, not inside the client, times DNS, TCP and the greeting apart, and
lets a test inject a resolver to simulate a name that does not exist.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["Address", "Resolver", "open_socket", "system_resolver"]

#: A resolved address: the socket family and the address tuple to connect to.
Address = tuple[socket.AddressFamily, tuple[Any, ...]]

#: Resolves (host, port) to the addresses to try, in order; raises `socket.gaierror` when the
#: name does not exist.
Resolver = Callable[[str, int], Awaitable[Sequence[Address]]]


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
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return None  # a link-local zone ("%eth0") is for getaddrinfo to turn into an index
    if address.version == 6:
        return socket.AF_INET6, (str(address), port, 0, 0)
    return socket.AF_INET, (str(address), port)


async def open_socket(addresses: Sequence[Address]) -> tuple[socket.socket, Address]:
    """Connect to the first address that accepts; the caller bounds the time it may take.

    Raises:
        OSError: every address refused or failed (the last error is raised).
    """
    loop = asyncio.get_running_loop()
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        family, sockaddr = address
        sock = socket.socket(family, socket.SOCK_STREAM)
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
