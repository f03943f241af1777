"""How a probe stage fails: the `StageFailure` it ends with, and the tables that name the kind.

Replies are judged by stage and code (RFC 4954 §6 for AUTH), timeouts by the stage they cut
short, and socket and ssl errors by what they are. The SMTP client's own exceptions are mapped
onto these in `client.failure_of`, the one boundary where they are caught.
"""

from __future__ import annotations

import socket
import ssl

from smtpcheck.probe.certificate import VerifyFailure, verify_failure
from smtpcheck.results import FailureKind, ProbeFailure

__all__ = [
    "StageFailure",
    "clip",
    "dropped_failure",
    "network_failure",
    "reply_failure",
    "timeout_failure",
    "unfinished_failure",
]


class StageFailure(Exception):
    """Ends a probe: its `ProbeFailure`, already judged, and why a certificate was refused.

    It never leaves the probe: the result keeps ``failure`` as it is.
    """

    def __init__(
        self,
        kind: FailureKind,
        detail: str,
        *,
        reply_code: int | None = None,
        tls_error: str | None = None,
        verify: VerifyFailure | None = None,
        dropped: bool = False,
    ) -> None:
        super().__init__(detail)
        self.failure = ProbeFailure(kind, detail, reply_code=reply_code, tls_error=tls_error)
        self.verify = verify  # set when the certificate was the only problem
        # The server closed or reset the connection, with no reply and no TLS alert to say why.
        self.dropped = dropped


_AUTH_REPLIES = {
    535: FailureKind.AUTH_FAILED,  # RFC 4954 §6: credentials invalid
    504: FailureKind.AUTH_MECHANISM,  # mechanism not supported
    530: FailureKind.AUTH_MECHANISM,  # encryption (STARTTLS) required first
    534: FailureKind.AUTH_MECHANISM,  # mechanism too weak
    538: FailureKind.AUTH_MECHANISM,  # encryption required for this mechanism
    454: FailureKind.AUTH_TEMPORARY,  # temporary failure
    432: FailureKind.AUTH_TEMPORARY,  # a password transition is needed
}
_REPLY_KINDS = {
    "greeting": FailureKind.GREETING_REJECTED,  # RFC 5321 §3.1: 554 instead of 220, or 421
    "starttls": FailureKind.STARTTLS_FAILED,  # RFC 3207 §4: 454, 501
    "mail": FailureKind.SENDER_REJECTED,
    "rcpt": FailureKind.MESSAGE_REJECTED,
    "data": FailureKind.MESSAGE_REJECTED,
}


def reply_failure(stage: str, code: int, message: str) -> StageFailure:
    """Judge a reply that did not give what a stage asked for.

    A refusal is judged by stage and code. A reply that refuses nothing is a protocol error,
    not a refusal: a code outside 2xx-5xx (RFC 5321 §4.2.1: the first digit is 2 to 5), a
    greeting that is neither 220 nor a 4xx/5xx refusal (§3.1), and an AUTH that ends without
    235 or a refusal (a 334 asking for more after the last piece JavaMail sends).
    """
    text = f"{code} {message.partition(chr(10))[0]}".strip()
    if not 200 <= code < 600:
        detail = f"not an SMTP reply ({stage}): {clip(text)} (a reply code is 2xx to 5xx)"
        return StageFailure(FailureKind.PROTOCOL, detail, reply_code=code)
    if stage == "auth":
        return _auth_failure(code, text)
    if stage == "greeting" and code < 400:
        detail = f"not an SMTP greeting: {clip(text)} (220 greets, 4xx or 5xx refuses)"
        return StageFailure(FailureKind.PROTOCOL, detail, reply_code=code)
    kind = _REPLY_KINDS.get(stage, FailureKind.PROTOCOL)
    return StageFailure(kind, f"{stage.upper()}: {text}", reply_code=code)


def _auth_failure(code: int, text: str) -> StageFailure:
    if code < 400:
        # RFC 4954 §4: AUTH ends with 235 or a refusal. JavaMail sends the user and password
        # (LOGIN) or the initial response (PLAIN) and nothing more: a 334 then asks for a piece
        # that does not exist, and says nothing about whether the credentials are right.
        asks = "asked for more (334)" if code == 334 else f"answered {code}"
        detail = (
            f"AUTH: {clip(text)}: the server {asks} where the exchange must end with 235 or a "
            "refusal; the credentials were neither accepted nor rejected"
        )
        return StageFailure(FailureKind.PROTOCOL, detail, reply_code=code)
    default = FailureKind.AUTH_TEMPORARY if code < 500 else FailureKind.AUTH_FAILED
    return StageFailure(_AUTH_REPLIES.get(code, default), f"AUTH: {text}", reply_code=code)


