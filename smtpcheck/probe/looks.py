"""Second looks at a port that did not behave as configured: does it speak TLS, or plain SMTP?

Each look opens its own short connection and sends no SMTP command, so it cannot lock an
account or upset the main probe's session. Callers bound each look with ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import ssl

from smtpcheck.probe.network import Address, open_socket
from smtpcheck.probe.tls import watch_handshake

__all__ = ["plain_greeting", "tls_version"]

_FIRST_LINE_BYTES = 512  # RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets


async def tls_version(
    address: Address, *, server_hostname: str, context: ssl.SSLContext
) -> str | None:
    """Return the TLS version when the port completes a handshake, else None.

    Use a context that does not verify: the question is which protocol the port speaks. The
    caller bounds the time (``asyncio.timeout``).
    """
    try:
        sock, _ = await open_socket([address])
        # Its own watch, so this handshake is not taken for the main connection's.
        with watch_handshake(sock):
            _, writer = await asyncio.open_connection(
                sock=sock, ssl=context, server_hostname=server_hostname
            )
    except OSError:  # ssl.SSLError is an OSError
        return None
    ssl_object = writer.get_extra_info("ssl_object")
    version = ssl_object.version() if isinstance(ssl_object, ssl.SSLObject) else None
    writer.transport.abort()  # no TLS close_notify exchange to wait for
    writer.close()
    return version or "TLS"


async def plain_greeting(address: Address) -> str | None:
    """Return the first line the port sends on a plain connection if it is an SMTP ``220``.

    The caller bounds the time (``asyncio.timeout``).
    """
    try:
        sock, _ = await open_socket([address])
        reader, writer = await asyncio.open_connection(sock=sock)
        try:
            data = await reader.read(_FIRST_LINE_BYTES)
        finally:
            writer.transport.abort()
            writer.close()
    except OSError:
        return None
    line = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    return line if line.startswith("220") else None
