"""The demo's local mail servers: aiosmtpd on 127.0.0.1, in the demo's own event loop.

Three servers a dealer's gateway typically meets: a test catcher like MailHog or Mailpit (plain,
no AUTH), a submission server (STARTTLS required, AUTH only after it, RFC 6409 / RFC 3207) and an
implicit-TLS server with AUTH (RFC 8314). Mail they accept goes into one shared `Inbox`, which
the demo's web API (`web`) serves as Mailpit does.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from smtpcheck.demo.inbox import MAX_SIZE, Inbox, StoringHandler

__all__ = ["DemoServer", "start_servers"]

HOST = "127.0.0.1"

# aiosmtpd logs to "mail.log", and warns there on every successful AUTH (it sets its own
# deprecated Session.login_data). Without a handler, Python would print that on stderr.
logging.getLogger("mail.log").addHandler(logging.NullHandler())


@dataclass(frozen=True, slots=True)
class DemoServer:
    """One running server: what it is, and the port it got."""

    name: str
    port: int
    server: asyncio.Server


def _authenticator(user: str, password: str) -> Any:
    def authenticate(
        server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and hmac.compare_digest(auth_data.login, user.encode())
            and hmac.compare_digest(auth_data.password, password.encode())
        )
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 / 535 itself

    return authenticate


async def _serve(factory: Any, *, ssl_context: ssl.SSLContext | None = None) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(factory, HOST, 0, ssl=ssl_context)


async def start_servers(
    *, context: ssl.SSLContext, user: str, password: str, inbox: Inbox
) -> dict[str, DemoServer]:
    """Start the three servers on free ports, storing into ``inbox``; the caller closes them."""
    authenticate = _authenticator(user, password)
    handler = StoringHandler(inbox)
    common: dict[str, Any] = {
        "hostname": "mx.demo.localhost",
        "ident": "smtpcheck demo",
        "data_size_limit": MAX_SIZE,  # announced in EHLO SIZE (RFC 1870), refused beyond
    }
    factories: dict[str, tuple[Any, ssl.SSLContext | None]] = {
        "mailpit": (lambda: SMTP(handler, **common), None),
        "submission": (
            lambda: SMTP(
                handler,
                tls_context=context,
                require_starttls=True,
                authenticator=authenticate,
                **common,
            ),
            None,
        ),
        # aiosmtpd counts only STARTTLS as TLS, so a server that is TLS from the first byte
        # must allow AUTH without it.
        "smtps": (
            lambda: SMTP(handler, authenticator=authenticate, auth_require_tls=False, **common),
            context,
        ),
    }
    servers: dict[str, DemoServer] = {}
    for name, (factory, ssl_context) in factories.items():
        server = await _serve(factory, ssl_context=ssl_context)
        servers[name] = DemoServer(name, server.sockets[0].getsockname()[1], server)
    return servers
