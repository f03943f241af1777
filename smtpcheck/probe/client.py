"""The SMTP client the probe drives: aiosmtplib, recording a transcript, and its errors judged.

The only module that imports aiosmtplib. `failure_of` is the one place its exceptions are caught
and turned into failures (as httpx maps httpcore's).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any, Literal

import aiosmtplib
from aiosmtplib.typing import Default

from smtpcheck.probe.failures import (
    StageFailure,
    clip,
    dropped_failure,
    network_failure,
    reply_failure,
    timeout_failure,
)
from smtpcheck.probe.transcript import Transcript
from smtpcheck.results import FailureKind

__all__ = [
    "Client",
    "ClientError",
    "GreetingTimeout",
    "HeloRefused",
    "Reply",
    "failure_of",
    "refused_reply",
    "starttls_version",
]

_AUTH_OK = 235  # RFC 4954 §6: authentication succeeded

#: The names the probe needs from aiosmtplib, so that no other module imports it.
Reply = aiosmtplib.SMTPResponse
ClientError = aiosmtplib.SMTPException
GreetingTimeout = aiosmtplib.SMTPConnectTimeoutError  # no greeting (or TLS) within the timeout
HeloRefused = aiosmtplib.SMTPHeloError


class Client(aiosmtplib.SMTP):
    """aiosmtplib's client, recording every command and reply, and never lingering on close."""

    def __init__(self, transcript: Transcript, **options: Any) -> None:
        super().__init__(**options)
        self.transcript = transcript
        self._unfinished = b""

    async def execute_command(
        self,
        *args: bytes,
        timeout: float | Literal[Default.token] | None = Default.token,  # noqa: ASYNC109 -- aiosmtplib's signature
    ) -> aiosmtplib.SMTPResponse:
        self.transcript.command(args)
        response = await super().execute_command(*args, timeout=timeout)
        self.transcript.reply(response.code, response.message)
        return response

    async def auth_login(
        self,
        username: str | bytes,
        password: str | bytes,
        /,
        *,
        timeout: float | Literal[Default.token] | None = Default.token,  # noqa: ASYNC109
    ) -> aiosmtplib.SMTPResponse:
        # JavaMail takes a 235 at any point of the exchange as success: a server that wants
        # no password after the user name is logged in, not refusing (aiosmtplib wants a 334).
        try:
            return await super().auth_login(username, password, timeout=timeout)
        except aiosmtplib.SMTPAuthenticationError as exc:
            if exc.code != _AUTH_OK:
                raise
            return aiosmtplib.SMTPResponse(exc.code, exc.message)

    def extension_lines(self) -> tuple[str, ...]:
        """Return the extensions of the last EHLO reply, one line each (``AUTH PLAIN LOGIN``)."""
        reply = self.last_ehlo_response
        if reply is None:
            return ()
        # The first line of an EHLO reply is the server's name; each later one an extension.
        return tuple(line.strip() for line in reply.message.split("\n")[1:] if line.strip())

    def ssl_object(self) -> ssl.SSLObject | None:
        """Return the TLS session of the connection, if it is connected over TLS."""
        # asyncio's key is "ssl_object"; the "sslobject" of aiosmtplib's docstring is None.
        value = self.get_transport_info("ssl_object") if self.is_connected else None
        return value if isinstance(value, ssl.SSLObject) else None

    def unfinished_reply(self) -> bytes:
        """Return what the server has sent of a reply it has not ended (a line without its end).

        Kept when the connection closes, so a reply cut short by a timeout can still be told
        from silence.
        """
        if self.protocol is not None:
            # aiosmtplib buffers a reply until its last line ends; nothing else reads it.
            self._unfinished = bytes(getattr(self.protocol, "_buffer", b""))
        return self._unfinished

    def close(self) -> None:
        self.unfinished_reply()  # what arrived before the close
        # A TLS close waits for the server's close_notify (up to 30 s); after QUIT, or after a
        # failure, there is nothing left to say, so the connection is dropped at once.
        if isinstance(self.transport, asyncio.Transport):
            self.transport.abort()
        super().close()


def failure_of(exc: Exception, stage: str, *, host: str, port: int, timeout: float) -> StageFailure:
    """Translate what a stage raised into a failure kind and a detail.

    The order matters. aiosmtplib's connect timeout is also a connect error, so it comes first;
    the real cause of a failed connect is the ``__cause__`` of SMTPConnectError; ssl errors from
    STARTTLS escape unwrapped, and are OSErrors, so SMTP's own errors are tested before them;
    reply code -1 means "not SMTP at all". Anything else is a bug, re-raised for the runner.
    """
    if isinstance(exc, StageFailure):
        return exc
    if isinstance(exc, aiosmtplib.SMTPConnectTimeoutError):
        return timeout_failure(
            "tls" if stage == "tls" else "greeting", host=host, port=port, timeout=timeout
        )
    if (
        isinstance(exc, aiosmtplib.SMTPConnectError)
        and not isinstance(exc, aiosmtplib.SMTPConnectResponseError)
        and isinstance(exc.__cause__, Exception)
    ):
        exc = exc.__cause__
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if exc.code < 0:
            detail = f"not an SMTP reply ({stage}): {clip(exc.message)}"
            return StageFailure(FailureKind.PROTOCOL, detail)
        return reply_failure(stage, exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return timeout_failure(stage, host=host, port=port, timeout=timeout)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        reset = isinstance(exc.__cause__, ConnectionResetError)
        return dropped_failure(stage, "reset" if reset else "closed")
    if isinstance(exc, aiosmtplib.SMTPException):
        return StageFailure(FailureKind.PROTOCOL, f"{stage}: {exc}")
    if isinstance(exc, OSError):
        return network_failure(exc, stage, host=host, port=port)
    if isinstance(exc, ValueError) and stage in ("mail", "rcpt"):
        # aiosmtplib refuses control characters, and non-ASCII addresses without SMTPUTF8.
        kind = FailureKind.SENDER_REJECTED if stage == "mail" else FailureKind.MESSAGE_REJECTED
        return StageFailure(kind, f"the address cannot be sent: {exc}")
    raise exc


def refused_reply(exc: BaseException) -> tuple[int, str] | None:
    """Return the code and text of a reply carried by an exception, if it carries one."""
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code > 0:
        return exc.code, exc.message
    return None


async def starttls_version(
    sock: socket.socket, context: ssl.SSLContext, *, host: str, ehlo_name: str | None
) -> str | None:
    """Return the TLS version a STARTTLS upgrade with ``context`` gets on ``sock``, else None.

    A short session of its own (EHLO, STARTTLS, never AUTH) on a connected socket, which it
    closes. The caller bounds the time.
    """
    look = Client(
        Transcript(enabled=False),
        hostname=host,
        sock=sock,
        start_tls=False,
        tls_context=context,
        local_hostname=ehlo_name,
    )
    try:
        await look.connect()
        await look.ehlo()
        await look.starttls()
        ssl_object = look.ssl_object()
        return None if ssl_object is None else ssl_object.version()
    except (aiosmtplib.SMTPException, OSError):
        return None
    finally:
        look.close()
        sock.close()