def timeout_failure(stage: str, *, host: str, port: int, timeout: float) -> StageFailure:
    """Judge a stage that ran out of time."""
    within = f"within {timeout:g} s"
    if stage == "resolve":
        return StageFailure(FailureKind.DNS, f"no DNS answer for {host} {within}")
    if stage == "connect":
        detail = f"no answer from {host} port {port} {within}"
        return StageFailure(FailureKind.CONNECT_TIMEOUT, detail)
    if stage == "greeting":
        return StageFailure(FailureKind.NO_GREETING, f"connected, but no greeting {within}")
    if stage == "tls":
        return StageFailure(FailureKind.TLS_HANDSHAKE, f"the TLS handshake did not end {within}")
    return StageFailure(FailureKind.READ_TIMEOUT, f"no reply to {stage.upper()} {within}")


def network_failure(exc: OSError, stage: str, *, host: str, port: int) -> StageFailure:
    """Judge an ssl or socket error (timeouts go to `timeout_failure`).

    A certificate verification error is a subclass of SSLError, and SSLError of OSError, so they
    are tested in that order.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        verify = verify_failure(exc)
        detail = f"certificate not accepted: {verify.message}"
        return StageFailure(FailureKind.CERT_INVALID, detail, tls_error=exc.reason, verify=verify)
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or type(exc).__name__
        if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError) and stage == "tls":
            # The server hung up in the middle of the handshake: OpenSSL names the end it saw,
            # not a reason the server gave.
            return dropped_failure(stage, tls_error=reason)
        detail = f"TLS handshake failed: {reason}"
        return StageFailure(FailureKind.TLS_HANDSHAKE, detail, tls_error=reason)
    if isinstance(exc, socket.gaierror):
        return StageFailure(FailureKind.DNS, f"cannot resolve {host}: {exc.strerror or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return StageFailure(FailureKind.CONNECT_REFUSED, f"{host} port {port} refused to connect")
    if isinstance(exc, ConnectionError) and stage not in ("resolve", "connect"):
        return dropped_failure(
            stage, "reset" if isinstance(exc, ConnectionResetError) else "closed"
        )
    kinds = {"connect": FailureKind.CONNECT_ERROR, "tls": FailureKind.TLS_HANDSHAKE}
    reason = exc.strerror or str(exc) or type(exc).__name__
    return StageFailure(kinds.get(stage, FailureKind.PROTOCOL), f"{stage} failed: {reason}")


def dropped_failure(
    stage: str, how: str = "closed", *, tls_error: str | None = None
) -> StageFailure:
    """Judge a connection the server closed (or reset) with no reply or TLS alert to say why."""
    if stage == "starttls":
        # RFC 3207 §4: STARTTLS is answered with 220 and a handshake, or refused: hanging up on
        # it, before the handshake began, is a refusal that gives no reason.
        detail = f"the server {how} the connection after STARTTLS, before the TLS handshake began"
        return StageFailure(FailureKind.STARTTLS_FAILED, detail, dropped=True)
    if stage == "tls":
        detail = f"the server {how} the connection during the TLS handshake, without a TLS alert"
        return StageFailure(FailureKind.TLS_HANDSHAKE, detail, tls_error=tls_error, dropped=True)
    return StageFailure(
        FailureKind.PROTOCOL, f"the server {how} the connection ({stage})", dropped=True
    )


def unfinished_failure(stage: str, received: bytes, *, timeout: float | None) -> StageFailure:
    """Judge a reply the server began but never ended: its line had no end in time."""
    text = clip(received.decode("utf-8", "replace"), 40)
    within = "" if timeout is None else f" within {timeout:g} s"
    # RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets, CRLF included.
    detail = (
        f"the server began a reply ({stage}: {text}, {len(received)} bytes) but ended no line"
        f"{within}: a malformed or endless reply line, not an SMTP reply"
    )
    return StageFailure(FailureKind.PROTOCOL, detail)


def clip(text: str, limit: int = 80) -> str:
    """Shorten a server's text for a message, with line ends shown."""
    text = text.strip().replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"
